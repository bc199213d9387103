"""Command line: ``python -m latentlab train|...`` and the four experiment scripts in Models/."""

from __future__ import annotations

import argparse
import sys

from .config import EXPERIMENTS, TrainConfig, build_parser, config_from_args
from .errors import LatentlabError


def _guarded(action) -> int:
    """Run ``action``; a user-fixable problem becomes one paragraph on stderr, not a traceback."""
    try:
        action()
    except LatentlabError as error:
        from .training import TrainingInterrupted

        print(f"\nerror: {error}", file=sys.stderr)
        return 130 if isinstance(error, TrainingInterrupted) else 1
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    return 0


def run_experiment(name: str, argv: list[str] | None = None) -> int:
    """Entry point of a script in Models/: the experiment fixes the model and latent size."""
    from .pipeline import run

    experiment = EXPERIMENTS[name]
    parser = argparse.ArgumentParser(
        prog=f"python Models/{experiment.script}",
        description=f"{experiment.defaults['model'].upper()} with a {experiment.defaults['latent_dim']}-D "
                    f"latent on MNIST; results go to {experiment.defaults['out_dir']}/.",
    )
    build_parser(parser, experiment.defaults, command="experiment")
    args = parser.parse_args(argv)
    return _guarded(lambda: run(config_from_args(args, experiment.defaults)))


def main(argv: list[str] | None = None) -> int:
    from .pipeline import rebuild_figures, run

    parser = argparse.ArgumentParser(prog="python -m latentlab", description="AE and VAE on MNIST.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train any model and latent size",
                                description="Train an AE or VAE; e.g. --model vae --latent-dim 8 --out-dir runs/vae8")
    build_parser(train, {}, command="train")
    redraw = commands.add_parser("figures", help="rebuild every figure of a result folder from its model.pt")
    redraw.add_argument("folder", help="a result folder holding model.pt")
    redraw.add_argument("--data-root", default=None, help="folder holding MNIST/raw/ for the test split "
                        "(default: $MNIST_ROOT, else data/)")
    redraw.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    args = parser.parse_args(argv)
    if args.command == "train":
        return _guarded(lambda: run(config_from_args(args, {})))
    return _guarded(lambda: rebuild_figures(args.folder, args.data_root, args.device))
