"""What ``python -m latentlab surgery FOLDER`` computes and writes: the average KL(q(z|x) ‖ p(z)) of a VAE's
10,000 test images split into I(x; z) and KL(q(z) ‖ p(z)) (Hoffman & Johnson 2016; core/surgery.py).

Into metrics.json under "elbo_surgery": the split, its method (quadrature on the grid for a 2-D z, the mixture
estimator otherwise), the image count and the ceiling log N, the model's sha256 (metrics.json keeps the entry
while model.pt is the same, core/surgery.saved). A 2-D z also gets the grid, its error, the mixture
estimator's numbers as a check, and ``aggregate_posterior.png``: q(z) beside p(z), their log-ratio, and decoded
images from the hole, where p(z) puts mass and q(z) does not (log q/p < HOLE), with the share of prior draws
that land there. Every draw is seeded with the run's seed: a rerun writes the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..core import surgery
from ..core.files import file_sha256, write_json_atomic
from ..core.passes import cpu_prior, posterior_parameters
from ..core.posterior import Grid
from ..core.recorded import read_json

FIGURE_FILE = "aggregate_posterior.png"
HOLE = -2.0  # log q(z)/p(z) below this: the prior puts at least e^2 = 7.4 times the codes' density there
PRIOR_DRAWS = 100_000
HOLE_IMAGES = 8


def hole_share(log_ratio: torch.Tensor, grid: Grid, prior, seed: int) -> tuple[float, float]:
    """The share of PRIOR_DRAWS draws z ~ p(z) (seeded) whose nearest grid point has log q/p < HOLE, and its
    binomial standard error. A draw beyond the grid counts as in the hole: q(z) is below its mass outside there."""
    generator = torch.Generator().manual_seed(seed)
    z = prior.sample(PRIOR_DRAWS, generator=generator).double()
    index = torch.round(z / grid.spacing).long() + grid.steps
    inside = ((index >= 0) & (index < grid.size)).all(1)
    index = index.clamp(0, grid.size - 1)
    in_hole = (log_ratio[index[:, 0], index[:, 1]] < HOLE) | ~inside
    share = in_hole.double().mean().item()
    return share, math.sqrt(share * (1 - share) / PRIOR_DRAWS)


def hole_points(log_ratio: torch.Tensor, log_prior: torch.Tensor, grid: Grid, count: int = HOLE_IMAGES) -> torch.Tensor:
    """Up to ``count`` grid points of the hole where p(z) is highest, each a tenth of the grid's half-width (0.6
    for N(0, I)) from those already taken, so that they decode to different images: (count, 2) float64."""
    order = torch.argsort(torch.where(log_ratio < HOLE, log_prior, -math.inf).flatten(), descending=True, stable=True)
    points = grid.points()
    taken: list[torch.Tensor] = []
    for g in order.tolist():
        if log_ratio.flatten()[g] >= HOLE or len(taken) == count:
            break
        if all((points[g] - t).norm() >= grid.half_width / 10 for t in taken):
            taken.append(points[g])
    return torch.stack(taken) if taken else torch.zeros(0, 2, dtype=torch.float64)


def two_d_split(mean: torch.Tensor, log_var: torch.Tensor, prior, seed: int) -> tuple[dict, dict]:
    """The quadrature's record for metrics.json, with the grid, its error and the mixture estimator's check, and
    the arrays the figure needs."""
    split, extra = surgery.of_posteriors(mean, log_var, prior, seed)
    grid = extra["grid"]
    check = surgery.mixture(mean, log_var, prior, seed)
    r = lambda value: round(float(value), 6)  # noqa: E731
    record = split.record() | {
        "grid": grid.describe(),
        "grid_error": surgery.significant(extra["grid_error"]),
        "mass_outside_grid": surgery.significant(extra["mass_outside_grid"]),
        "mixture_check": {
            "aggregate_kl": r(check.aggregate_kl),
            "aggregate_kl_se": surgery.significant(check.aggregate_kl_se),
            "mutual_information": r(check.mutual_information),
            "mutual_information_se": surgery.significant(check.mutual_information_se),
        },
    }
    log_prior = grid.log_prior()
    log_ratio = extra["mass"].clamp(min=1e-300).log() - grid.log_cell - log_prior
    share, share_se = hole_share(log_ratio, grid, prior, seed)
    record["hole"] = {
        "log_ratio_below": HOLE,
        "prior_share": r(share),
        "prior_share_se": surgery.significant(share_se),
        "prior_draws": PRIOR_DRAWS,
        "code_mass": r(extra["mass"][log_ratio < HOLE].sum()),
    }
    return record, {
        "grid": grid,
        "mass": extra["mass"],
        "log_prior": log_prior,
        "log_ratio": log_ratio,
        "points": hole_points(log_ratio, log_prior, grid),
    }


def write_surgery(folder: Path, model, test, seed: int, title: str) -> dict:
    """The split for ``folder``'s model on its test split into metrics.json, and for a 2-D z without labels the
    figure; returns the record."""
    from .surgery_figures import aggregate_posterior_figure

    folder = Path(folder)
    model.eval()
    mean, log_var = posterior_parameters(model, test)
    prior = cpu_prior(model)
    if mean.shape[1] == 2:
        record, arrays = two_d_split(mean, log_var, prior, seed)
        if not model.traits.conditional:  # a conditional decoder needs a label to show the hole
            with torch.no_grad():
                decoded = model.decode(arrays["points"].float().to(next(model.parameters()).device)).float().cpu()
            aggregate_posterior_figure(
                _density(arrays["mass"], arrays["grid"]),
                arrays["log_prior"].exp().numpy(),
                arrays["log_ratio"].numpy(),
                arrays["grid"].half_width,
                arrays["points"].numpy(),
                decoded[:, 0].numpy(),
                record,
                title,
                folder / FIGURE_FILE,
            )
    else:
        record = surgery.of_posteriors(mean, log_var, prior, seed)[0].record()
    record["model_sha256"] = file_sha256(folder / "model.pt")
    metrics = read_json(folder / "metrics.json", "metrics")
    metrics[surgery.METRICS_KEY] = record
    write_json_atomic(metrics, folder / "metrics.json")
    print(
        f"{folder}: average KL {record['average_kl']:.3f} nats = I(x; z) {record['mutual_information']:.3f} + "
        f"KL(q(z) ‖ p(z)) {record['aggregate_kl']:.3f} ± {record['aggregate_kl_se']:.2g} ({record['method']}, "
        f"{record['images']:,} test images; I can be at most log N = {record['ceiling_log_n']:.2f})",
        flush=True,
    )
    return record


def _density(mass: torch.Tensor, grid: Grid) -> np.ndarray:
    return (mass / grid.spacing**2).numpy()
