"""How often one run of an experiment reads its configuration, reads its data, builds its model and passes
over its test split: once where it can be.

    python benchmarks/run_loads.py [--model vae] [--data-root PATH]

Runs ``workflow.run`` (what every script in Models/ does) twice on a small recipe in a temporary folder:
first training it (one epoch on 512 images), then reusing the finished model as a second run of the script
would. Prints, for each, the counts of: TrainConfig.from_dict (configuration read back), read_split (a split
read from disk), build_model (a network built), and passes over the test split (each time its batches are
iterated). Counting, not timing: the numbers are the same on any machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentlab.core import data, kinds  # noqa: E402
from latentlab.core.config import TrainConfig  # noqa: E402


@contextmanager
def counted(counts: Counter):
    """Count calls of the watched functions wherever a module of latentlab imported them by name."""
    watched = {"read_split": data.read_split, "build_model": kinds.build_model}
    replaced = []

    def wrapper(name, function):
        def call(*args, **kwargs):
            counts[name] += 1
            return function(*args, **kwargs)

        return call

    for name, function in watched.items():
        stand_in = wrapper(name, function)
        for module in [m for key, m in sys.modules.items() if key.startswith("latentlab")]:
            if getattr(module, name, None) is function:
                replaced.append((module, name, function))
                setattr(module, name, stand_in)
    from_dict, batch_indices = TrainConfig.from_dict.__func__, data.DeviceSplit.batch_indices

    def count_from_dict(cls, *args, **kwargs):
        counts["TrainConfig.from_dict"] += 1
        return from_dict(cls, *args, **kwargs)

    def count_passes(self, batch_size, generator=None):
        if getattr(self, "is_test", False):
            counts["passes over the test split"] += 1
        return batch_indices(self, batch_size, generator)

    load_test_split = data.load_test_split

    def marked_test_split(*args, **kwargs):
        split = load_test_split(*args, **kwargs)
        split.is_test = True
        return split

    for module in [m for key, m in sys.modules.items() if key.startswith("latentlab")]:
        if getattr(module, "load_test_split", None) is load_test_split:
            replaced.append((module, "load_test_split", load_test_split))
            module.load_test_split = marked_test_split
    TrainConfig.from_dict = classmethod(count_from_dict)
    data.DeviceSplit.batch_indices = count_passes
    try:
        yield
    finally:
        TrainConfig.from_dict = classmethod(from_dict)
        data.DeviceSplit.batch_indices = batch_indices
        for module, name, function in replaced:
            setattr(module, name, function)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vae")
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    # Imported before the counting starts: every module the run uses must be loaded for its names to be watched.
    from latentlab import workflow

    with tempfile.TemporaryDirectory() as folder:
        config = TrainConfig(
            model=args.model,
            latent_dim=2,
            epochs=1,
            train_limit=512,
            data_root=args.data_root,
            device="cpu",
            out_dir=str(Path(folder) / "run"),
        )
        for what in ("a run that trains", "a run that reuses the finished model"):
            counts = Counter()
            with counted(counts):
                workflow.run(config)
            print(
                f"\n{what}: "
                + ", ".join(
                    f"{name} {counts[name]}"
                    for name in ("TrainConfig.from_dict", "read_split", "build_model", "passes over the test split")
                )
            )


if __name__ == "__main__":
    main()
