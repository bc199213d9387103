"""RESULTS.md's section on a learned prior (issue 47): each model whose recipe differs from another's by its
kind alone, both with a prior and neither given the label (the VampPrior VAE and the VAE), set side by side:
the test ELBO, the importance-sampled bound, the exact log p(x) of a 2-D latent and the 5-NN accuracy, each
as mean ± sd over the seeds recorded in its seeds.json, and whether the seeds resolve the difference."""

from __future__ import annotations

import math
from pathlib import Path

from ..core.kinds import traits
from ..core.recorded import read_json
from ..experiments import EXPERIMENTS
from ..studies.records import default_runs, recipe_changes
from .names import experiment_label
from .tables import markdown_table, plus_minus, spread

ROWS = (
    ("test ELBO", "test_elbo", 2),
    ("importance-sampled bound", "test_log_likelihood_is", 2),
    ("5-NN accuracy of the codes", "knn5_accuracy", 3),
    ("test MSE", "test_mse", 4),
)


def _unconditional_with_prior(experiment) -> bool:
    kind = traits(experiment.config().model)
    return kind.prior and not kind.conditional


def prior_pairs() -> list[tuple]:
    """(baseline, other) for each two experiments that differ by their model kind alone, both with a prior and
    neither conditional; the baseline is the first in the registry's order (the VAE before the VampPrior VAE)."""

    def recipe(e):
        return {k: v for k, v in e.config().recipe().items() if k != "model"}

    with_prior = [e for e in EXPERIMENTS.values() if _unconditional_with_prior(e)]
    return [
        (a, b)
        for i, a in enumerate(with_prior)
        for b in with_prior[i + 1 :]
        if recipe(a) == recipe(b) and a.config().model != b.config().model
    ]


def _cell(runs: list[dict], metrics: dict, key: str, digits: int) -> str:
    found = plus_minus(runs, key, digits)
    if found is not None:
        return f"{found} (n={sum(run.get(key) is not None for run in runs)})"
    return "–" if metrics.get(key) is None else f"{metrics[key]:.{digits}f} (one run)"


def _resolved(a: list[dict], b: list[dict], key: str, digits: int) -> str:
    """The difference of the seed means and whether it is more than twice its standard error."""
    found_a, found_b = spread(a, key), spread(b, key)
    if found_a is None or found_b is None:
        return "fewer than two seeds of one of them: not yet resolved"
    (mean_a, sd_a, n_a), (mean_b, sd_b, n_b) = found_a, found_b
    difference, se = mean_b - mean_a, math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b)
    verdict = "resolved" if abs(difference) > 2 * se else "within what the seeds resolve"
    return f"{difference:+.{digits}f} ± {se:.{digits}f}: {verdict}"


def _log_px(folder: Path) -> tuple[float, float, int] | None:
    path = folder / "posterior_gaps.json"
    if not path.is_file():
        return None
    summary = read_json(path, "posterior_gaps")["summary"]
    return summary["log_px"]["mean"], summary["log_px"]["se"], summary["images"]


def prior_section(root: Path = Path(".")) -> list[str]:
    blocks = []
    for a, b in prior_pairs():
        folders = [root / e.out_dir for e in (a, b)]
        if not all((folder / "metrics.json").is_file() for folder in folders):
            continue
        metrics = [read_json(folder / "metrics.json", "metrics") for folder in folders]
        if any(recipe_changes(e, m) for e, m in zip((a, b), metrics, strict=True)):
            continue  # a folder retrained with another recipe: the two no longer differ by their prior alone
        runs = [default_runs(e, folder) for e, folder in zip((a, b), folders, strict=True)]
        rows = [
            [
                what,
                *(_cell(r, m, key, digits) for r, m in zip(runs, metrics, strict=True)),
                _resolved(*runs, key, digits),
            ]
            for what, key, digits in ROWS
        ]
        exact = [_log_px(folder) for folder in folders]
        if all(exact):
            (pa, sa, na), (pb, sb, nb) = exact
            rows.insert(
                2,
                [
                    "log p(x), exact (quadrature, first test images)",
                    f"{pa:.2f} ± {sa:.2f} (n={na:,} images)",
                    f"{pb:.2f} ± {sb:.2f} (n={nb:,} images)",
                    "the committed models only; the ± is the standard error over images",
                ],
            )
        kl = [m.get("test_kl_method", "closed form") for m in metrics]
        blocks += [
            markdown_table(["", experiment_label(a), experiment_label(b), "difference (b − a), seeds"], rows),
            "",
            f"KL term: {kl[0]} ({experiment_label(a)}); {kl[1]} ({experiment_label(b)}).",
            "",
        ]
    if not blocks:
        return []
    return [
        "## A learned prior beside N(0, I)",
        "",
        "Each pair of models below differs by one of its three distributions, the prior p(z), every other setting "
        "the same: the VampPrior (Tomczak & Welling 2018) is the mean of the encoder's posteriors at learned "
        "pseudo-inputs, and can follow where the codes go instead of pulling them towards N(0, I). Its KL term "
        "has no closed form, so its test ELBO averages a one-sample estimate of it over the 10,000 test images. "
        "Each number is mean ± sd over the seeds recorded in the folder's seeds.json (`python -m latentlab seeds`), "
        "or the committed model's where fewer than two are; the last column is the difference of the seed means "
        "± its standard error, resolved when more than twice that.",
        "",
        *blocks,
    ]
