"""RESULTS.md's section "Every 2-D model by its exact log p(x)" (issue 48): each 2-D model with a likelihood bound,
by log p(x) itself (core/log_likelihood.py) beside the bounds that approximate it, with the seeds' spread.

Per seed, log p(x) and the exact ELBO of the encoder's q on the first test images are in its record of seeds.json
(the study computes them beside the evaluation); the committed model's own numbers are its folder's: log p(x) and
the importance-sampled bound with the encoder's q at k = 100 on the same images from posterior_gaps.json, or, for
a conditional model, metrics.json's "log_px_quadrature" (its log p(x|y), and log p(x) = log sum_y p(y) p(x|y))."""

from __future__ import annotations

import math
from pathlib import Path

from ..core import kinds, posterior
from ..core.kept import LOG_PX_KEY, saved_entry
from ..core.recorded import read_json
from ..experiments import EXPERIMENTS
from ..studies.records import default_runs, recipe_changes
from .folder_labels import folder_label
from .names import dataset_name
from .tables import markdown_table, markdown_text, over_seeds, plus_minus, spread


def _columns(bound_samples: int, bound_test_images: int, k: str) -> list[str]:
    return [
        "model",
        "data set",
        "log p(x), exact: seeds",
        "committed model",
        "ELBO, same images: seeds",
        "log p(x) − ELBO",
        f"log p(x) − IS bound ({k}), committed",
        "test ELBO (10,000 images): seeds",
        f"IS bound (k = {bound_samples}, {bound_test_images:,} images): seeds",
    ]


def _flat(runs: list[dict], part: str) -> list[dict]:
    """Each run's quadrature ``part`` ("marginal", "given_y") as flat keys for ``spread``: log_px, elbo, elbo_gap."""
    out = []
    for run in runs:
        q = run.get(LOG_PX_KEY, {}).get(part)
        if q is not None:
            out.append({"log_px": q["mean"], **{k: q[k]["mean"] for k in ("elbo", "elbo_gap") if k in q}})
    return out


def _seeds(runs: list[dict], key: str, metrics: dict | None = None, digits: int = 2) -> str:
    """mean ± sd over the seeds (n), one seed's number, or else the committed model's in ``metrics``."""
    found = over_seeds(runs, key, digits)
    if found is not None:
        return found
    return f"{metrics[key]:.{digits}f} (one run)" if metrics and metrics.get(key) is not None else "–"


def _committed(folder: Path, part: str, summary: dict | None) -> tuple[float | None, str, str]:
    """The committed model's log p(x) (or None), as "mean ± se (N images)", and its IS bound's distance to it with the
    encoder's q as proposal on the same images; each only where computed from the present model.pt (``summary``,
    the posterior command's, or metrics.json's entry)."""
    s = summary if part == "marginal" else None
    if s is not None:
        encoder = s["refinement"]["is_bound"]["encoder"]["mean"] if "refinement" in s else None
        distance = "–" if encoder is None else f"{s['log_px']['mean'] - encoder:.2f}"
        shown = f"{s['log_px']['mean']:.2f} ± {s['log_px']['se']:.2f} ({s['images']} images)"
        return s["log_px"]["mean"], shown, distance
    q = (saved_entry(folder, LOG_PX_KEY) or {}).get(part)
    return (
        (None, "–", "–") if q is None else (q["mean"], f"{q['mean']:.2f} ± {q['se']:.2f} ({q['images']} images)", "–")
    )


def _rows(
    e, metrics: dict, runs: list[dict], folder: Path, summary: dict | None
) -> list[tuple[str, list[str], list[dict], float | None]]:
    """(what the row is of, its cells, its seeds' flat numbers, the committed model's log p(x)): one row, or two for
    a conditional model."""
    label, data = folder_label(e, metrics), dataset_name(metrics.get("dataset", "mnist"))
    conditional = kinds.traits(e.config().model).conditional
    parts = [("given_y", f"{label}: log p(x|y)"), ("marginal", f"{label}: log p(x) = log Σ_y p(y) p(x|y)")]
    out = []
    for part, name in parts if conditional else [("marginal", label)]:
        flat = _flat(runs, part)
        committed_log_px, committed, distance = _committed(folder, part, summary)
        no_bound = part == "marginal" and conditional  # its ELBO and IS bound are of log p(x|y), not of this
        out.append(
            (
                part,
                [
                    name,
                    data,
                    _seeds(flat, "log_px"),
                    committed,
                    "–" if no_bound else _seeds(flat, "elbo"),
                    "–" if no_bound else _seeds(flat, "elbo_gap"),
                    distance,
                    "–" if no_bound else _seeds(runs, "test_elbo", metrics),
                    "–" if no_bound else _seeds(runs, "test_log_likelihood_is", metrics),
                ],
                flat,
                committed_log_px,
            )
        )
    return out


def _ranking(found: list[tuple[str, list[dict], float | None]], images: str) -> str:
    """The models of one data set and decoder, ranked by log p(x) on the same first test images: by the seeds' mean
    where at least two models have two seeds measured, each against the first with the difference's standard error
    over the seeds (the images are the same for every seed, so the images' own spread is not in it); and by the
    committed models' log p(x); the models without two seeds measured are named."""
    measured = [(name, spread(flat, "log_px")) for name, flat, _ in found]
    ranked = sorted([(n, s) for n, s in measured if s], key=lambda pair: -pair[1][0])
    sentences = []
    if len(ranked) >= 2:
        best_name, (best, sd_best, n_best) = ranked[0]
        parts = []
        for name, (mean, sd, n) in ranked[1:]:
            se = math.sqrt(sd_best**2 / n_best + sd**2 / n)
            verdict = "resolved" if best - mean > 2 * se else "within what the seeds resolve"
            parts.append(f"{markdown_text(name)} {mean - best:+.2f} ± {se:.2f} ({verdict})")
        sentences.append(
            f"Highest log p(x) on {images} test images, over the seeds: {markdown_text(best_name)}, "
            f"{best:.2f}; against it: {'; '.join(parts)}."
        )
    committed = sorted([(value, name) for name, _, value in found if value is not None], reverse=True)
    if len(committed) >= 2:
        order = ", ".join(f"{markdown_text(name)} {value:.2f}" for value, name in committed)
        sentences.append(f"The committed models, highest first: {order}.")
    unmeasured = [markdown_text(name) for name, s in measured if not s]
    if unmeasured and len(found) >= 2:
        sentences.append(f"Fewer than two seeds measured yet: {'; '.join(unmeasured)}.")
    return " ".join(sentences)


def log_likelihood_section(root: Path = Path(".")) -> list[str]:
    """The section: a row per 2-D model with a likelihood bound whose folder is here (two for a conditional one),
    the ranking within each data set and decoder, a conditional model's label paragraph, and the commands."""
    rows, by_data, commands, conditionals, images, ks = [], {}, [], [], set(), set()
    for e in EXPERIMENTS.values():
        config = e.config()
        folder = root / e.out_dir
        if not (kinds.traits(config.model).likelihood_bound and config.latent_dim == 2 and folder.is_dir()):
            continue  # the models core/log_likelihood.py measures (its ``applies``)
        metrics_path = folder / "metrics.json"
        metrics = read_json(metrics_path, "metrics") if metrics_path.is_file() else {}
        runs = [] if recipe_changes(e, metrics) else default_runs(e, folder)  # seeds of the recipe it holds
        summary = posterior.saved_summary(folder)  # the posterior command's, of the present model.pt
        for part, cells, flat, committed in _rows(e, metrics, runs, folder, summary):
            rows.append(cells)
            if part == "marginal":  # ranked with the models of its data set and decoder, in the same units
                by_data.setdefault((cells[1], config.likelihood), []).append((cells[0], flat, committed))
        commands.append(f"'{e.out_dir}'")
        kept = saved_entry(folder, LOG_PX_KEY)
        images |= {q["marginal"]["images"] for q in [kept, *(run.get(LOG_PX_KEY) for run in runs)] if q}
        ks |= {summary["refinement"]["is_bound"]["k"]} if summary and "refinement" in summary else set()
        if kinds.traits(config.model).conditional and kept is not None:
            conditionals.append((folder_label(e, metrics), kept, runs))
    if not rows:
        return []
    first = f"the first {images.pop():,}" if len(images) == 1 else "the first"  # one count, as the records hold it
    k = f"k = {ks.pop()}" if len(ks) == 1 else "the encoder's q"
    config = next(iter(EXPERIMENTS.values())).config()
    columns = _columns(config.bound_samples, config.bound_test_images, k)
    rankings = [text for found in by_data.values() if (text := _ranking(found, first))]
    return [
        "## Every 2-D model by its exact log p(x)",
        "",
        "Which model is best is a question about log p(x), which every bound above only approximates from below. "
        "With a 2-D latent it is computed (core/log_likelihood.py): by quadrature on a grid twice as coarse as the "
        "posterior command's above (scaled alike where the codes reach further; each record gives its grid), "
        f"on {first} test images, with its error bound (the mean's largest change on the "
        "grid of twice the spacing or a narrower one) in each record; beside it the exact ELBO of the encoder's q "
        "on the same grid and images, and how far it falls short, image by image. Each seed's numbers are in the "
        "folder's seeds.json (`python -m latentlab seeds`, which measures them for every 2-D seed it runs), mean ± "
        "sd over the seeds (n); the committed model's log p(x) ± its standard error over the images, and its "
        f"importance-sampled bound's distance ({k}) on the same images, from the posterior command. A "
        "conditional model has two rows: log p(x|y) at each image's own label, which its ELBO and bound are of, and "
        "its log p(x) = log Σ_y p(y) p(x|y), one quadrature per label, p(y) the training set's class frequencies: "
        "the only one of its numbers that compares with an unconditional model's.",
        "",
        markdown_table(columns, rows),
        "",
        *([" ".join(rankings), ""] if rankings else []),
        *(line for conditional in conditionals for line in _conditional_paragraph(*conditional)),
        "```bash",
        f"python -m latentlab posterior {' '.join(commands)}   # the committed models; a few minutes per folder",
        "python -m latentlab seeds --only "
        + " ".join(e.name for e in EXPERIMENTS.values() if f"'{e.out_dir}'" in commands)
        + "   # every seed's log p(x) with its other numbers",
        "```",
        "",
    ]


def _conditional_paragraph(label: str, q: dict, runs: list[dict]) -> list[str]:
    """What a conditional model's two log-likelihoods say: the label's information, and Bayes' rule, for the
    committed model and over the seeds that recorded them."""
    information, given, marginal = q["label_information"], q["given_y"], q["marginal"]
    seeds = [
        {"information": r[LOG_PX_KEY]["label_information"]["mean"], "bayes": r[LOG_PX_KEY]["bayes_accuracy"]}
        for r in runs
        if "label_information" in r.get(LOG_PX_KEY, {})
    ]
    over_the_seeds = (
        f" Over {len(seeds)} seeds (mean ± sd): {plus_minus(seeds, 'information', 2)} nats, and Bayes' rule reads "
        f"a share {plus_minus(seeds, 'bayes', 3)} of the labels."
        if len(seeds) > 1
        else ""
    )
    return [
        f"{markdown_text(label)}, the committed model on {marginal['images']} test images: log p(x|y) − log p(x) = "
        f"log p(y|x) − log p(y), the label's information about the image under the model, is "
        f"{information['mean']:.2f} ± {information['se']:.2f} nats ({given['mean']:.2f} against "
        f"{marginal['mean']:.2f}), where a model that read every label with certainty would have "
        f"−E[log p(y)] ≈ log 10 = {math.log(10):.2f}; p(y|x) by Bayes' rule from the exact log p(x|y) of every "
        f"label reads the label of {q['bayes_accuracy']:.1%} of these images.{over_the_seeds}",
        "",
    ]
