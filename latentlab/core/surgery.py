"""ELBO surgery (Hoffman & Johnson 2016): where the KL term of the ELBO goes.

With the N test images x_n taken as the data, uniform over them, the aggregate posterior is the mixture

    q(z) = (1/N) sum_n q(z|x_n)

and the average KL term splits exactly into the information z carries about which image it codes, and the
prior's misfit to the codes:

    (1/N) sum_n KL(q(z|x_n) ‖ p(z))  =  I(x; z)  +  KL(q(z) ‖ p(z))

with I(x; z) = (1/N) sum_n KL(q(z|x_n) ‖ q(z)) the mutual information under q. I(x; z) can never exceed
log N, the entropy of the image index: N images can tell z at most log N nats.

Two ways to the split, both from each image's diagonal Gaussian (mean, log_var) and the model's prior:

  ``quadrature`` (a 2-D z): q(z) on the square grid of posterior.Grid as one matrix product of the per-axis
      masses, q(z_ij) h^2 = (1/N) sum_n q1_n(i) q2_n(j) ((G, N) times (N, G)), and KL(q(z) ‖ p(z)) the grid
      sum of q log q/p. The average KL is in closed form where the prior has one (N(0, I)), else on the grid.
      Its error is read off by doing it again on the grid of spacing 2h, and by I(x; z) computed directly
      (H(q(z)) on the grid minus the mean entropy of the q(z|x_n), in closed form) against the split's.
  ``mixture`` (any z): one z_n ~ q(z|x_n) per image, seeded; log q(z_n) = logsumexp_m log q(z_n|x_m) - log N
      over all N components, exact for the N images' mixture. The z_n are a stratified draw from q(z), so
      KL(q(z) ‖ p(z)) ≈ mean_n [log q(z_n) - log p(z_n)] is unbiased, its standard error sd / sqrt(N). The
      per-image terms log q(z_n|x_n) - log q(z_n) are at most log N (x_n's own component is in the sum), so
      this estimate of I(x; z) stays below that ceiling (up to its standard error where the average KL is in
      closed form): near it, the N images' codes barely overlap, and I(x; z) over the data's distribution,
      and with it the share of the KL that is the prior's misfit, is not resolved by N images.

A conditional model's q(z|x, y), given each image's own label, splits the same way with the prior p(z) it
shares across labels: I is then the information z carries about the (image, label) pair, which, with one
label per image, is I(x; z). Only ``of_model`` knows a model: it encodes a split and picks the method by the
latent size, for the surgery command (publish/surgery.py) and a seed's record (studies/study.py) alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.distributions import Normal

from .distributions import LOG_2PI, diagonal_normal, has_closed_form, kl_divergence
from .kept import SURGERY_KEY
from .passes import cpu_prior, posterior_parameters
from .posterior import Grid, covering_codes, grid_kl, grid_q

METRICS_KEY = SURGERY_KEY  # metrics.json's entry (python -m latentlab surgery), kept while model.pt is
QUADRATURE, MIXTURE = "quadrature", "mixture"
ROW_CHUNK = 512  # images z_n per block of the (N, N) table of log q(z_n|x_m): bounds its memory


@dataclass(frozen=True)
class Split:
    """The average KL split into I(x; z) and KL(q(z) ‖ p(z)), in nats, over ``images`` images."""

    average_kl: float
    mutual_information: float
    aggregate_kl: float
    aggregate_kl_se: float  # the mixture's standard error; the grid's error bound for the quadrature
    mutual_information_se: float  # the same, of I: the mixture's differs where the average KL is sampled too
    method: str
    images: int

    @property
    def ceiling_log_n(self) -> float:
        return math.log(self.images)

    def record(self) -> dict:
        r = lambda value: round(float(value), 6)  # noqa: E731
        return {
            "average_kl": r(self.average_kl),
            "mutual_information": r(self.mutual_information),
            "aggregate_kl": r(self.aggregate_kl),
            "aggregate_kl_se": significant(self.aggregate_kl_se),
            "mutual_information_se": significant(self.mutual_information_se),
            "method": self.method,
            "images": self.images,
            "ceiling_log_n": r(self.ceiling_log_n),
        }


def significant(value: float, digits: int = 3) -> float:
    """``value`` to ``digits`` significant figures: an error of 1e-9 nats is written as one, not as 0.0."""
    return float(f"{float(value):.{digits}g}")


def average_kl(mean: torch.Tensor, log_var: torch.Tensor, grid: Grid) -> float:
    """(1/N) sum_n KL(q(z|x_n) ‖ p(z)) of diagonal Gaussians (N, 2): closed form or on the grid (posterior.grid_kl)."""
    pairs = zip(mean.double().split(4096), log_var.double().split(4096), strict=True)
    return torch.cat([grid_kl(grid, m, v) for m, v in pairs]).mean().item()


def aggregate_masses(mean: torch.Tensor, log_var: torch.Tensor, grid: Grid) -> torch.Tensor:
    """q(z_g) h^2, the aggregate posterior's mass at each grid point, (G, G) float64 [z1 index, z2 index]: the
    mean over the images of q1_n(z1_i) q2_n(z2_j), each axis's masses normalised on the grid (posterior.grid_q)."""
    q1, q2 = grid_q(mean.double(), log_var.double(), grid.axis)  # (N, G) each
    return q1.T @ q2 / len(mean)


def mass_outside(mean: torch.Tensor, log_var: torch.Tensor, grid: Grid) -> float:
    """The share of q(z)'s mass beyond the grid's square, (1/N) sum_n [1 - prod_d P_n(|z_d| <= K h)]: what the
    grid's normalised masses leave out."""
    q = Normal(mean.double(), torch.exp(0.5 * log_var.double()))
    inside = (q.cdf(torch.tensor(grid.half_width)) - q.cdf(torch.tensor(-grid.half_width))).prod(1)
    return (1 - inside).mean().item()


def _grid_split(mean: torch.Tensor, log_var: torch.Tensor, grid: Grid) -> tuple[float, float, float]:
    """(KL(q(z) ‖ p(z)), I(x; z) directly, q(z) as masses) on one grid: the KL as the grid sum of q log q/p, and
    I = H(q(z)) - mean_n H(q(z|x_n)), the entropies of the densities."""
    mass = aggregate_masses(mean, log_var, grid)
    log_density = mass.clamp(min=1e-300).log() - grid.log_cell
    kl = (mass * (log_density - grid.log_prior())).sum().item()
    entropy = -(mass * log_density).sum().item()
    mean_entropy = diagonal_normal(mean.double(), log_var.double()).entropy().mean().item()
    return kl, entropy - mean_entropy, mass


def quadrature(mean: torch.Tensor, log_var: torch.Tensor, grid: Grid) -> tuple[Split, dict]:
    """The split of N images' 2-D posteriors (mean, log_var (N, 2)) on ``grid``, and what the figure and the error
    need: {"mass" (G, G) q(z_g) h^2, "grid_error", "direct_mutual_information", "coarser_aggregate_kl",
    "mass_outside_grid"}. The error bound is the larger of the aggregate KL's change on the grid of spacing 2h
    and the difference between I computed directly and I = average KL - aggregate KL."""
    kl_average = average_kl(mean, log_var, grid)
    kl, direct, mass = _grid_split(mean, log_var, grid)
    coarser = Grid(grid.spacing * 2, grid.steps // 2, grid.prior)
    kl_coarser, _, _ = _grid_split(mean, log_var, coarser)
    information = kl_average - kl
    error = max(abs(kl - kl_coarser), abs(direct - information))
    split = Split(kl_average, information, kl, error, error, QUADRATURE, len(mean))
    return split, {
        "mass": mass,
        "grid_error": error,
        "direct_mutual_information": direct,
        "coarser_aggregate_kl": kl_coarser,
        "mass_outside_grid": mass_outside(mean, log_var, grid),
    }


def of_posteriors(mean: torch.Tensor, log_var: torch.Tensor, prior, seed: int) -> tuple[Split, dict]:
    """The split of N images' posteriors (mean, log_var (N, D)) by the method the latent size allows: for a 2-D z
    the quadrature on the grid that covers every code (posterior.covering_codes), with what ``quadrature`` returns
    beside it and the grid ("grid"); otherwise the mixture estimator seeded with ``seed``, and {}."""
    if mean.shape[1] == 2:
        grid = covering_codes(mean, log_var, prior)
        split, extra = quadrature(mean, log_var, grid)
        return split, extra | {"grid": grid}
    return mixture(mean, log_var, prior, seed), {}


@torch.no_grad()
def of_model(model, split, seed: int) -> Split:
    """The split of ``model``'s posteriors of every image of ``split`` (a DeviceSplit), each given its own label,
    with the model's own prior: the numbers a seed's record keeps of it."""
    model.eval()
    mean, log_var = posterior_parameters(model, split)
    return of_posteriors(mean, log_var, cpu_prior(model), seed)[0]


def mixture_log_density(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log q(z_n|x_m) of every point with every component, (B, D) x (N, D) -> (B, N) float64, as matrix products:
    -1/2 sum_d [(z - mean)^2 / var + log var + log 2 pi]."""
    z, mean, precision = z.double(), mean.double(), torch.exp(-log_var.double())
    constant = (mean.pow(2) * precision + log_var.double() + LOG_2PI).sum(1)
    return -0.5 * (z.pow(2) @ precision.T - 2 * z @ (mean * precision).T + constant[None, :])


def log_aggregate(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log q(z) = logsumexp_m log q(z|x_m) - log N at each point z (B, D), over all N components, ROW_CHUNK points
    at a time: (B,) float64."""
    return torch.cat(
        [torch.logsumexp(mixture_log_density(rows, mean, log_var), dim=1) for rows in z.split(ROW_CHUNK)]
    ) - math.log(len(mean))


def mixture(mean: torch.Tensor, log_var: torch.Tensor, prior, seed: int = 0) -> Split:
    """The split of N images' posteriors (mean, log_var (N, D)) by the mixture estimator, one z_n ~ q(z|x_n) per
    image drawn with a generator seeded with ``seed``. The average KL is in closed form where the prior has one,
    else the same draws' log q(z_n|x_n) - log p(z_n) (``distributions.kl_divergence``); I(x; z) is then
    mean_n [log q(z_n|x_n) - log q(z_n)], at most log N term by term."""
    mean, log_var = mean.double().cpu(), log_var.double().cpu()
    generator = torch.Generator().manual_seed(seed)
    z = mean + torch.exp(0.5 * log_var) * torch.randn(mean.shape, generator=generator, dtype=torch.float64)
    log_p = torch.cat([prior.log_prob(rows.to(_prior_dtype(prior))).double().cpu() for rows in z.split(ROW_CHUNK)])
    terms = log_aggregate(z, mean, log_var) - log_p  # log q(z_n) - log p(z_n)
    kl = torch.cat(
        [
            kl_divergence(q_rows, prior, z_rows.to(_prior_dtype(prior))).double().cpu()
            for q_rows, z_rows in _batches(mean, log_var, z)
        ]
    )
    aggregate, root_n = terms.mean().item(), math.sqrt(len(terms))
    # I's own noise: the aggregate term's alone where the average KL is exact, else that of the same draws' difference
    information_terms = terms if has_closed_form(prior) else kl - terms
    return Split(
        kl.mean().item(),
        kl.mean().item() - aggregate,
        aggregate,
        (terms.std() / root_n).item(),
        (information_terms.std() / root_n).item(),
        MIXTURE,
        len(mean),
    )


def _batches(mean: torch.Tensor, log_var: torch.Tensor, z: torch.Tensor):
    for start in range(0, len(mean), ROW_CHUNK):
        rows = slice(start, start + ROW_CHUNK)
        yield diagonal_normal(mean[rows], log_var[rows]), z[rows]


def _prior_dtype(prior) -> torch.dtype:
    """The dtype the prior computes in: float64 for N(0, I) (no parameters), a learned prior's own otherwise."""
    return next(prior.parameters(), torch.zeros((), dtype=torch.float64)).dtype
