"""RESULTS.md's table of the amortization gap closed step by step (issue 48), under the true posterior's table:
from the "refinement" entry of each 2-D VAE's posterior_gaps.json summary (publish/posterior_gaps.py). The
sentences under the table are made from the same numbers: the share of the amortization gap closed after a few
steps, and what the refined q does to the importance-sampled bound."""

from __future__ import annotations

from ..core.posterior import HALF_WIDTH
from .tables import markdown_table, markdown_text

SHOWN_STEPS = (0, 1, 5, 20, 100)  # of the recorded steps, those the table shows (all are in posterior_gaps.json)
HEADER = [
    "model",
    "data set",
    "test images",
    *(f"ELBO after {t} step{'' if t == 1 else 's'}" for t in SHOWN_STEPS),
    "ELBO(q*)",
    "log p(x)",
    "ELBO(q*) − ELBO after 100",
    "images short of q*",
    "IS bound, encoder's q",
    "IS bound, refined q",
    "refined − encoder's",
]


def _paragraph(s: dict) -> str:
    """What the table measures and how, given one folder's summary ``s`` (the settings are every folder's)."""
    r = s["refinement"]
    return (
        "**The amortization gap closed step by step.** Starting from the encoder's q(z|x), each image's "
        f"(mean, log_var) is refined by {r['optimiser']} steps ({r['learning_rate']:g} in log_var, in the mean "
        f"{r['learning_rate']:g} times the grid's half-width / {HALF_WIDTH:g}) on its own exact ELBO "
        "on the grid above, the number the gaps are measured in (Cremer, Li & Duvenaud 2018; refining the "
        "encoder's answer per image is semi-amortized inference, Kim et al. 2018). The ELBO after 0 steps is "
        "ELBO(q); the steps climb towards ELBO(q*) as far as the posterior mode the encoder's q sits by allows: "
        f"an image whose refined q ends more than {r['short_of_q_star']['threshold']:g} nats below ELBO(q*) "
        '(the column "images short of q*") is, but for a few still climbing, one whose encoder\'s q sits by '
        "another mode of its posterior than q*'s, which local steps do not leave. "
        "Means over the same test images as the table above; the distance to ELBO(q*) ± its standard error "
        "image by image. The last columns: the importance-sampled bound at "
        f"k = {r['is_bound']['k']} on every one of them with the encoder's q and with the refined q as proposal "
        "(the same seeded draws for both), and their difference ± its standard error. "
        "`refinement.png` in each folder draws the ELBO against the number of steps; every image's ELBO after "
        f"each of {', '.join(map(str, r['steps']))} steps and its refined q are in `posterior_gaps.json`."
    )


def _row(label: str, dataset: str, s: dict) -> list[str]:
    r = s["refinement"]
    elbo = dict(zip(r["steps"], r["elbo"], strict=True))
    below = r["below_q_star"][-1]
    short = r["short_of_q_star"]["images"]
    bound = r["is_bound"]
    return [
        label,
        dataset,
        f"{s['images']:,}",
        *(f"{elbo[t]['mean']:.2f}" for t in SHOWN_STEPS),
        f"{s['elbo_q_star']['mean']:.2f}",
        f"{s['log_px']['mean']:.2f}",
        f"{below['mean']:.2f} ± {below['se']:.2f}",
        f"{short} ({100 * short / s['images']:.0f}%)",
        f"{bound['encoder']['mean']:.2f}",
        f"{bound['refined']['mean']:.2f}",
        f"{bound['gain']['mean']:+.2f} ± {bound['gain']['se']:.2f}",
    ]


def _closed(label: str, s: dict) -> str:
    """The share of the amortization gap, ELBO(q*) − ELBO(q) in the means, closed after some of the steps."""
    r = s["refinement"]
    elbo = {t: e["mean"] for t, e in zip(r["steps"], r["elbo"], strict=True)}
    gap = s["elbo_q_star"]["mean"] - elbo[0]
    shares = [f"{100 * (elbo[t] - elbo[0]) / gap:.0f}% after {t}" for t in SHOWN_STEPS[1:]]
    gain, short = r["is_bound"]["gain"], r["short_of_q_star"]
    return (
        f"{markdown_text(label)}: of the amortization gap of {gap:.2f} nats, {', '.join(shares)} steps; of the "
        f"{r['below_q_star'][-1]['mean']:.2f} left, {short['mean_contribution']:.2f} is the {short['images']} images "
        "short of q*; "
        f"the bound at k = {r['is_bound']['k']} with the refined q as proposal, less the encoder's: "
        f"{gain['mean']:+.2f} ± {gain['se']:.2f}."
    )


def refinement_block(entries: list[tuple[str, str, dict]]) -> list[str]:
    """The paragraph, table and sentences of the folders ``entries`` (label, data set, posterior_gaps.json summary)
    whose summary has a refinement; none if no summary has one."""
    entries = [e for e in entries if "refinement" in e[2]]
    if not entries:
        return []
    return [
        _paragraph(entries[-1][2]),
        "",
        markdown_table(HEADER, [_row(*e) for e in entries]),
        "",
        " ".join(_closed(label, s) for label, _, s in entries),
        "",
    ]
