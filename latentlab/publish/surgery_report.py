"""RESULTS.md's section on ELBO surgery (issue 48): each VAE's average KL split into I(x; z) and KL(q(z) ‖ p(z)),
from the "elbo_surgery" entry that ``python -m latentlab surgery`` writes into its metrics.json. The sentences
under the table are made from the same numbers: the share of the KL that is the prior's misfit at each latent
size, the models whose I(x; z) reaches the estimator's ceiling, and each learned prior beside N(0, I)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import NamedTuple

from ..core.kinds import traits
from ..core.recorded import read_json
from ..experiments import EXPERIMENTS
from ..studies.records import default_runs, recipe_changes
from .folder_labels import folder_label
from .prior_report import prior_pairs
from .tables import decimals, markdown_table, markdown_text, over_seeds

KEY = "elbo_surgery"
NEAR_CEILING = 0.1  # nats: an I(x; z) this close to log N says only that the N images' codes barely overlap
HEADER = [
    "model",
    "average KL",
    "I(x; z)",
    "KL(q(z) ‖ p(z))",
    "misfit share",
    "method",
    "ceiling log N",
    "I(x; z): seeds",
    "KL(q(z) ‖ p(z)): seeds",
]


class Entry(NamedTuple):
    """A folder's split, with what its metrics.json says of the run it holds (which may not be its experiment's)."""

    label: str  # the run's name in the tables (publish/names.py, folder_label)
    latent_dim: int
    conditional: bool
    own_recipe: bool  # the folder holds its experiment's recipe, as a comparison of two experiments needs
    split: dict  # metrics.json's elbo_surgery entry
    seeds: list[dict]  # the splits of the seeds of the experiment's recipe whose records hold one (seeds.json)


def surgery_entries(root: Path) -> dict:
    """{folder: Entry} for the folders under ``root`` whose metrics.json has an elbo_surgery entry."""
    found = {}
    for e in EXPERIMENTS.values():
        path = root / e.out_dir / "metrics.json"
        if path.is_file() and KEY in (metrics := read_json(path, "metrics")):
            conditional = traits(metrics["model"]).conditional
            own = not recipe_changes(e, metrics)
            # a folder retrained with another recipe is not what its experiment's seeds are spread around
            seeds = [run[KEY] for run in default_runs(e, root / e.out_dir) if KEY in run] if own else []
            label = folder_label(e, metrics)
            found[e.out_dir] = Entry(label, metrics["latent_dim"], conditional, own, metrics[KEY], seeds)
    return found


def _with_error(value: float, error: float, digits: int) -> str:
    """ "value ± error", both to ``digits`` decimals, or more where the error would print as 0 (two significant
    figures of it, as the seeds' spreads are printed); "(± under 0.001)" below what three decimals show."""
    if error < 0.001:
        return f"{value:.{digits}f} (± under 0.001)"
    shown = decimals(error, digits)
    return f"{value:.{shown}f} ± {error:.{shown}f}"


def _row(entry: Entry) -> list[str]:
    s = entry.split
    return [
        entry.label + (" (given its label)" if entry.conditional else ""),
        f"{s['average_kl']:.2f}",
        _with_error(s["mutual_information"], s["mutual_information_se"], 2),
        _with_error(s["aggregate_kl"], s["aggregate_kl_se"], 3),
        f"{100 * s['aggregate_kl'] / s['average_kl']:.0f}%",
        s["method"],
        f"{s['ceiling_log_n']:.2f}",
        over_seeds(entry.seeds, "mutual_information", 2) or "–",
        over_seeds(entry.seeds, "aggregate_kl", 3) or "–",
    ]


def _misfit_sentences(found: dict) -> list[str]:
    """The range of the misfit's share of the KL at each latent size, and the models at the ceiling."""
    by_size: dict[int, list[float]] = {}
    for entry in found.values():
        by_size.setdefault(entry.latent_dim, []).append(100 * entry.split["aggregate_kl"] / entry.split["average_kl"])
    sentences = [
        f"With a {size}-D latent, KL(q(z) ‖ p(z)) is {min(shares):.0f}–{max(shares):.0f}% of the average KL."
        if len(shares) > 1
        else f"With a {size}-D latent, KL(q(z) ‖ p(z)) is {shares[0]:.0f}% of the average KL."
        for size, shares in sorted(by_size.items())
    ]
    ceiling = [
        markdown_text(entry.label)
        for entry in found.values()
        if entry.split["ceiling_log_n"] - entry.split["mutual_information"] < NEAR_CEILING
    ]
    if ceiling:
        sentences.append(
            f"The I(x; z) of {'; '.join(ceiling)} is within {NEAR_CEILING} nats of log N: the test "
            "images' codes barely overlap, so N images resolve only that I(x; z) is at least that; the "
            "KL(q(z) ‖ p(z)) measured is that of these images' mixture, and over the data's distribution, where "
            "I(x; z) can be larger, the prior's misfit would be smaller."
        )
    return sentences


def _prior_sentences(found: dict) -> list[str]:
    """Each learned prior's misfit beside that of the same recipe with N(0, I), where both folders hold their
    experiment's recipe (one retrained with another would not differ by its prior alone)."""
    sentences = []
    for a, b in prior_pairs():
        pair = [found.get(a.out_dir), found.get(b.out_dir)]
        if all(entry is not None and entry.own_recipe for entry in pair):
            (la, sa), (lb, sb) = [(markdown_text(entry.label), entry.split) for entry in pair]
            sentences.append(
                f"{lb} against {la}: KL(q(z) ‖ p(z)) {sb['aggregate_kl']:.3f} "
                f"against {sa['aggregate_kl']:.3f} nats, of an average KL of {sb['average_kl']:.2f} against "
                f"{sa['average_kl']:.2f}."
            )
    return sentences


def surgery_section(root: Path = Path(".")) -> list[str]:
    found = surgery_entries(root)
    if not found:
        return []
    folders = " ".join(shlex.quote(folder.as_posix()) for folder in found)
    seeded = [e.name for e in EXPERIMENTS.values() if e.out_dir in found and found[e.out_dir].seeds]
    command = f"python -m latentlab seeds --only {' '.join(seeded)}"
    seeds_line = [f"{command}   # the seeds' splits (and trains any seed not recorded)"] if seeded else []
    return [
        "## Where the KL goes: information and the prior's misfit",
        "",
        "The KL term of the ELBO, averaged over the 10,000 test images, splits exactly into the mutual information "
        "I(x; z) between an image and its code under q, and KL(q(z) ‖ p(z)), how far the aggregate posterior "
        "q(z), the mean of the images' q(z|x), is from the model's own prior (Hoffman & Johnson 2016, \"ELBO "
        'surgery"): average KL = I(x; z) + KL(q(z) ‖ p(z)), in nats. Only the first part is information; the '
        "second is what the prior costs where it puts mass the codes do not use, or the codes go where it puts "
        "little. With a 2-D latent the split is computed by quadrature on a grid (its error bound from the grid of "
        "twice the spacing); otherwise by the mixture of all 10,000 posteriors, one draw from each, whose estimate "
        "of I(x; z) cannot exceed log N, the most N images can tell (± its standard error). The ± is the grid's "
        "error bound for the quadrature, the standard error for the mixture. A conditional model's "
        "q(z|x, y) is given each image's own label, and its prior is the same for every label. The committed "
        "model of each folder, and in the last two columns the mean ± sd over the seeds of its recipe whose "
        "models the seed study had at hand when it measured the split (n; seeds.json's `elbo_surgery`: the study "
        "does not train a model again for it).",
        "",
        markdown_table(HEADER, [_row(entry) for entry in found.values()]),
        "",
        " ".join(_misfit_sentences(found) + _prior_sentences(found)) + " The 2-D folders' `aggregate_posterior.png` "
        "draws q(z) beside p(z), their log-ratio, and images decoded where p(z) puts mass and q(z) does not, with "
        "the share of prior draws that land there (`elbo_surgery.hole` in metrics.json).",
        "",
        "```bash",
        f"python -m latentlab surgery {folders}   # under a minute per folder on a 2-core CPU",
        *seeds_line,
        "```",
        "",
    ]
