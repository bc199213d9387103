"""The seconds of reproduce's posterior step per result folder, by part, on this machine.

    python benchmarks/posterior_step.py [--data-root PATH] [--device cpu] [FOLDER ...]

For each 2-D result folder (default: every experiment's that holds a model.pt), in a temporary copy of its
model.pt, config.json and metrics.json so that nothing committed is touched: what ``reproduce`` runs after the
evaluation. For a model with a posterior and no label, the posterior command (publish/posterior_gaps.py): the grid's
decodes and log p(x|z) ("grid"), q* by Newton's method ("q_star"), the convergence checks ("quadrature"), the
importance-sampled bound at every k ("importance_sampled"), the refinement ("refinement"), and the figures and
page arrays ("figures"). For a conditional model, log p(x|y) of every label and log p(x) (core/log_likelihood.py),
which reproduce computes only where metrics.json lacks it for the present model.pt. Apart from the step, for each
model without a label: the seed study's log p(x) on the coarser grid, which each 2-D seed adds to its run (a
conditional seed's is the computation above). Timings on a shared machine vary from run to run: run it with
nothing else running, and compare runs of one machine only.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentlab.experiments import EXPERIMENTS  # noqa: E402

PARTS = ("grid", "q_star", "quadrature", "importance_sampled", "refinement", "figures")
SEED = "seed's log p(x)"


def _two_d_folders() -> list[Path]:
    return [
        e.out_dir for e in EXPERIMENTS.values() if e.config().latent_dim == 2 and (e.out_dir / "model.pt").is_file()
    ]


def _copy(folder: Path, into: Path) -> Path:
    copy = into / folder.name
    copy.mkdir()
    for name in ("model.pt", "config.json", "metrics.json"):
        shutil.copy(folder / name, copy / name)
    return copy


def measure(folder: Path, data_root: str | None, device: str) -> dict[str, float] | None:
    """The parts' seconds of one folder's posterior step, or None for a model without a posterior."""
    from latentlab.core import log_likelihood
    from latentlab.core.data import to_float
    from latentlab.core.finished import open_finished
    from latentlab.publish.posterior_gaps import IS_IMAGES, N_IMAGES, write_posterior_gaps

    with tempfile.TemporaryDirectory() as scratch:
        copy = _copy(folder, Path(scratch))
        finished = open_finished(copy / "model.pt", device, data_root)
        model = finished.model
        if not log_likelihood.applies(model.traits, model.latent_dim):
            return None
        if model.traits.conditional:
            started = time.perf_counter()
            log_likelihood.record(model, finished.test, finished.train.labels)
            seconds = {"log p(x|y) of every label": time.perf_counter() - started}
        else:
            result = write_posterior_gaps(
                copy, model, finished.test, finished.config.seed, folder.name, model.loss_units, N_IMAGES, IS_IMAGES
            )
            seconds = {part: result["seconds"][part] for part in PARTS}
        if not model.traits.conditional:  # a conditional seed's is the record above
            x = to_float(finished.test.images[: log_likelihood.IMAGES]).to(finished.device)
            started = time.perf_counter()
            log_likelihood.log_px(model, x)
            seconds[SEED] = time.perf_counter() - started
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="result folders (default: every 2-D one)")
    parser.add_argument("--data-root", default=None, help="where MNIST is (default: $MNIST_ROOT or data/)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    import torch

    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} CPU threads, device {args.device}")
    rows = []
    for folder in args.folders or _two_d_folders():
        seconds = measure(folder, args.data_root, args.device)
        if seconds is not None:
            rows.append((folder.name, seconds))
    print()
    for name, seconds in rows:
        step = {part: value for part, value in seconds.items() if part != SEED}
        parts = ", ".join(f"{part} {value:.0f}" for part, value in step.items())
        seed = f"; apart from it, a seed's log p(x) {seconds[SEED]:.0f} s" if SEED in seconds else ""
        print(f"{name}: posterior step {sum(step.values()):.0f} s ({parts}){seed}")
    total = sum(value for _, seconds in rows for part, value in seconds.items() if part != SEED)
    print(f"the posterior step of all these folders: {total:.0f} s")


if __name__ == "__main__":
    main()
