"""The spread over seeds: each experiment's recipe trained again with other seeds, evaluated like
metrics.json, and recorded in ``<result folder>/seeds.json``.

The models go to the git-ignored scratch folder ``runs/seeds/<experiment>/seed<N>/``; the
committed model and figures are never touched. A run already recorded (same seed, same
recipe) is skipped unless ``retrain``, so an interrupted study resumes where it stopped.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from .config import EXPERIMENTS, Experiment, TrainConfig
from .files import write_json_atomic

SEEDS_FILE = "seeds.json"
SCRATCH = Path("runs") / "seeds"


def read_runs(folder: Path) -> list[dict]:
    path = Path(folder) / SEEDS_FILE
    return json.loads(path.read_text(encoding="utf-8"))["runs"] if path.is_file() else []


def recipe_of(run: dict, **changes) -> dict:
    """A recorded run's recipe as TrainConfig.recipe() gives it today (fields added since take their
    defaults), with ``changes`` applied."""
    return TrainConfig.from_dict({**run["recipe"], **changes}).recipe()


def default_runs(experiment: Experiment, folder: Path | None = None) -> list[dict]:
    """The recorded runs of the experiment's own recipe (any seed): the ones its spread is made of."""
    recipe = experiment.config().recipe()
    same = [run for run in read_runs(folder or experiment.out_dir) if recipe_of(run, seed=recipe["seed"]) == recipe]
    return sorted(same, key=lambda run: run["seed"])


def spread(runs: list[dict], key: str) -> tuple[float, float, int] | None:
    """(mean, sample standard deviation, n) of a metric over runs, or None with fewer than two values."""
    values = [run[key] for run in runs if run.get(key) is not None]
    if len(values) < 2:
        return None
    return statistics.fmean(values), statistics.stdev(values), len(values)


def run_seeds(names: list[str], seeds: list[int], device: str, data_root: str | None, retrain: bool,
              **overrides) -> None:
    """Train, evaluate and record every named experiment with every seed. ``overrides`` change the
    recipe (``epochs``, ``train_limit``: for smoke runs); such runs are recorded with their recipe
    and left out of the reported spread."""
    import torch

    from .pipeline import REPORTED, measure  # torch-backed: loaded only when runs are made
    from .training import check_writable, train

    for name in names:
        experiment = EXPERIMENTS[name]
        folder = experiment.out_dir
        check_writable(folder)
        for seed in seeds:
            scratch = SCRATCH / name / f"seed{seed}"
            config = experiment.config(seed=seed, device=device, data_root=data_root, retrain=retrain,
                                       out_dir=str(scratch), **overrides)
            runs = read_runs(folder)
            if not retrain and any(recipe_of(run) == config.recipe() for run in runs):
                print(f"{name}, seed {seed}: already in {folder / SEEDS_FILE}; skipped (--retrain runs it again)")
                continue
            print(f"=== {name}, seed {seed} -> {scratch}/")
            state = train(config)
            metrics = measure(state, scratch, data_root, device, config.is_samples, config.is_test_images,
                              figures=False)
            run = {"seed": seed, "device": state["device"], "torch": torch.__version__,
                   "train_seconds": round(state["train_seconds"], 1), "recipe": config.recipe(),
                   **{key: metrics[key] for key in REPORTED if key in metrics}}
            runs = [r for r in runs if recipe_of(r) != config.recipe()] + [run]
            runs.sort(key=lambda r: (r["seed"], json.dumps(r["recipe"], sort_keys=True)))
            write_json_atomic({"experiment": name, "runs": runs}, folder / SEEDS_FILE)
            print(f"Recorded seed {seed} in {folder / SEEDS_FILE}")
