"""RESULTS.md and the generated parts of the READMEs, from the experiments' registry and the
result folders' metrics.json files; nothing in them is typed by hand."""

from __future__ import annotations

import statistics
from functools import partial
from pathlib import Path

from ..core.config import DATASET_TITLES, TrainConfig
from ..core.files import write_text_atomic
from ..core.likelihoods import TEST_BINARIZATION_SEED
from ..core.posterior import ERROR_TARGET, HALF_WIDTH, SPACING
from ..core.recorded import read_json
from ..experiments import EXPERIMENTS, SCRIPT_EXPERIMENTS, check_repository_root
from ..studies.records import default_runs, recipe_changes
from .architecture import architecture
from .conditional_report import conditional_section
from .folder_labels import folder_label
from .literature import BINARIZED_MNIST_NLL, DEEP_AE_MSE, PUBLISHED, UMAP_AE, UMAP_VAE, UMAP_VAE_64
from .log_likelihood_report import log_likelihood_section
from .names import experiment_label, run_label
from .prior_report import prior_section
from .refinement_report import refinement_block
from .summary_table import balanced_beside, summary
from .surgery_report import surgery_section
from .tables import Markdown, code_span, decimals, fmt, markdown_table, markdown_text, plus_minus, spread


def _flags(settings: dict) -> str:
    return " ".join(f"--{key.replace('_', '-')} {value}" for key, value in settings.items())


def experiment_command(e) -> str:
    """The command that runs an experiment: its script; a script with the flags that differ (the same
    recipe on another data set); else ``python -m latentlab train`` with its whole ``hyp``."""
    if e.script:
        return f"python Models/{e.script.name}"
    for base in SCRIPT_EXPERIMENTS.values():
        if all(e.hyp.get(key) == value for key, value in base.hyp.items() if key != "out_dir"):
            return f"python Models/{base.script.name} " + _flags(
                {k: v for k, v in e.hyp.items() if base.hyp.get(k) != v}
            )
    return "python -m latentlab train " + _flags(e.hyp)


def _pca_rows() -> list[tuple[str, Path]]:
    """Every metrics.json holds the PCA baseline of its latent size on its data set: one row per size and
    data set, from its first folder."""
    first: dict[tuple[int, str], Path] = {}
    for e in EXPERIMENTS.values():
        config = e.config()
        first.setdefault((config.latent_dim, config.dataset), e.out_dir)
    return [(f"PCA, {dim} components", folder) for (dim, _), folder in first.items()]


# How a table prints a decoder's importance-sampled bound: as an NLL where -log p(x|z) is exact (NLL tables print
# -log p(x)), else as the bound itself (a Gaussian decoder's drops a constant, so it is no NLL).
BOUND_COLUMN = {"gaussian": ("log-likelihood bound", 1), "bernoulli": ("NLL (nats)", -1)}
# Where RESULTS.md sets a published value against an experiment's seeds: (what, experiment, metrics.json
# key, published value, whose, decimals, higher is better).
COMPARISONS = [
    ("5-NN accuracy of the 2-D AE", "ae-2d", "knn5_accuracy", UMAP_AE, "Parametric UMAP's 2-D conv AE", 3, True),
    ("5-NN accuracy of the 2-D VAE", "vae-2d", "knn5_accuracy", UMAP_VAE, "Sainburg et al.'s 2-D conv VAE", 3, True),
    (
        "5-NN accuracy of the 32-D VAE",
        "vae-32d",
        "knn5_accuracy",
        UMAP_VAE_64,
        "Sainburg et al.'s VAE with a 64-D code",
        3,
        True,
    ),
    ("test MSE of the 32-D AE", "ae-32d", "test_mse", DEEP_AE_MSE, "Hinton & Salakhutdinov's 30-D deep AE", 4, False),
    *[
        (
            "NLL of the Bernoulli VAE",
            "vae-32d-bernoulli",
            "test_nll_nats",
            nll,
            label.replace(", ", " (", 1) + ")",
            2,
            False,
        )
        for label, _, nll, _ in BINARIZED_MNIST_NLL[:2]
    ],
]
COLUMNS = [
    "model",
    "data set",
    "test MSE",
    "recon SSE",
    "ELBO",
    "log-lik. bound (IS)",
    "NLL (nats)",
    "5-NN acc.",
    "linear probe",
    "active units",
    "epochs",
    "train time",
    "device",
]


def _dataset(m: dict) -> str:
    """The data set a metrics.json was measured on, as the tables name it."""
    dataset = m.get("dataset", "mnist")
    binarized = " (binarized)" if m.get("likelihood") == "bernoulli" else ""
    if dataset in DATASET_TITLES:
        return DATASET_TITLES[dataset] + binarized
    return Markdown(code_span(dataset) + binarized)  # an image folder's path, shown as code


def _accuracy(m: dict, key: str) -> str:
    return fmt(m.get(f"{key}_accuracy"), 3) + balanced_beside(m, key)


def _model_row(label: str, m: dict) -> list[str]:
    value = m.get("test_log_likelihood_is")
    bound = None if value is None else f"{value:.2f} (k={m['bound_samples']}, n={m['bound_test_images']})"
    return [
        label,
        _dataset(m),
        fmt(m.get("test_mse"), 4),
        fmt(m.get("test_recon_sse"), 2),
        fmt(m.get("test_elbo"), 2),
        bound or "–",
        fmt(m.get("test_nll_nats"), 2),
        _accuracy(m, "knn5"),
        _accuracy(m, "linear_probe"),
        "–" if m.get("active_units") is None else f"{m['active_units']} / {m['latent_dim']}",
        str(m["epochs"]),
        f"{m['train_seconds'] / 60:.1f} min",
        m["device"],
    ]


def _spread_row(runs: list[dict]) -> list[str]:
    """The row under a model's: mean ± sd over the seeded runs of the same recipe; their training time as its
    median and range, per device."""
    devices = sorted({run["device"] for run in runs})
    cells = [
        plus_minus(runs, key, digits)
        for key, digits in (
            ("test_mse", 4),
            ("test_recon_sse", 2),
            ("test_elbo", 2),
            ("test_log_likelihood_is", 2),
            ("test_nll_nats", 2),
            ("knn5_accuracy", 3),
            ("linear_probe_accuracy", 3),
            ("active_units", 1),
        )
    ]
    if len(devices) > 1:  # a CPU's minutes and a GPU's seconds in one figure would say nothing
        seconds = "; ".join(
            f"{device}: {_seconds([run for run in runs if run['device'] == device])}" for device in devices
        )
    else:
        seconds = _seconds(runs)
    return [
        f"↳ mean ± sd over {len(runs)} seeds",
        "",
        *[cell or "–" for cell in cells],
        "",
        seconds,
        ", ".join(devices),
    ]


def _seconds(runs: list[dict]) -> str:
    """Training time over runs: "1047 s (1 run)", or "median 333 s (300–5056 s)". A wall-clock time moves with
    whatever else the machine ran meanwhile: one run slowed fivefold by a busy machine would make a mean ± sd
    say nothing, the median and the range say what a run took and how far that moved."""
    seconds = sorted(run["train_seconds"] for run in runs)
    if len(seconds) == 1:
        return f"{round(seconds[0])} s (1 run)"
    return f"median {round(statistics.median(seconds))} s ({round(seconds[0])}–{round(seconds[-1])} s)"


def _pca_row(label: str, m: dict) -> list[str]:
    return [
        label,
        _dataset(m),
        fmt(m.get("pca_test_mse"), 4),
        fmt(m.get("pca_test_mse") and 784 * m["pca_test_mse"], 2),
        "–",
        "–",
        "–",
        _accuracy(m, "pca_knn5"),
        _accuracy(m, "pca_linear_probe"),
        "–",
        "–",
        "–",
        "–",
    ]


def _evaluate_commands(loaded: dict) -> list[str]:
    """One ``evaluate`` command per likelihood-bound setting the folders' numbers were computed with."""
    defaults = TrainConfig()
    groups: dict[tuple, list[str]] = {}
    for folder in (e.out_dir for e in EXPERIMENTS.values()):
        metrics = loaded.get(folder, {})
        setting = (
            metrics.get("bound_samples", defaults.bound_samples),
            metrics.get("bound_test_images", defaults.bound_test_images),
        )
        groups.setdefault(setting, []).append(f'"{folder}"')
    commands = []
    for (k, n_test), folders in groups.items():
        default = (k, n_test) == (defaults.bound_samples, defaults.bound_test_images)
        flags = "" if default else f" --k {k} --n-test {n_test}"
        commands.append(f"python -m latentlab evaluate {' '.join(folders)}{flags}")
    return commands


def comparisons(root: Path = Path(".")) -> list[str]:
    """One sentence per COMPARISONS entry whose experiment has a seed spread: is the published value
    further from our mean than the seeds scatter, and is the committed model an outlier among them?"""
    lines = []
    for what, name, key, published, whose, digits, higher_better in COMPARISONS:
        e = EXPERIMENTS[name]
        runs = default_runs(e, root / e.out_dir)
        found = spread(runs, key)
        if found is None:
            continue
        mean, sd, n = found
        digits = decimals(sd, digits)
        values = [run[key] for run in runs if run.get(key) is not None]
        low, high = min(values), max(values)
        outside = not low <= published <= high
        ours_better = (mean > published) == higher_better
        sds = abs(published - mean) / sd if sd > 0 else float("inf")
        verdict = (
            f"{'ours' if ours_better else 'theirs'} is better by more than the seed spread "
            f"({sds:.1f} sd, outside every seed)"
            if outside and sds > 2
            else f"within the seed spread ({sds:.1f} sd): the seeds cannot tell the two apart"
        )
        sentence = (
            f"- {what}: {mean:.{digits}f} ± {sd:.{digits}f} over {n} seeds (range {low:.{digits}f} to "
            f"{high:.{digits}f}); {whose}: {published:.{digits}f}, {verdict}."
        )
        committed_path = root / e.out_dir / "metrics.json"
        if committed_path.is_file():
            recorded = read_json(committed_path, "metrics")
            committed = None if recipe_changes(e, recorded) else recorded.get(key)  # not a run of the seeds' recipe
            if committed is not None and sd > 0 and abs(committed - mean) > 2 * sd:
                sentence += (
                    f" The committed model ({committed:.{digits}f}) is an outlier among its seeds "
                    f"({abs(committed - mean) / sd:.1f} sd from their mean)."
                )
        lines.append(sentence)
    return lines


def full_test_bounds(root: Path = Path(".")) -> list[tuple[Path, list[str]]]:
    """(folder, row) for each folder with a bound_vs_k.json: its largest-k bound on the full test set (Burda
    et al.'s setting for published NLLs), with the standard error over images."""
    rows = []
    for e in EXPERIMENTS.values():
        path = root / e.out_dir / "bound_vs_k.json"
        if not path.is_file():
            continue
        result = read_json(path, "bound_vs_k")
        best = max(result["bounds"], key=lambda bound: bound["k"])
        heading, sign = BOUND_COLUMN[e.config().likelihood]
        rows.append(
            (
                e.out_dir,
                [
                    experiment_label(e),
                    heading,
                    f"{sign * best['mean']:.2f} ± {best['se']:.2f}",
                    str(best["k"]),
                    f"{result['n_test']:,}",
                    f"{sign * result['elbo']['mean']:.2f}",
                    result.get("device", "–"),
                ],
            )
        )
    return rows


def results_markdown(root: Path = Path(".")) -> str:
    """The text of RESULTS.md for the result folders under ``root``."""
    loaded = {
        e.out_dir: read_json(path, "metrics")
        for e in EXPERIMENTS.values()
        if (path := root / e.out_dir / "metrics.json").is_file()
    }
    parts = [
        "# Results",
        "",
        "Generated by `python -m latentlab report` (or `make results`) from the `metrics.json` "
        "file of each result folder. Do not edit by hand.",
        "",
    ]
    parts += _main_table(root, loaded) + _published_references() + _full_test_section(root) + _posterior_section(root)
    parts += log_likelihood_section(root) + surgery_section(root) + prior_section(root) + conditional_section(root)
    parts += _protocol_section(root)
    return "\n".join(parts + _comparison_section(root))


def _main_table(root: Path, loaded: dict) -> list[str]:
    """Every model's numbers, each with its seeds' spread under it, the PCA baselines, and the commands."""
    rows, retrained = [], []
    for e in EXPERIMENTS.values():
        if e.out_dir in loaded:
            changes = recipe_changes(e, loaded[e.out_dir])  # a folder is shown as the run it holds
            rows.append(_model_row(run_label(e, changes), loaded[e.out_dir]))
            retrained += [code_span(e.out_dir.as_posix())] if changes else []
            runs = [] if changes else default_runs(e, root / e.out_dir)
            if spread(runs, "test_mse"):
                rows.append(_spread_row(runs))
    rows += [
        _pca_row(label, loaded[folder]) for label, folder in _pca_rows() if "pca_test_mse" in loaded.get(folder, {})
    ]
    missing = [f"`{e.out_dir}`" for e in EXPERIMENTS.values() if e.out_dir not in loaded]
    parts = [
        "All numbers are on the 10,000 test images of the data set named. Test MSE is per pixel (pixels in [0, 1]); recon SSE is "
        "the squared error summed over the 784 pixels of an image. On binarized MNIST (the Bernoulli decoders) both "
        "are measured against the binarized test images the decoder models, so they do not compare with the rows "
        "on grey pixels. For the VAEs both use the reconstruction from "
        "the posterior mean. ELBO = −(reconstruction + KL) per image with one posterior sample per image: for the "
        "Gaussian decoder the reconstruction is the squared error (a Gaussian with variance ½, the constant "
        "392·log π nats left out); for the Bernoulli decoder it is the cross-entropy in nats on binarized "
        "MNIST, and NLL = −(log-likelihood bound). The log-likelihood bound is the importance-sampled bound of "
        "Burda et al. (2015) with k samples per image over the first n test images, in the same units as the "
        "ELBO. 5-NN and linear probe: classifiers fitted on the 60,000 training codes (posterior means for the "
        "VAE), scored on the test codes; the PCA rows use PCA codes of the same size, fitted on the training "
        "images. Active units: latent dimensions whose posterior mean varies across the test set (variance "
        "above 0.01). Training times were measured on the device named, a shared machine: treat them as rough.",
        "",
        markdown_table(COLUMNS, rows),
        "",
    ]
    if missing:
        parts += [f"Not trained yet, so not in the table: {', '.join(missing)}.", ""]
    if retrained:
        parts += [
            f"Retrained with another recipe than its experiment's, so named by what it holds and shown without "
            f"the seed spread of the experiment's recipe: {', '.join(retrained)}.",
            "",
        ]
    return parts + [
        "Commands that produce this table (each script trains if its folder holds no finished model, "
        "then evaluates and draws its figures):",
        "",
        "```bash",
        *[experiment_command(e) for e in EXPERIMENTS.values()],
        *_evaluate_commands(loaded),
        "python -m latentlab report",
        "```",
        "",
    ]


def _published_references() -> list[str]:
    return [
        "## Published references",
        "",
        markdown_table(["quantity", "value", "source"], [list(row) for row in PUBLISHED]),
        "",
        "These are copied from the papers named; the table above is computed. Sainburg et al. use different "
        "architectures and training budgets, and Burda et al. report k = 5000 importance samples on the full "
        "test set, as the next table does.",
        "",
    ]


def _full_test_section(root: Path) -> list[str]:
    bounds = full_test_bounds(root)
    if not bounds:
        return []
    folders = " ".join(f'"{folder}"' for folder, _ in bounds)
    return [
        "## Log-likelihood on the full test set",
        "",
        "The published setting: k importance samples per image on all 10,000 test images (binarized once, "
        "with a fixed seed), ± the standard error over images; the ELBO column is −ELBO in the same units. "
        "From each folder's `bound_vs_k.json`, which also holds k = 1, 10, 100 and 1000 "
        "(`bound_vs_k.png` draws them):",
        "",
        markdown_table(
            ["model", "quantity", "value", "k", "test images", "−ELBO", "device"], [row for _, row in bounds]
        ),
        "",
        "```bash",
        f"python -m latentlab bound-vs-k {folders}   # about a minute on one H200, hours on a 2-core CPU",
        "```",
        "",
    ]


def _published(source: str) -> str:
    """The NLLs of BINARIZED_MNIST_NLL whose source starts with ``source``, as the tables print them."""
    return ", ".join(f"{nll:.2f}" for _, _, nll, cited in BINARIZED_MNIST_NLL if cited.startswith(source))


# How each source of a published binarized-MNIST NLL drew its binary pixels, as its released code does it.
PUBLISHED_PROTOCOLS = [
    f"Burda et al. (2015), the VAE and IWAE rows ({_published('Burda')}): their released code "
    "(github.com/yburda/iwae, the data set `MNIST` of `datasets.py`) trains on the first 59,600 training images "
    "binarized anew for every minibatch, and binarizes the test images inside the evaluation pass "
    "(`measure_marginal_log_likelihood`) from a generator seeded with 123: one draw per image, fixed by its seed. "
    "That is our protocol with another draw. (Its `BinFixMNIST` option reads Larochelle's file instead.)",
    f"Kingma et al. (2016), IAF ({_published('Kingma')}): their released code (github.com/openai/iaf, `mnist_binarized` in "
    "`graphy/misc/data.py`) reads Larochelle & Murray's (2011) fixed binarization, a 50,000 / 10,000 / 10,000 "
    "split binarized once for training and test alike. Its test pixels are another draw than ours, and its "
    "models never saw a fresh binarization in training (a fixed binary training set is easier to overfit): "
    "the gap to this number is a gap between protocols as well as between models.",
]


def _protocol_section(root: Path) -> list[str]:
    """How our binary test set was drawn, how the published ones were, and how far a draw alone moves an NLL
    (the Bernoulli folders' binarization_spread.json)."""
    folders = [
        e.out_dir
        for e in EXPERIMENTS.values()
        if e.config().likelihood == "bernoulli" and (root / e.out_dir / "metrics.json").is_file()
    ]
    if not folders:
        return []
    lines = [
        "## The binary test set: how it was drawn, and how far the comparison holds",
        "",
        "Our Bernoulli VAEs train on the 60,000 MNIST training images binarized anew for every batch (each pixel "
        "drawn as Bernoulli(its intensity): dynamic binarization) and are tested on the 10,000 MNIST test images "
        f"binarized once, each pixel drawn from a generator seeded with {TEST_BINARIZATION_SEED} "
        "(`binarize_once` in latentlab/core/likelihoods.py): one binary test set, the same for every evaluation "
        "and every model here. That is neither Larochelle & Murray's fixed binarized MNIST file nor a fresh draw "
        "at every evaluation. (The training images of the committed models are a copy rebuilt from PNG files in "
        "which the value 1 of 255 reads 0, about 0.05 % of pixels, which a binarization would turn on 0.4 % of "
        "the time; the test images are MNIST's own file.) The published NLLs above were measured as follows:",
        "",
        *[f"- {protocol}" for protocol in PUBLISHED_PROTOCOLS],
        "",
    ]
    for folder in folders:
        path = root / folder / "binarization_spread.json"
        if path.is_file():
            lines += _draw_spread(folder, read_json(path, "binarization_spread"))
    return lines


def _draw_spread(folder: Path, result: dict) -> list[str]:
    """What binarization_spread.json says: the bound on each draw of the binary test set, and their spread."""
    draws = result["draws"]
    nlls = [-draw["mean"] for draw in draws]
    seeds = ", ".join(str(draw["seed"]) for draw in draws)
    sd = statistics.stdev(nlls) if len(nlls) > 1 else 0.0
    mean = statistics.mean(nlls)
    return [
        f"How far the draw alone moves an NLL: the model of `{folder}`, scored with k = {result['k']} on "
        f"{result['n_test']:,} test images binarized with each of the seeds {seeds} (the same posterior noise "
        f"for each): NLL {', '.join(f'{m:.2f}' for m in nlls)} nats, {mean:.2f} ± {sd:.2f} (sd over the "
        f"{len(nlls)} draws; the standard error over images of one draw is {draws[0]['se']:.2f}). Differences "
        f"from numbers measured on another draw that are smaller than about {2 * sd:.2f} nats (2 sd) can come "
        "from the draw alone.",
        "",
        "```bash",
        f'python -m latentlab binarization-spread "{folder}" --seeds {" ".join(str(d["seed"]) for d in draws)} '
        f"--k {result['k']}   # minutes on a GPU, tens of minutes on a 2-core CPU",
        "```",
        "",
    ]


def _comparison_section(root: Path) -> list[str]:
    sentences = comparisons(root)
    if not sentences:
        return []
    return [
        "## Which differences the seeds can resolve",
        "",
        'Each published value against the spread of our seeds (the rows "mean ± sd" above). A difference '
        "counts as real when the published value lies outside every seed's value and more than 2 sd from "
        "their mean. The NLLs here are the k = 100 bounds on 2,000 images of the seed table; the full test "
        "set's are in the table above.",
        "",
        *sentences,
        "",
    ]


def _replace_between(text: str, name: str, content: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        return text
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{content}\n{end}{rest.split(end, 1)[1]}"


LANGUAGES = {"vi": "README.md", "en": "README.en.md"}  # each language's README; its reference pages: docs/<language>/
DOCS = Path("docs")
EXPERIMENT_HEADERS = {  # the experiments table in each language
    "vi": ["thí nghiệm", "lệnh", "mô hình", "epoch", "thư mục kết quả"],
    "en": ["experiment", "command", "model", "epochs", "result folder"],
}


def experiments_table(header: list[str], prefix: str = "") -> str:
    """The experiments of the registry: the name ``--only`` takes, the command that runs each, what it trains,
    where results go (linked from a document ``prefix`` away from the repository root)."""
    rows = []
    for e in EXPERIMENTS.values():
        rows.append(
            [
                code_span(e.name),
                code_span(experiment_command(e)),
                experiment_label(e),
                str(e.config().epochs),
                Markdown(f"[{code_span(f'{e.out_dir}/')}]({prefix}{e.out_dir.as_posix()})"),
            ]
        )
    return markdown_table(header, rows)


def flags_list() -> str:
    """The flags every script takes, read off TrainConfig as the parser makes them."""
    import dataclasses

    flags = [f"`--{f.name.replace('_', '-')}`" for f in dataclasses.fields(TrainConfig) if f.metadata["cli"] == "all"]
    return ", ".join(flags)


def write_results(output: str | Path = "RESULTS.md", root: Path = Path(".")) -> None:
    """Write RESULTS.md from the result folders under ``root``."""
    check_repository_root(root, "report")
    write_text_atomic(results_markdown(root), Path(output))
    print(f"Wrote {output}")


def hub_entries(root: Path = Path(".")) -> list[str]:
    """The entries of ``root``'s hubconf.py as ``torch.hub.list`` finds them: its public callables."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_latentlab_hubconf", root / "hubconf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [name for name, value in vars(module).items() if callable(value) and not name.startswith("_")]


def documents(root: Path = Path(".")) -> list[tuple[Path, str]]:
    """Every Markdown document that holds generated blocks, with its language: the READMEs and docs/'s pages."""
    found = []
    for language, readme in LANGUAGES.items():
        found += [(root / readme, language)] + [(p, language) for p in sorted((root / DOCS / language).glob("*.md"))]
    return [(path, language) for path, language in found if path.is_file()]


def generated_blocks(root: Path, language: str, prefix: str = "") -> dict:
    """What ``report`` writes between each ``<!-- name:start/end -->`` pair of a document, made only when asked."""
    return {
        "experiments": lambda: experiments_table(EXPERIMENT_HEADERS[language], prefix),
        "results": lambda: summary(root),
        "architecture": architecture,
        "flags": flags_list,
        "hub": lambda: ", ".join(code_span(name) for name in hub_entries(root)),
    }


def regenerated(path: Path, root: Path, language: str) -> str:
    """The document at ``path`` with every generated block it holds as ``report`` would write it now (its links
    to result folders made relative to where the document lies)."""
    text = path.read_text(encoding="utf-8")
    prefix = "../" * (len(path.resolve().relative_to(root.resolve()).parts) - 1)
    for name, make in generated_blocks(root, language, prefix).items():
        if f"<!-- {name}:start -->" in text:
            text = _replace_between(text, name, make())
    return text


def update_readmes(root: Path = Path(".")) -> None:
    """Refresh the generated blocks of both READMEs and of the pages under docs/."""
    for path, language in documents(root):
        new = regenerated(path, root, language)
        if new != path.read_text(encoding="utf-8"):
            write_text_atomic(new, path)
            print(f"Updated the generated blocks of {path}")


def _mean_se(summary: dict, key: str) -> str:
    """ "mean ± se" of a posterior_gaps.json summary entry."""
    return f"{summary[key]['mean']:.2f} ± {summary[key]['se']:.2f}"


# --- The true posterior of the 2-D VAEs (issue 41): posterior_gaps.json of each folder ---------------------------


COARSE = ERROR_TARGET  # nats: a per-image error bound above this is said beside the table

POSTERIOR_COLUMNS = [
    "model",
    "data set",
    "grid",
    "test images",
    "log p(x)",
    "ELBO(q*)",
    "ELBO(q)",
    "approximation gap",
    "amortization gap",
    "log p(x) − IS bound",
    "error bound",
]


def mean_error(convergence: dict) -> float:
    """The error bound of a mean over the images: the largest change of the mean of log p(x), ELBO(q) or ELBO(q*)
    between the finest grid and the next coarser one, or the widest and the next narrower (posterior_gaps.json's
    convergence rows)."""
    changes = [
        abs(rows[-1][name]["mean"] - rows[-2][name]["mean"])
        for rows in convergence.values()
        if len(rows) > 1
        for name in ("log_px", "elbo_q", "elbo_qstar")
    ]
    return max(changes, default=0.0)


def _posterior_row(e, m: dict, s: dict, convergence: dict) -> list[str]:
    """The posterior table's row of experiment ``e``'s folder, named by the run its metrics.json ``m`` records
    (the experiment's recipe where it has none), from the summary ``s`` of its posterior_gaps.json."""
    pm = partial(_mean_se, s)
    bound = s["is_bound"]
    grid = s["grid"]
    recorded = m or {"dataset": e.config().dataset, "likelihood": e.config().likelihood}
    return [
        folder_label(e, m) if m else experiment_label(e),
        _dataset(recorded),
        f"[−{grid['half_width']:.3g}, {grid['half_width']:.3g}]², spacing {grid['spacing']:.3g}",
        f"{s['images']:,}",
        pm("log_px"),
        pm("elbo_q_star"),
        pm("elbo_q"),
        pm("approximation_gap"),
        pm("amortization_gap"),
        f"{bound['mean_distance_to_log_px']:.2f} ± {bound['se']:.2f} (n={bound['images']})",
        f"{max(s['error_bound'].values()):.3f} (mean: {mean_error(convergence):.1g})",
    ]


def _posterior_paragraph(grid: dict, k: int) -> str:
    """What the posterior table measures and how: the paragraph above it, given a summary's "grid" and the
    largest k of its importance-sampled bound."""
    return (
        "With a 2-D latent, log p(x) = log ∫ p(x|z) p(z) dz needs no bound: it is a sum over a grid of "
        f"{grid['points_per_axis']} × {grid['points_per_axis']} points, decoded once for all images, that holds "
        f"every image's q(z|x) to 6 sd: [−{HALF_WIDTH:g}, {HALF_WIDTH:g}]² with spacing {SPACING} for the models "
        "whose codes N(0, I) keeps near 0, wider and coarser alike for a model whose codes spread further (the "
        'column "grid"). On the same grid, '
        "E_q[log p(x|z)] is a sum too, so the ELBO of the encoder's q(z|x) and of q*, the best diagonal Gaussian "
        "for each image alone (found by Newton's method on the grid ELBO), are exact as well, their KL in closed "
        "form against N(0, I) and on the grid against a learned prior, each model's log p(x) with its own prior. "
        "Following Cremer, Li & Duvenaud (2018), log p(x) − ELBO(q) splits into the *approximation gap* "
        "log p(x) − ELBO(q*) (what no diagonal Gaussian can do) and the *amortization gap* ELBO(q*) − ELBO(q) "
        "(what one encoder for all images gives up). Mean ± standard error over the first test images, in the units "
        "of the ELBO above; the last columns: the importance-sampled bound's distance to log p(x) at k = "
        f"{k:,} on the first of them, and the error bound of the quadrature (the largest change "
        "of any image's number between the grid and the one of twice its spacing, or a narrower one; in brackets, "
        "the largest change of a mean over the images, the error of the means in this table). A model whose "
        "codes reach far gets a coarser grid; where that is too coarse for its sharpest posteriors (as for the "
        "IWAE-trained model, whose posteriors stay narrow inside its broad q(z|x)), some image's number "
        f"changing by more than {ERROR_TARGET:g} nats on the grid of twice the spacing, the spacing is halved, "
        "the width kept. "
        "Every image's numbers, and the bound at each k from 1 to 5,000, are in the folder's "
        "`posterior_gaps.json`; `posterior_heatmaps.png` draws the posterior of four of them with both ellipses, "
        "`posterior_gaps.png` the gaps and the bound against k."
    )


def _posterior_section(root: Path) -> list[str]:
    """log p(x) by quadrature, ELBO(q*), ELBO(q) and the two gaps of each folder with a posterior_gaps.json."""
    rows, folders, refined, coarse = [], [], [], []
    for e in EXPERIMENTS.values():
        path = root / e.out_dir / "posterior_gaps.json"
        if not path.is_file():
            continue
        gaps = read_json(path, "posterior_gaps")
        s = gaps["summary"]
        metrics = root / e.out_dir / "metrics.json"
        rows.append(
            _posterior_row(e, read_json(metrics, "metrics") if metrics.is_file() else {}, s, gaps["convergence"])
        )
        folders.append(f'"{e.out_dir}"')
        refined.append((rows[-1][0], rows[-1][1], s))
        if max(s["error_bound"].values()) > COARSE:
            coarse.append(
                f"{markdown_text(rows[-1][0])}: an image's number may be off by up to "
                f"{max(s['error_bound'].values()):.2f} nats, the means by {mean_error(gaps['convergence']):.1g}"
            )
    if not rows:
        return []
    coarse_paragraph = [
        "A grid scaled to how far a model's q(z|x) reaches can be coarser than its posteriors need where they stay "
        "narrow inside a broad q(z|x) (an importance-weighted bound trains q as a proposal, not as the posterior): "
        f"{'; '.join(coarse)}.",
        "",
    ]
    return [
        "## The true posterior of the 2-D VAEs: log p(x) and the two gaps",
        "",
        _posterior_paragraph(s["grid"], s["is_bound"]["k"]),  # the grid and k of the last folder read
        "",
        markdown_table(POSTERIOR_COLUMNS, rows),
        "",
        *(coarse_paragraph if coarse else []),
        *refinement_block(refined),
        "```bash",
        f"python -m latentlab posterior {' '.join(folders)}   # a few minutes per folder on a 2-core CPU",
        "```",
        "",
    ]
