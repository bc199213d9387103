"""RESULTS.md's section "Every 2-D model by its exact log p(x)" (issue 48): each 2-D model with a likelihood bound,
by log p(x) itself (core/log_likelihood.py) beside the bounds that approximate it, with the seeds' spread.

Per seed, log p(x) and the exact ELBO of the encoder's q on the first test images are in its record of seeds.json
(the study computes them beside the evaluation); the committed model's own numbers are its folder's: log p(x) and
the importance-sampled bound with the encoder's q at k = 100 on the same images from posterior_gaps.json, or, for
a conditional model, metrics.json's "log_px_quadrature" (its log p(x|y), and log p(x) = log sum_y p(y) p(x|y))."""

from __future__ import annotations

import math
from pathlib import Path

from ..core import kinds, log_likelihood
from ..core.recorded import read_json
from ..experiments import EXPERIMENTS
from ..studies.records import default_runs, recipe_changes
from .folder_labels import folder_label
from .names import dataset_name
from .tables import markdown_table, markdown_text, plus_minus, spread

COLUMNS = [
    "model",
    "data set",
    "log p(x), exact: seeds",
    "committed model",
    "ELBO, same images: seeds",
    "log p(x) − ELBO",
    "log p(x) − IS bound (k = 100), committed",
    "test ELBO (10,000 images): seeds",
    "IS bound (k = 100, 2,000 images): seeds",
]


def _flat(runs: list[dict], part: str) -> list[dict]:
    """Each run's quadrature ``part`` ("marginal", "given_y") as flat keys for ``spread``: log_px, elbo, elbo_gap."""
    out = []
    for run in runs:
        q = run.get(log_likelihood.KEY, {}).get(part)
        if q is not None:
            out.append({"log_px": q["mean"], **{k: q[k]["mean"] for k in ("elbo", "elbo_gap") if k in q}})
    return out


def _seeds(runs: list[dict], key: str, metrics: dict | None = None, digits: int = 2) -> str:
    """mean ± sd over the seeds (n), one seed's number, or else the committed model's in ``metrics``."""
    found = plus_minus(runs, key, digits)
    if found is not None:
        return f"{found} (n={sum(run.get(key) is not None for run in runs)})"
    if runs and runs[0].get(key) is not None:
        return f"{runs[0][key]:.{digits}f} (one seed)"
    return f"{metrics[key]:.{digits}f} (one run)" if metrics and metrics.get(key) is not None else "–"


def _committed(folder: Path, metrics: dict, part: str) -> tuple[str, str]:
    """The committed model's log p(x) ± se over its images, and its IS bound's distance to it at k = 100."""
    path = folder / "posterior_gaps.json"
    if part == "marginal" and path.is_file():
        s = read_json(path, "posterior_gaps")["summary"]
        encoder = s["refinement"]["is_bound"]["encoder"]["mean"] if "refinement" in s else None
        distance = "–" if encoder is None else f"{s['log_px']['mean'] - encoder:.2f}"
        return f"{s['log_px']['mean']:.2f} ± {s['log_px']['se']:.2f} ({s['images']} images)", distance
    q = metrics.get(log_likelihood.KEY, {}).get(part)
    return ("–", "–") if q is None else (f"{q['mean']:.2f} ± {q['se']:.2f} ({q['images']} images)", "–")


def _rows(e, metrics: dict, runs: list[dict], folder: Path) -> list[tuple[str, list[str], list[dict]]]:
    """(what the row is of, its cells, its seeds' flat numbers): one row, or two for a conditional model."""
    label, data = folder_label(e, metrics), dataset_name(metrics.get("dataset", "mnist"))
    conditional = kinds.traits(e.config().model).conditional
    parts = [("given_y", f"{label}: log p(x|y)"), ("marginal", f"{label}: log p(x) = log Σ_y p(y) p(x|y)")]
    out = []
    for part, name in parts if conditional else [("marginal", label)]:
        flat = _flat(runs, part)
        committed, distance = _committed(folder, metrics, part)
        bounds = part == "marginal" and conditional  # no bound here is of this log p(x)
        out.append(
            (
                part,
                [
                    name,
                    data,
                    _seeds(flat, "log_px"),
                    committed,
                    "–" if bounds else _seeds(flat, "elbo"),
                    "–" if bounds else _seeds(flat, "elbo_gap"),
                    distance,
                    "–" if bounds else _seeds(runs, "test_elbo", metrics),
                    "–" if bounds else _seeds(runs, "test_log_likelihood_is", metrics),
                ],
                flat,
            )
        )
    return out


def _ranking(found: list[tuple[str, str, list[dict]]]) -> str:
    """The models of one data set by the seeds' mean log p(x), each against the first (the best) with the
    difference's standard error; a model with fewer than two seeds measured is named apart."""
    measured = [(name, spread(flat, "log_px")) for name, _, flat in found]
    ranked = sorted([(n, s) for n, s in measured if s], key=lambda pair: -pair[1][0])
    if len(ranked) < 2:
        return ""
    best_name, (best, sd_best, n_best) = ranked[0]
    parts = []
    for name, (mean, sd, n) in ranked[1:]:
        se = math.sqrt(sd_best**2 / n_best + sd**2 / n)
        verdict = "resolved" if best - mean > 2 * se else "within what the seeds resolve"
        parts.append(f"{name} {mean - best:+.2f} ± {se:.2f} ({verdict})")
    unmeasured = [name for name, s in measured if not s]
    tail = f" Fewer than two seeds measured yet: {'; '.join(unmeasured)}." if unmeasured else ""
    return f"Highest log p(x) over the seeds: {best_name}, {best:.2f}; against it: {'; '.join(parts)}.{tail}"


def log_likelihood_section(root: Path = Path(".")) -> list[str]:
    rows, by_data, commands, conditional = [], {}, [], None
    for e in EXPERIMENTS.values():
        config = e.config()
        folder = root / e.out_dir
        if not (log_likelihood.applies(kinds.traits(config.model), config.latent_dim) and folder.is_dir()):
            continue
        metrics_path = folder / "metrics.json"
        metrics = read_json(metrics_path, "metrics") if metrics_path.is_file() else {}
        runs = [] if recipe_changes(e, metrics) else default_runs(e, folder)  # seeds of the recipe it holds
        for part, cells, flat in _rows(e, metrics, runs, folder):
            rows.append(cells)
            if part == "marginal":
                by_data.setdefault(cells[1], []).append((cells[0], cells[2], flat))
        commands.append(f"'{e.out_dir}'")
        if kinds.traits(config.model).conditional and log_likelihood.KEY in metrics:
            conditional = (folder_label(e, metrics), metrics[log_likelihood.KEY])
    if not rows:
        return []
    rankings = [text for found in by_data.values() if (text := _ranking(found))]
    return [
        "## Every 2-D model by its exact log p(x)",
        "",
        "Which model is best is a question about log p(x), which every bound above only approximates from below. "
        "With a 2-D latent it is computed (core/log_likelihood.py): by quadrature on a grid of spacing "
        f"{log_likelihood.SPACING} over [−6, 6]² (scaled, wider and coarser alike, where the codes reach further), "
        f"on the first {log_likelihood.IMAGES} test images, with its error bound (the mean's largest change on the "
        "grid of twice the spacing or a narrower one) in each record; beside it the exact ELBO of the encoder's q "
        "on the same grid and images, and how far it falls short, image by image. Each seed's numbers are in the "
        "folder's seeds.json (`python -m latentlab seeds`, which measures them for every 2-D seed it runs), mean ± "
        "sd over the seeds (n); the committed model's log p(x) ± its standard error over the images, and its "
        "importance-sampled bound's distance at k = 100 on the same images, from the posterior command. A "
        "conditional model has two rows: log p(x|y) at each image's own label, which its ELBO and bound are of, and "
        "its log p(x) = log Σ_y p(y) p(x|y), one quadrature per label, p(y) the training set's class frequencies: "
        "the only one of its numbers that compares with an unconditional model's.",
        "",
        markdown_table(COLUMNS, rows),
        "",
        *([" ".join(rankings), ""] if rankings else []),
        *(_conditional_paragraph(*conditional) if conditional else []),
        "```bash",
        f"python -m latentlab posterior {' '.join(commands)}   # the committed models; a few minutes per folder",
        "python -m latentlab seeds --only "
        + " ".join(e.name for e in EXPERIMENTS.values() if f"'{e.out_dir}'" in commands)
        + "   # every seed's log p(x) with its other numbers",
        "```",
        "",
    ]


def _conditional_paragraph(label: str, q: dict) -> list[str]:
    """What a conditional model's two log-likelihoods say: the label's information, and Bayes' rule."""
    information, given, marginal = q["label_information"], q["given_y"], q["marginal"]
    return [
        f"{markdown_text(label)}, the committed model on {marginal['images']} test images: log p(x|y) − log p(x) = "
        f"log p(y|x) − log p(y), the label's information about the image under the model, is "
        f"{information['mean']:.2f} ± {information['se']:.2f} nats ({given['mean']:.2f} against "
        f"{marginal['mean']:.2f}), where a model that read every label with certainty would have "
        f"−E[log p(y)] ≈ log 10 = {math.log(10):.2f}; p(y|x) by Bayes' rule from the exact log p(x|y) of every "
        f"label reads the label of {q['bayes_accuracy']:.1%} of these images.",
        "",
    ]
