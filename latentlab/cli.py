"""Command line: ``python -m latentlab train|reproduce|seeds|figures|explore|evaluate|bound-vs-k|report`` and the scripts in Models/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import TrainConfig, build_parser, config_from_args, dataset_argument, non_negative_int, positive_int
from .experiments import EXPERIMENTS, Experiment
from .errors import LatentlabError
from .progress import status


def guarded(action) -> int:
    """Run ``action``; a user-fixable problem becomes one paragraph on stderr, not a traceback."""
    try:
        action()
    except LatentlabError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted; nothing half-written was left behind.", file=sys.stderr)
        return 130
    return 0


def experiment_config(hyp: dict, script: str | Path, argv: list[str] | None = None) -> TrainConfig:
    """A script's TrainConfig: its ``hyp``, overridden by the command-line flags (made from TrainConfig's
    fields; ``--help`` lists them). Bad flags stop here, before PyTorch is imported."""
    experiment = Experiment(hyp)
    parser = argparse.ArgumentParser(
        prog=f"python Models/{Path(script).name}",
        description=f"{experiment.label} latent (MNIST unless --dataset says otherwise); results go to "
                    f"{experiment.out_dir}/.",
    )
    build_parser(parser, hyp, command="experiment")
    config = config_from_args(parser.parse_args(argv), hyp)
    print("Loading PyTorch, matplotlib and scikit-learn ...", flush=True)  # a few seconds
    return config


def _add_only(parser: argparse.ArgumentParser) -> None:
    names = list(EXPERIMENTS)
    parser.add_argument("--only", nargs="+", choices=names, default=names, metavar="NAME",
                        help=f"these experiments only (default: all of {', '.join(names)})")


def _add_data_and_device(parser: argparse.ArgumentParser, moved_data: bool = False) -> None:
    """The TrainConfig flags that the commands on finished result folders take too; with ``moved_data``
    also --dataset, to point at an image folder that has moved since the model was trained."""
    build_parser(parser, {}, command="train", only=("data_root", "device"))
    if moved_data:
        parser.add_argument("--dataset", type=dataset_argument, default=None, metavar="FOLDER",
                            help="where the image folder the model was trained on is now, if it moved "
                                 "(default: the folder recorded in its config.json)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab", description="AE and VAE on MNIST.")
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser("train", help="train any model and latent size",
                                description="Train an AE or VAE; e.g. --model vae --latent-dim 8 --out-dir runs/vae8")
    build_parser(train_parser, {}, command="train")

    reproduce_parser = commands.add_parser(
        "reproduce", help="run every experiment (the four scripts, the two Bernoulli VAEs and the Fashion-MNIST VAE) "
                          "with its defaults, then write RESULTS.md; exit status 3 if one was skipped for want of "
                          "its data",
        description="Each experiment as its script runs it, one after another in this process; a folder that "
                    "already holds a finished model is not retrained unless --retrain is given.")
    _add_only(reproduce_parser)
    reproduce_parser.add_argument("--retrain", action="store_true", help="train again even where a finished model exists")
    _add_data_and_device(reproduce_parser)

    seeds_parser = commands.add_parser(
        "seeds", help="train each experiment's recipe with several seeds and record the spread in seeds.json",
        description="Run from the repository root. For each named experiment and seed: train into "
                    "runs/seeds/<experiment>/<recipe>/seed<N>/ (seed 0 of the default recipe is the committed "
                    "model, evaluated as it is), evaluate as metrics.json is, and record the numbers in "
                    "<result folder>/seeds.json (the committed model and figures are not touched; a changed "
                    "recipe or bound is recorded in runs/seeds/<experiment>/<recipe>/seeds.json instead). A seed "
                    "already recorded is skipped unless --retrain. `python -m latentlab report` then shows "
                    "mean ± sd.")
    seeds_parser.add_argument("--seeds", nargs="+", type=non_negative_int, default=[0, 1, 2, 3, 4], metavar="N",
                       help="the seeds (default: 0 1 2 3 4)")
    _add_only(seeds_parser)
    seeds_parser.add_argument("--retrain", action="store_true", help="train again even where a seed is recorded")
    seeds_parser.add_argument("--epochs", type=positive_int, default=None,
                       help="override the recipe's epochs (smoke runs; recorded under runs/seeds/, out of the "
                            "published seeds.json)")
    seeds_parser.add_argument("--train-limit", type=positive_int, default=None,
                       help="train on a class-balanced subset of N images (smoke runs; recorded under runs/seeds/, "
                            "out of the published seeds.json)")
    seeds_parser.add_argument("--bound-test-images", type=positive_int, default=None,
                       help="test images the VAEs' log-likelihood bound averages over (default: the recipe's)")
    _add_data_and_device(seeds_parser)

    figures_parser = commands.add_parser("figures", help="rebuild every figure of a result folder from its model.pt")
    figures_parser.add_argument("folder", help="a result folder holding model.pt")
    _add_data_and_device(figures_parser, moved_data=True)

    explore_parser = commands.add_parser("explore", help="write a result folder's explorer.html: its latent space, "
                               "decoded live in the browser")
    explore_parser.add_argument("folder", help="a result folder holding model.pt")
    explore_parser.add_argument("--screenshot", action="store_true",
                      help="also save explorer.png: the page in headless Chromium, a test digit picked "
                           "(needs Playwright and the system's Chromium)")
    _add_data_and_device(explore_parser, moved_data=True)

    evaluate_parser = commands.add_parser("evaluate", help="recompute metrics.json of result folders: baselines, "
                                  "kNN and linear probes, likelihood bounds")
    evaluate_parser.add_argument("folders", nargs="+", help="result folders holding model.pt")
    evaluate_parser.add_argument("--k", type=positive_int, default=None,
                         help="importance samples per test image (default: the run's own --bound-samples)")
    evaluate_parser.add_argument("--n-test", type=positive_int, default=None,
                         help="test images the likelihood bound averages over (default: the run's own "
                              "--bound-test-images)")
    _add_data_and_device(evaluate_parser, moved_data=True)

    bound_parser = commands.add_parser(
        "bound-vs-k", help="the ELBO and the importance-sampled bound against k: bound_vs_k.png and .json",
        description="For each VAE result folder: the ELBO and the importance-sampled bound for each k, with "
                    "standard errors over the test images, in bound_vs_k.json; bound_vs_k.png draws every "
                    "folder's curve (ELBO- and IWAE-trained models side by side) into each folder.")
    bound_parser.add_argument("folders", nargs="+", help="result folders holding a VAE's model.pt")
    bound_parser.add_argument("--ks", nargs="+", type=positive_int, default=[1, 10, 100, 1000, 5000], metavar="K",
                         help="importance samples per image (default: 1 10 100 1000 5000)")
    bound_parser.add_argument("--n-test", type=positive_int, default=10000,
                         help="test images to average over (default: 10000, the whole test set)")
    _add_data_and_device(bound_parser)

    report_parser = commands.add_parser("report", help="write RESULTS.md, the READMEs' generated tables, index.html and compare.html "
                                 "from the result folders' metrics.json")
    report_parser.add_argument("--output", default=None, metavar="PATH",
                        help="write only the text of RESULTS.md, to PATH, and touch nothing else")
    report_parser.add_argument("--screenshot", action="store_true",
                        help="also save compare.png: compare.html in headless Chromium with a 7 drawn on its pad "
                             "(needs Playwright and the system's Chromium)")

    args = parser.parse_args(argv)
    with status("loading PyTorch, matplotlib and scikit-learn"):  # only once the flags are valid: seconds
        from .commands import evaluate_folder, explore, rebuild_figures, reproduce, write_bound_vs_k, write_documents
        from .pipeline import run
        from .report import write_results
        from .seeds import run_seeds

    actions = {
        "train": lambda: run(config_from_args(args, {})),
        "reproduce": lambda: reproduce(args.only, args.retrain, args.device, args.data_root),
        "seeds": lambda: run_seeds(args.only, args.seeds, args.device, args.data_root, args.retrain,
                                   args.bound_test_images,
                                   **{k: v for k in ("epochs", "train_limit") if (v := getattr(args, k)) is not None}),
        "figures": lambda: rebuild_figures(args.folder, args.data_root, args.device, args.dataset),
        "explore": lambda: explore(args.folder, args.data_root, args.device, args.screenshot, args.dataset),
        "evaluate": lambda: [evaluate_folder(f, args.data_root, args.device, args.k, args.n_test, args.dataset)
                             for f in args.folders],
        "bound-vs-k": lambda: write_bound_vs_k(args.folders, args.ks, args.n_test, args.data_root, args.device),
        "report": lambda: write_results(args.output) if args.output else write_documents(screenshot=args.screenshot),
    }
    return guarded(actions[args.command])
