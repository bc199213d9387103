"""Command line: ``python -m latentlab train|reproduce|seeds|sweep|figures|explore|evaluate|bound-vs-k|
binarization-spread|report|info|site``, and the scripts in Models/. One function per command adds its flags
and its action; the libraries behind the actions load only once the flags are valid."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from types import SimpleNamespace

from .core.config import (
    TrainConfig,
    build_parser,
    config_from_args,
    dataset_argument,
    non_negative_int,
    positive_int,
    recipe_setting,
)
from .core.display import terminal_text
from .core.errors import LatentlabError
from .core.progress import status
from .experiments import Experiment, experiment_names
from .publish.names import experiment_label


class Parser(argparse.ArgumentParser):
    """argparse without abbreviations: --epoch 3 is refused, not taken for --epochs 3."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str):
        """The mistake in one line and where the flags are listed, not the whole usage (20 lines for a script)."""
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help lists its flags)\n")


def _train_only_flags(unknown: list[str]) -> list[str]:
    """Of the flags a script did not know, those that ``python -m latentlab train`` takes (--model, --latent-dim)."""
    train_only = {
        "--" + f.name.replace("_", "-") for f in dataclasses.fields(TrainConfig) if f.metadata["cli"] == "train"
    }
    return [flag for flag in (token.split("=", 1)[0] for token in unknown) if flag in train_only]


def guarded(action) -> int:
    """Run ``action``; a user-fixable problem becomes one paragraph on stderr, not a traceback."""
    try:
        action()
    except LatentlabError as error:
        print(f"\nerror: {terminal_text(error)}", file=sys.stderr)  # it quotes names: shown, never run
        return error.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted; nothing half-written was left behind.", file=sys.stderr)
        return 130
    return 0


def experiment_config(hyp: dict, script: str | Path, argv: list[str] | None = None) -> TrainConfig:
    """A script's TrainConfig: its ``hyp``, overridden by the command-line flags (made from TrainConfig's
    fields; ``--help`` lists them). Bad flags stop here, before PyTorch is imported."""
    experiment = Experiment(hyp)
    parser = Parser(
        prog=f"python Models/{Path(script).name}",
        description=f"{experiment_label(experiment)} latent (MNIST unless --dataset says otherwise); results go to "
        f"{experiment.out_dir}/.",
    )
    build_parser(parser, hyp, command="experiment")
    args, unknown = parser.parse_known_args(argv)
    if train_only := _train_only_flags(unknown):
        parser.error(
            f"{', '.join(train_only)} is fixed by this script's experiment; python -m latentlab train "
            f"takes it, for any model and latent size"
        )
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    config = config_from_args(args, hyp)
    print("Loading PyTorch, matplotlib and scikit-learn ...", flush=True)  # a few seconds
    return config


def _add_only(parser: argparse.ArgumentParser) -> None:
    names = experiment_names()
    parser.add_argument(
        "--only",
        nargs="+",
        choices=names,
        default=names,
        metavar="NAME",
        help=f"these experiments only (default: all of {', '.join(names)})",
    )


def _add_data_and_device(parser: argparse.ArgumentParser, moved_data: bool = False, on_folders: bool = False) -> None:
    """The TrainConfig flags that the commands on finished result folders take too; with ``moved_data``
    also --dataset, to point at an image folder that has moved since the model was trained. A command on
    result folders (``on_folders``, implied by ``moved_data``) reads the data where the model was trained."""
    build_parser(parser, {}, command="train", only=("data_root", "device"))
    if moved_data or on_folders:
        data_root = next(action for action in parser._actions if action.dest == "data_root")
        data_root.help = (
            "folder holding MNIST/raw/ or FashionMNIST/raw/ (default: the data root recorded in the "
            "folder's config.json if it is still there, else $MNIST_ROOT, else data/)"
        )
    if moved_data:
        parser.add_argument(
            "--dataset",
            type=dataset_argument,
            default=None,
            metavar="FOLDER",
            help="where the image folder the model was trained on is now, if it moved "
            "(default: the folder recorded in its config.json)",
        )


def _train(commands) -> None:
    parser = commands.add_parser(
        "train",
        help="train any model and latent size",
        description="Train an AE or VAE; e.g. --model vae --latent-dim 8 (results in runs/vae-8d)",
    )
    build_parser(parser, {}, command="train")
    parser.set_defaults(action=lambda args, do: do.workflow.run(config_from_args(args, {})))


def _reproduce(commands) -> None:
    parser = commands.add_parser(
        "reproduce",
        help="run every experiment (every script of Models/, the two Bernoulli VAEs and the Fashion-MNIST VAE) "
        "with its defaults, write RESULTS.md, then judge every committed file it changed (runs/"
        "reproduce-verdict.txt); exit status 4 if a published number moved, 3 if an experiment "
        "was skipped for want of its data",
        description="Each experiment as its script runs it, one after another in this process; a folder that "
        "already holds a finished model is not retrained unless --retrain is given.",
    )
    _add_only(parser)
    parser.add_argument("--retrain", action="store_true", help="train again even where a finished model exists")
    parser.add_argument(
        "--check",
        action="store_true",
        help="run in a clean clone of HEAD in a temporary folder and judge what it rewrote there, "
        "leaving this tree as it is",
    )
    _add_data_and_device(parser)
    parser.set_defaults(
        action=lambda args, do: do.commands.reproduce(args.only, args.retrain, args.device, args.data_root, args.check)
    )


def _seeds(commands) -> None:
    parser = commands.add_parser(
        "seeds",
        help="train each experiment's recipe with several seeds and record the spread in seeds.json",
        description="Run from the repository root. For each named experiment and seed: train into "
        "runs/seeds/<experiment>/<recipe>/seed<N>/ (seed 0 of the default recipe is the committed "
        "model, evaluated as it is), evaluate as metrics.json is, and record the numbers in "
        "<result folder>/seeds.json (the committed model and figures are not touched; a changed "
        "recipe or bound is recorded in runs/seeds/<experiment>/<recipe>/seeds.json instead). A seed "
        "already recorded is skipped unless --retrain. `python -m latentlab report` then shows "
        "mean ± sd.",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=non_negative_int,
        default=[0, 1, 2, 3, 4],
        metavar="N",
        help="the seeds (default: 0 1 2 3 4)",
    )
    _add_only(parser)
    parser.add_argument("--retrain", action="store_true", help="train again even where a seed is recorded")
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="override the recipe's epochs (smoke runs; recorded under runs/seeds/, out of the published seeds.json)",
    )
    parser.add_argument(
        "--train-limit",
        type=positive_int,
        default=None,
        help="train on a class-balanced subset of N images (smoke runs; recorded under runs/seeds/, "
        "out of the published seeds.json)",
    )
    _add_bound_test_images(parser)
    _add_data_and_device(parser)
    _add_where(parser)

    def action(args, do):
        overrides = {k: v for k in ("epochs", "train_limit") if (v := getattr(args, k)) is not None}
        do.seeds.run_seeds(
            args.only,
            args.seeds,
            args.device,
            args.data_root,
            args.retrain,
            args.bound_test_images,
            executor=_executor(args),
            collect=args.collect,
            **overrides,
        )

    parser.set_defaults(action=action)


def _sweep(commands) -> None:
    parser = commands.add_parser(
        "sweep",
        help="train an experiment's recipe over a grid of settings times seeds, and tabulate the spread",
        description="E.g. sweep vae-2d --set lr=1e-3,3e-3 --set epochs=8,16 --seeds 0 1 2 --jobs 2. Each run is "
        "recorded as the seed study records it; the table (mean ± sd of the experiment's headline "
        "numbers, best first) and a figure go to runs/sweeps/<experiment>/.",
    )
    parser.add_argument(
        "experiment", choices=experiment_names(), metavar="EXPERIMENT", help=f"one of {', '.join(experiment_names())}"
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        required=True,
        type=recipe_setting,
        metavar="KEY=V1,V2",
        help="a recipe setting and its values (repeat for a grid)",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=non_negative_int,
        default=[0, 1, 2],
        metavar="N",
        help="the seeds of each recipe (default: 0 1 2)",
    )
    _add_bound_test_images(parser)
    _add_data_and_device(parser)
    _add_where(parser)

    def action(args, do):
        settings = dict(args.settings)
        if len(settings) != len(args.settings):
            raise LatentlabError("--set names a setting twice; give each setting once, with all its values.")
        experiment, runs = do.sweep.planned_sweep(
            args.experiment, settings, args.seeds, args.device, args.data_root, args.bound_test_images
        )
        try:  # the table and figure also after some runs failed: the table says how many seeds each recipe has
            do.study.carry_out(runs, _executor(args), args.collect)
        finally:
            do.sweep_report.write_sweep(
                experiment, settings, sorted(set(args.seeds)), do.sweep.recorded_rows(settings, runs)
            )

    parser.set_defaults(action=action)


def _add_bound_test_images(parser: argparse.ArgumentParser) -> None:
    """A study's shorter likelihood bound: it changes where the runs are recorded, not the recipe."""
    parser.add_argument(
        "--bound-test-images",
        type=positive_int,
        default=None,
        help="test images the VAEs' log-likelihood bound averages over (default: the recipe's)",
    )


def _add_full_test_set(parser: argparse.ArgumentParser) -> None:
    """--n-test of the commands that measure on the full test set, as published likelihoods are."""
    parser.add_argument(
        "--n-test",
        type=positive_int,
        default=10000,
        help="test images to average over (default: 10000, the whole test set)",
    )


def _add_where(parser: argparse.ArgumentParser) -> None:
    """Where a study's jobs run: here one after another (default), --jobs N local processes, or a Slurm cluster."""
    where = parser.add_argument_group("where the runs go (default: this process, one after another)")
    where.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="N local processes at once (submitit), each with its share of the cores, or a GPU each",
    )
    where.add_argument(
        "--cluster",
        choices=("slurm",),
        default=None,
        help="one sbatch job per run through submitit; logs under runs/seeds/jobs/",
    )
    where.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="CPU threads per run (default: the cores in this process, cores / N with --jobs, 1 on "
        "Slurm). A CPU run's last digits depend on it: equal --threads give equal numbers",
    )
    where.add_argument("--partition", default=None, help="Slurm partition")
    where.add_argument(
        "--time", type=positive_int, default=24 * 60, metavar="MINUTES", help="Slurm time limit per job (default: 1440)"
    )
    where.add_argument("--gpus-per-job", type=non_negative_int, default=0, metavar="N", help="Slurm GPUs per job")
    where.add_argument(
        "--sbatch",
        action="append",
        default=[],
        type=_key_value,
        metavar="KEY=VALUE",
        help="an extra sbatch option, e.g. --sbatch account=myproject (repeatable)",
    )
    where.add_argument(
        "--collect",
        action="store_true",
        help="submit nothing: record the runs whose jobs have finished (after Ctrl-C, or from another terminal)",
    )


def _key_value(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _executor(args):
    """The executor that the flags of ``_add_where`` ask for."""
    from .studies.executors import make_executor

    if args.jobs and args.cluster:
        raise LatentlabError("--jobs and --cluster slurm are two places to run the jobs: give one of them.")
    return make_executor(
        args.jobs,
        args.cluster,
        args.threads,
        Path("runs/seeds/jobs").resolve(),
        args.device,
        args.partition,
        args.time,
        args.gpus_per_job,
        dict(args.sbatch),
    )


def _on_folders(commands) -> None:
    """The commands on finished result folders: figures, explore, evaluate."""
    parser = commands.add_parser("figures", help="rebuild every figure of a result folder from its model.pt")
    parser.add_argument("folder", help="a result folder holding model.pt")
    _add_data_and_device(parser, moved_data=True)
    parser.set_defaults(
        action=lambda args, do: do.commands.rebuild_figures(args.folder, args.data_root, args.device, args.dataset)
    )

    parser = commands.add_parser(
        "explore", help="write a result folder's explorer.html: its latent space, decoded live in the browser"
    )
    parser.add_argument("folder", help="a result folder holding model.pt")
    parser.add_argument(
        "--screenshot",
        action="store_true",
        help="also save explorer.png: the page in headless Chromium, a test digit picked "
        "(needs Playwright and the system's Chromium)",
    )
    parser.add_argument(
        "--template-only",
        action="store_true",
        help="rewrite the page in today's template and explorer.js around the data it already "
        "holds, loading no model or data: after a change to the page's code, its numbers "
        "stay those it was made with",
    )
    _add_data_and_device(parser, moved_data=True)
    parser.set_defaults(
        action=lambda args, do: (
            do.commands.refill(args.folder)
            if args.template_only
            else do.commands.explore(args.folder, args.data_root, args.device, args.screenshot, args.dataset)
        )
    )

    parser = commands.add_parser(
        "evaluate", help="recompute metrics.json of result folders: baselines, kNN and linear probes, likelihood bounds"
    )
    parser.add_argument("folders", nargs="+", help="result folders holding model.pt")
    parser.add_argument(
        "--k",
        type=positive_int,
        default=None,
        help="importance samples per test image (default: the run's own --bound-samples)",
    )
    parser.add_argument(
        "--n-test",
        type=positive_int,
        default=None,
        help="test images the likelihood bound averages over (default: the run's own --bound-test-images)",
    )
    _add_data_and_device(parser, moved_data=True)
    parser.set_defaults(
        action=lambda args, do: [
            do.commands.evaluate_folder(folder, args.data_root, args.device, args.k, args.n_test, args.dataset)
            for folder in args.folders
        ]
    )


def _bound_vs_k(commands) -> None:
    parser = commands.add_parser(
        "bound-vs-k",
        help="the ELBO and the importance-sampled bound against k: bound_vs_k.png and .json",
        description="For each VAE result folder: the ELBO and the importance-sampled bound for each k, with "
        "standard errors over the test images, in bound_vs_k.json; bound_vs_k.png draws every "
        "folder's curve (ELBO- and IWAE-trained models side by side) into each folder.",
    )
    parser.add_argument("folders", nargs="+", help="result folders holding a VAE's model.pt")
    parser.add_argument(
        "--ks",
        nargs="+",
        type=positive_int,
        default=[1, 10, 100, 1000, 5000],
        metavar="K",
        help="importance samples per image (default: 1 10 100 1000 5000)",
    )
    _add_full_test_set(parser)
    _add_data_and_device(parser, on_folders=True)
    parser.set_defaults(
        action=lambda args, do: do.commands.write_bound_vs_k(
            args.folders, args.ks, args.n_test, args.data_root, args.device
        )
    )


def _binarization_spread(commands) -> None:
    parser = commands.add_parser(
        "binarization-spread",
        help="how far a Bernoulli VAE's NLL moves with the draw of the binary test set",
        description="The importance-sampled bound of a Bernoulli VAE on the test set binarized once with each "
        "seed (ours uses 1234; published tables drew theirs otherwise), scored with the same "
        "posterior noise: binarization_spread.json in the folder, and RESULTS.md's test protocol "
        "quotes it.",
    )
    parser.add_argument("folder", type=Path, help="a result folder holding a Bernoulli VAE's model.pt")
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=non_negative_int,
        default=[1234, 1, 2, 3, 4],
        metavar="SEED",
        help="binarization seeds (default: 1234, the published test set's, then 1 2 3 4)",
    )
    parser.add_argument("--k", type=positive_int, default=100, help="importance samples per image (default: 100)")
    _add_full_test_set(parser)
    _add_data_and_device(parser, on_folders=True)
    parser.set_defaults(
        action=lambda args, do: do.commands.write_binarization_spread(
            args.folder, args.seeds, args.k, args.n_test, args.data_root, args.device
        )
    )


def _report(commands) -> None:
    parser = commands.add_parser(
        "report",
        help="write RESULTS.md, the READMEs' generated tables, index.html and "
        "compare.html from the result folders' metrics.json",
    )
    parser.add_argument(
        "--output",
        default=None,
        metavar="PATH",
        help="write only the text of RESULTS.md, to PATH, and touch nothing else",
    )
    parser.add_argument(
        "--screenshot",
        action="store_true",
        help="also save compare.png: compare.html in headless Chromium with a 7 drawn on its pad "
        "(needs Playwright and the system's Chromium)",
    )
    parser.set_defaults(
        action=lambda args, do: (
            do.report.write_results(args.output)
            if args.output
            else do.commands.write_documents(screenshot=args.screenshot)
        )
    )


def _info(commands) -> None:
    parser = commands.add_parser(
        "info",
        help="what made a result folder's model: the code's commit, the versions, "
        "the device and the date, with its recipe",
    )
    parser.add_argument("folder", help="a result folder holding model.pt")
    parser.set_defaults(action=lambda args, do: do.commands.info(args.folder))


def _site(commands) -> None:
    parser = commands.add_parser(
        "site",
        help="copy the results site (index.html, compare.html, the explorer pages "
        "and every figure and GIF they show) into one folder for the web",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write (a site there is replaced)")
    parser.set_defaults(action=lambda args, do: do.static_site.build_site(Path(args.out)))


def _posterior(commands) -> None:
    parser = commands.add_parser(
        "posterior",
        help="a 2-D VAE's true posterior: log p(x) by quadrature, the approximation and amortization "
        "gaps, and the importance-sampled bound against k",
        description="For each 2-D VAE result folder: log p(x), ELBO(q) and ELBO(q*) (q* the best diagonal Gaussian "
        "of each image) on a grid over z, and the importance-sampled bound at k = 1 ... 5000, per test "
        "image in posterior_gaps.json, drawn in posterior_heatmaps.png and posterior_gaps.png, summed "
        "up in metrics.json (Cremer, Li & Duvenaud 2018); and each image's q refined by gradient steps on its "
        "own ELBO, the ELBO after 0 to 100 steps and the bound at k = 100 with the refined q, drawn in "
        "refinement.png. For a conditional 2-D VAE (the CVAE): log p(x|y) under every label and log p(x) = "
        "log sum_y p(y) p(x|y) by quadrature, the label's information and Bayes' rule p(y|x), into metrics.json.",
    )
    parser.add_argument("folders", nargs="+", help="result folders holding a 2-D VAE's or CVAE's model.pt")
    parser.add_argument(
        "--n-test",
        type=positive_int,
        default=500,
        help="the first N test images (default: 500, the explorer page's picks)",
    )
    parser.add_argument(
        "--is-images",
        type=positive_int,
        default=100,
        help="of them, the first N also get the importance-sampled bound (default: 100)",
    )
    _add_data_and_device(parser, on_folders=True)
    parser.set_defaults(
        action=lambda args, do: do.commands.posterior_gaps(
            args.folders, args.n_test, args.is_images, args.data_root, args.device
        )
    )


def _surgery(commands) -> None:
    parser = commands.add_parser(
        "surgery",
        help="split a VAE's average KL into I(x; z) and the prior's misfit KL(q(z) ‖ p(z)) (ELBO surgery)",
        description="For each VAE result folder: the average KL(q(z|x) ‖ p(z)) over the 10,000 test images split "
        "into the mutual information I(x; z) under q and KL(q(z) ‖ p(z)), q(z) the mean of the test "
        "images' posteriors (Hoffman & Johnson 2016): by quadrature on a grid for a 2-D latent (with "
        "aggregate_posterior.png), by the mixture of all 10,000 posteriors otherwise, whose I(x; z) "
        "cannot exceed log 10,000 = 9.21 nats. Written into metrics.json under elbo_surgery.",
    )
    parser.add_argument("folders", nargs="+", help="result folders holding a VAE's model.pt")
    _add_data_and_device(parser, on_folders=True)
    parser.set_defaults(action=lambda args, do: do.commands.elbo_surgery(args.folders, args.data_root, args.device))


COMMANDS = (
    _train,
    _reproduce,
    _seeds,
    _sweep,
    _on_folders,
    _bound_vs_k,
    _binarization_spread,
    _posterior,
    _surgery,
    _report,
    _info,
    _site,
)


def main(argv: list[str] | None = None) -> int:
    """``python -m latentlab COMMAND`` (or the installed ``latentlab COMMAND``): each command's flags and action
    are in its function above."""
    prog = "latentlab" if Path(sys.argv[0]).stem == "latentlab" else "python -m latentlab"  # the installed command
    parser = Parser(prog=prog, description="AE and VAE on MNIST.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add in COMMANDS:
        add(commands)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # named against the command's own flags, not the top-level parser's
        commands.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    with status("loading PyTorch, matplotlib and scikit-learn"):  # only once the flags are valid: seconds
        from . import commands as command_module
        from . import workflow
        from .publish import report, static_site, sweep_report
        from .studies import seeds, study, sweep
    do = SimpleNamespace(
        commands=command_module,
        workflow=workflow,
        report=report,
        seeds=seeds,
        study=study,
        sweep=sweep,
        sweep_report=sweep_report,
        static_site=static_site,
    )
    return guarded(lambda: args.action(args, do))
