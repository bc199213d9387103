"""The true posterior of a 2-D latent, by quadrature: log p(x) exactly, and the two parts of the gap.

With z in two dimensions nothing has to be bounded. On a square grid z_g = (i h, j h), |i|, |j| <= K:

    log p(x)    = log sum_g p(x|z_g) p(z_g) h^2                                (the trapezoid rule; the
                  integrand is negligible at the grid's edge, so its end weights do not matter)
    p(z_g|x)    = p(x|z_g) p(z_g) h^2 / p(x)                                    (the posterior, as masses)
    ELBO(q)     = sum_g q~(z_g) log p(x|z_g) - KL(q || p(z))                     q~ = q on the grid, normalised;
                                                                                the KL in closed form where
                                                                                it has one, else on the grid
    q*          = argmax over one diagonal Gaussian per image of that ELBO      (Cremer, Li & Duvenaud 2018)

    log p(x) - ELBO(q) = [log p(x) - ELBO(q*)] + [ELBO(q*) - ELBO(q)]
                       = approximation gap    + amortization gap

in the units of the model's ELBO (likelihoods.py: the Gaussian decoder's constant 392·log π dropped,
the Bernoulli decoder's nats exact). Decoding is the cost, so the grid is decoded once for all images,
and log p(x|z_g) of N images at G^2 grid points is one matrix product per chunk of the grid (``Grid``,
``grid_log_likelihood``). The grid's own error is read off by halving it: every other point of it is the
grid of spacing 2h, its inner part a narrower grid (``Grid.sub``, ``convergence``).

Nothing here knows a model: ``decode`` maps z (M, 2) to the decoder's means (M, ...), ``likelihood``
names p(x|z) ("gaussian": N(mean, 1/2 I), "bernoulli") and the grid carries the prior p(z), so that a linear decoder, whose posterior is
known in closed form, checks the quadrature (tests/test_posterior.py). ``analyse`` puts it together for
a VAE; ``importance_sampled_bounds`` is the model's own estimator (evaluation.importance_sampled_bound)
read at several k from one set of draws.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch
from torch.distributions import kl_divergence as closed_form_kl

from . import losses
from .distributions import StandardNormal, diagonal_normal, has_closed_form
from .files import file_sha256
from .models import importance_log_weights
from .recorded import read_json

METRICS_KEY = "posterior_gaps"  # metrics.json's summary of posterior_gaps.json (the posterior command)
GAPS_FILE = "posterior_gaps.json"
IMAGE_CHUNK = 64  # images per step of the float64 reductions over the grid: bounds their memory
# The default grid, and the narrower ones its convergence is checked against: it holds every analysed image's
# q(z|x) to 6 sd for the VAEs with the prior N(0, I) (publish/posterior_gaps.py scales it for codes that spread)
SPACING, HALF_WIDTH, NARROWER = 0.02, 6.0, (5.0, 5.5)
# nats: the most any image's number may change on the grid of twice the spacing; a grid scaled to the codes'
# reach that is above it is made finer, once (publish/posterior_gaps.analyse_model). The scaled grids of the VAE, the
# VampPrior VAE and the Fashion-MNIST VAE are within it (0.011, 0.008, 0.085); the IWAE-trained VAE's was not
# (0.91 on a spacing of 0.033, its sharpest q* 0.019 wide).
ERROR_TARGET = 0.1
MAX_POINTS = 1201  # per axis: four times the default grid's points, 2.9 GB of log p(x|z) at 500 images (3.6 GB
# while it is decoded: the grid of twice its spacing, whose values it takes, is held beside it)


@dataclass(frozen=True)
class Grid:
    """The square grid {(i h, j h): |i|, |j| <= K} of half-width K h, the latent plane of a 2-D VAE, and the
    model's prior p(z) on it."""

    spacing: float
    steps: int  # K
    prior: torch.nn.Module = field(default_factory=lambda: StandardNormal(2), compare=False)

    @classmethod
    def covering(cls, half_width: float, spacing: float, prior: torch.nn.Module | None = None) -> Grid:
        return cls(spacing, int(round(half_width / spacing)), *(() if prior is None else (prior,)))

    @property
    def half_width(self) -> float:
        return self.spacing * self.steps

    @property
    def size(self) -> int:
        """Points per axis, G = 2K + 1."""
        return 2 * self.steps + 1

    @property
    def axis(self) -> torch.Tensor:
        """The G coordinates of either axis, float64."""
        return torch.arange(-self.steps, self.steps + 1, dtype=torch.float64) * self.spacing

    def points(self) -> torch.Tensor:
        """Every grid point, (G^2, 2) float64, z_1 major: point i * G + j is (axis[i], axis[j])."""
        a = self.axis
        return torch.stack(torch.meshgrid(a, a, indexing="ij"), dim=-1).reshape(-1, 2)

    @property
    def log_cell(self) -> float:
        """log of the area each point stands for, h^2."""
        return 2 * math.log(self.spacing)

    def log_prior(self) -> torch.Tensor:
        """log p(z_g) on the grid, (G, G) float64 (computed once: a learned prior's costs an encoder pass)."""
        return self._log_prior

    @cached_property
    def _log_prior(self) -> torch.Tensor:
        return self.prior.grid_log_prob(self.axis).double()

    @cached_property
    def gaussian_prior(self):
        """The prior as a torch distribution when torch.distributions has the KL of a diagonal Gaussian to it
        in closed form (N(0, I)), else None (a mixture)."""
        return self.prior.distribution() if has_closed_form(self.prior) else None

    def sub(self, values: torch.Tensor, factor: int = 1, half_width: float | None = None):
        """(Grid, values) of the coarser grid (every ``factor``-th point) or narrower one (``half_width``)
        inside this one; ``values`` (..., G, G) are on this grid."""
        steps = self.steps if half_width is None else min(self.steps, int(round(half_width / self.spacing)))
        steps -= steps % factor
        first = self.steps - steps
        index = slice(first, first + 2 * steps + 1, factor)
        return Grid(self.spacing * factor, steps // factor, self.prior), values[..., index, index]

    def describe(self) -> dict:
        return {"half_width": round(self.half_width, 10), "spacing": self.spacing, "points_per_axis": self.size}


def covering_codes(q_mean: torch.Tensor, q_log_var: torch.Tensor, prior, spacing: float = SPACING) -> Grid:
    """The grid of half-width HALF_WIDTH and ``spacing``, scaled, wider and coarser alike (the same decodes), as far
    as the codes reach: 6 sd of every q(z|x) given (N, 2). It holds the VAEs' codes under the prior N(0, I) unscaled;
    a learned prior lets them spread (the 2-D VampPrior VAE's reach about 17)."""
    reach = (q_mean.abs() + 6 * torch.exp(0.5 * q_log_var)).max().item()
    scale = max(1.0, reach / HALF_WIDTH)
    return Grid.covering(HALF_WIDTH * scale, spacing * scale, prior)


# --- log p(x|z) on the grid ---------------------------------------------------------------------------


def pixel_log_likelihood(x: torch.Tensor, mean: torch.Tensor, likelihood: str) -> torch.Tensor:
    """log p(x_n | z_m) of every image with every decoded mean, (N, P) x (M, P) -> (N, M), float64: the same
    numbers as likelihoods.<decoder>.reconstruction_per_image (with a minus) as one matrix product.

    gaussian:  -||x - mean||^2 (N(mean, 1/2 I), constant 392·log π dropped)
    bernoulli: x log mean + (1 - x) log(1 - mean), each log clamped at -100 as binary_cross_entropy does."""
    x, mean = x.double(), mean.double()
    if likelihood == "gaussian":
        return 2 * x @ mean.T - x.pow(2).sum(1, keepdim=True) - mean.pow(2).sum(1)[None, :]
    if likelihood == "bernoulli":
        log_p, log_not_p = mean.log().clamp(min=-100), torch.log1p(-mean).clamp(min=-100)
        return x @ (log_p - log_not_p).T + log_not_p.sum(1)[None, :]
    raise ValueError(f"no grid form of the likelihood {likelihood!r}")


@torch.no_grad()
def grid_log_likelihood(
    decode, likelihood: str, x: torch.Tensor, grid: Grid, chunk: int = 8192, coarser: torch.Tensor | None = None
) -> torch.Tensor:
    """log p(x_n | z_g) of N images (N, P) at every grid point: (N, G, G) float32, the grid decoded once,
    ``chunk`` points at a time. float32 keeps 7 digits of values of tens of nats: 1e-5 nats.

    ``coarser``: the values on the grid of the same width and twice the spacing, whose points are every second
    point of this one (the same float64 coordinates: i·h = 2i·(h/2)). They are taken from it, and only the other
    three quarters of the points are decoded."""
    points = grid.points()
    out = torch.empty((len(x), grid.size, grid.size), dtype=torch.float32)
    todo = torch.ones((grid.size, grid.size), dtype=torch.bool)
    if coarser is not None:
        every_second = (len(x), grid.steps + 1, grid.steps + 1)
        if tuple(coarser.shape) != every_second:
            raise ValueError(f"values {tuple(coarser.shape)} are not every second point of this grid: {every_second}")
        out[:, ::2, ::2] = coarser
        todo[::2, ::2] = False
    index = todo.flatten().nonzero().squeeze(1)
    flat = out.view(len(x), -1)
    for part in index.split(chunk):
        z = points[part].float()
        mean = decode(z).reshape(len(z), -1).cpu()
        flat[:, part] = pixel_log_likelihood(x.reshape(len(x), -1).cpu(), mean, likelihood).float()
    return out


def _chunks(n: int):
    for start in range(0, n, IMAGE_CHUNK):
        yield slice(start, min(n, start + IMAGE_CHUNK))


def log_marginal(log_lik: torch.Tensor, grid: Grid) -> torch.Tensor:
    """log p(x) of each image by the grid sum: (N, G, G) -> (N,) float64."""
    prior = grid.log_prior()
    return (
        torch.cat([torch.logsumexp((log_lik[s].double() + prior).flatten(1), dim=1) for s in _chunks(len(log_lik))])
        + grid.log_cell
    )


def posterior_masses(log_lik: torch.Tensor, grid: Grid) -> torch.Tensor:
    """p(z_g|x) h^2, the posterior mass at each grid point, (N, G, G) float64 (each image's sums to 1)."""
    log_joint = log_lik.double() + grid.log_prior()
    return torch.softmax(log_joint.flatten(1), dim=1).view_as(log_joint)


def posterior_moments(log_lik: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, torch.Tensor]:
    """The posterior's mean (N, 2) and covariance (N, 2, 2), float64, on the grid."""
    a = grid.axis
    means, covs = [], []
    for s in _chunks(len(log_lik)):
        w = posterior_masses(log_lik[s], grid)  # (n, G, G)
        w1, w2 = w.sum(2), w.sum(1)  # the marginals of z_1 and z_2, (n, G)
        m = torch.stack([w1 @ a, w2 @ a], dim=1)
        d = a[None, :] - m[:, :1], a[None, :] - m[:, 1:]
        c11, c22 = (w1 * d[0].pow(2)).sum(1), (w2 * d[1].pow(2)).sum(1)
        c12 = torch.einsum("nij,ni,nj->n", w, d[0], d[1])
        means.append(m)
        covs.append(torch.stack([torch.stack([c11, c12], -1), torch.stack([c12, c22], -1)], -2))
    return torch.cat(means), torch.cat(covs)


# --- ELBOs on the grid, and the best diagonal Gaussian of each image ------------------------------------


def grid_q(mean: torch.Tensor, log_var: torch.Tensor, axis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """q = N(mean, exp(log_var)) at the grid's coordinates ``axis`` ((G,), or (n, 2, G) one per image and
    latent axis), each axis normalised: (n, G) twice, q~(z_ij) = q1_i q2_j."""
    axis = axis.to(mean.dtype)
    if axis.dim() == 1:
        axis = axis[None, None, :]
    log_q = -0.5 * (axis - mean[:, :, None]).pow(2) / log_var.exp()[:, :, None]  # (n, 2, G)
    q = torch.softmax(log_q, dim=2)
    return q[:, 0], q[:, 1]


def expected_log_likelihood(
    log_lik: torch.Tensor, axis: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor
) -> torch.Tensor:
    """E_q[log p(x|z)] = sum_ij q1_i log p(x|z_ij) q2_j per image, (n,): differentiable in mean, log_var."""
    q1, q2 = grid_q(mean, log_var, axis)
    inner = torch.bmm(log_lik.to(q2.dtype), q2.unsqueeze(2)).squeeze(2)  # (n, G)
    return (q1 * inner).sum(1)


def grid_elbo(log_lik: torch.Tensor, grid: Grid, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """ELBO(q) of each image, E_q[log p(x|z)] on the grid minus KL(q ‖ p(z)) (``grid_kl``): (N,) float64."""
    mean, log_var = mean.double(), log_var.double()
    return torch.cat(
        [
            expected_log_likelihood(log_lik[s], grid.axis, mean[s], log_var[s]) - grid_kl(grid, mean[s], log_var[s])
            for s in _chunks(len(log_lik))
        ]
    )


def grid_kl(
    grid: Grid,
    mean: torch.Tensor,
    log_var: torch.Tensor,
    axis: torch.Tensor | None = None,
    log_prior: torch.Tensor | None = None,
) -> torch.Tensor:
    """KL(q ‖ p(z)) of diagonal Gaussians q (n, 2) each: in closed form where torch.distributions has one, else
    -H(q) - sum_g q~(z_g) log p(z_g), the prior's log density on the grid, or on each image's crop of it
    (``axis`` (n, 2, W), ``log_prior`` (n, W, W)). Differentiable in mean, log_var."""
    q = diagonal_normal(mean, log_var)
    if grid.gaussian_prior is not None:
        return closed_form_kl(q, grid.gaussian_prior)
    if axis is None:
        axis, log_prior = grid.axis, grid.log_prior()
    q1, q2 = grid_q(mean, log_var, axis)
    pattern = "ni,ij,nj->n" if log_prior.dim() == 2 else "ni,nij,nj->n"
    return -q.entropy() - torch.einsum(pattern, q1, log_prior.to(q1.dtype), q2)


def optimal_q(
    log_lik: torch.Tensor,
    grid: Grid,
    mean: torch.Tensor,
    log_var: torch.Tensor,
    post_mean: torch.Tensor,
    post_cov: torch.Tensor,
    iterations: int = 40,
    reach: float = 6.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """q* of each image: the diagonal Gaussian (mean, log_var) that maximises its grid ELBO. Newton's method
    on the 4 numbers of each image, all images at once (``_newton``), from four starts: the given q (the
    encoder's), the diagonal Gaussian that is best for a Gaussian posterior of the same mean and covariance
    (the posterior mean, and variances 1 / the diagonal of its precision), and at the posterior's highest grid
    point (another mode) once with the smaller of those variances and once with the mode's own curvature
    (``_curvature_at``); the highest ELBO wins. The last start is for a posterior of two modes, a sharp one
    holding most of the mass beside a broad one: from any wider start Newton slides to the broad mode, and
    q* would be that local optimum (the IWAE-trained 2-D VAE's test image 283: ELBO -43.26 there against
    -42.07 at the sharp mode).

    Each image is optimised on the square of the grid that holds its posterior (``post_mean``, ``post_cov``)
    and its q, ``reach`` sd either side: q* lives there, and q's weight outside is below 1e-8. Returns
    float64 (mean, log_var); an image whose ELBO on the whole grid did not rise keeps its q."""
    mean, log_var = mean.double(), log_var.double()
    post_sd = post_cov.diagonal(dim1=1, dim2=2).sqrt()
    matched = (post_mean.double(), -torch.linalg.inv(post_cov).diagonal(dim1=1, dim2=2).log())
    peak = torch.cat([(log_lik[s].double() + grid.log_prior()).flatten(1).argmax(1) for s in _chunks(len(log_lik))])
    mode = (
        torch.stack([grid.axis[peak // grid.size], grid.axis[peak % grid.size]], dim=1),
        torch.minimum(matched[1], log_var),
    )
    sharp = (mode[0], _curvature_at(log_lik, grid, peak))
    q_sd = (0.5 * log_var).exp()
    low = torch.minimum(post_mean - reach * post_sd, mean - reach * q_sd)
    high = torch.maximum(post_mean + reach * post_sd, mean + reach * q_sd)
    centre = torch.round((low + high) / 2 / grid.spacing).long() + grid.steps  # index of each box's centre
    half = torch.ceil((high - low).max(1).values / 2 / grid.spacing).long().clamp(min=4, max=grid.steps)
    order = torch.argsort(half, stable=True)  # images with boxes of like size share a batch
    best_mean, best_log_var, best = mean.clone(), log_var.clone(), grid_elbo(log_lik, grid, mean, log_var)
    for s in _chunks(len(order)):
        images = order[s]
        r = int(half[images].max())
        first = (centre[images] - r).clamp(0, grid.size - 1 - 2 * r)  # (n, 2): the box inside the grid
        index = first[:, :, None] + torch.arange(2 * r + 1)  # (n, 2, W)
        crop = log_lik[images[:, None, None], index[:, 0, :, None], index[:, 1, None, :]].double()  # (n, W, W)
        prior_crop = grid.log_prior()[index[:, 0, :, None], index[:, 1, None, :]]  # (n, W, W)
        for start in (
            (mean[images], log_var[images]),
            (matched[0][images], matched[1][images]),
            (mode[0][images], mode[1][images]),
            (sharp[0][images], sharp[1][images]),
        ):
            m, v = _newton(crop, grid.axis[index], torch.cat(start, dim=1), iterations, grid, prior_crop)
            value = grid_elbo(log_lik[images], grid, m, v)
            better = value > best[images]
            best_mean[images[better]], best_log_var[images[better]] = m[better], v[better]
            best[images[better]] = value[better]
    return best_mean, best_log_var


def _curvature_at(log_lik: torch.Tensor, grid: Grid, peak: torch.Tensor) -> torch.Tensor:
    """log_var of the diagonal Gaussian that fits the log joint's curvature at each image's grid point ``peak``
    (flat indices, (N,)): -log of minus its second differences along each axis, (N, 2) float64. A direction
    that is not curved down there gets the grid's half-width as its sd."""
    i, j = (peak // grid.size).clamp(1, grid.size - 2), (peak % grid.size).clamp(1, grid.size - 2)
    n, log_prior = torch.arange(len(peak)), grid.log_prior()

    def log_joint(di: int, dj: int) -> torch.Tensor:
        return log_lik[n, i + di, j + dj].double() + log_prior[i + di, j + dj]

    centre = log_joint(0, 0)
    second = (
        torch.stack([log_joint(1, 0) + log_joint(-1, 0), log_joint(0, 1) + log_joint(0, -1)], 1) - 2 * centre[:, None]
    )
    precision = (-second / grid.spacing**2).clamp(min=grid.half_width**-2)
    return -precision.log()


@torch.enable_grad()
def _newton(
    log_lik: torch.Tensor,
    axis: torch.Tensor,
    theta: torch.Tensor,
    iterations: int,
    grid: Grid,
    log_prior: torch.Tensor,
    halvings: int = 30,
    tolerance: float = 1e-10,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximise each image's grid ELBO over theta = (mean, log_var), (n, 4), on its crop ``log_lik`` (n, W, W)
    at coordinates ``axis`` (n, 2, W), the KL to ``grid``'s prior (its log density on the crop: ``log_prior``). Saddle-free Newton: the Hessian's eigenvalues replaced by minus their
    absolute values, so that every step goes uphill; each step halved until that image's ELBO rises. An image
    stops once Newton predicts a rise below ``tolerance`` or no step raises its ELBO."""

    def objective(theta, rows):
        return expected_log_likelihood(log_lik[rows], axis[rows], theta[:, :2], theta[:, 2:]) - grid_kl(
            grid, theta[:, :2], theta[:, 2:], axis[rows], log_prior[rows]
        )

    theta = theta.clone()
    active = torch.arange(len(theta))
    value = objective(theta, active)
    for _ in range(iterations):
        if len(active) == 0:
            break
        t = theta[active].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(objective(t, active).sum(), t, create_graph=True)
        hessian = torch.stack([torch.autograd.grad(grad[:, c].sum(), t, retain_graph=c < 3)[0] for c in range(4)], 1)
        grad, hessian = grad.detach(), hessian.detach()
        eigenvalues, vectors = torch.linalg.eigh(0.5 * (hessian + hessian.transpose(1, 2)))
        size = eigenvalues.abs().clamp(min=1e-8 * eigenvalues.abs().max(1, keepdim=True).values.clamp(min=1e-30))
        step = (vectors @ ((vectors.transpose(1, 2) @ grad.unsqueeze(2)) / size.unsqueeze(2))).squeeze(2)
        rise = 0.5 * (grad * step).sum(1)  # what Newton expects the ELBO to gain
        step = step * (1.0 / step.abs().max(1, keepdim=True).values.clamp(min=1.0))  # at most 1 in any number
        moved = torch.zeros(len(active), dtype=torch.bool)
        start = theta[active]
        for _ in range(halvings):
            trial = start + step
            new = objective(trial, active)
            better = (new > value[active]) & ~moved
            rows = active[better]
            theta[rows], value[rows] = trial[better], new[better]
            moved |= better
            if moved.all():
                break
            step = step * 0.5
        active = active[moved & (rise > tolerance)]
    return theta[:, :2], theta[:, 2:]


# --- The importance-sampled bound at several k ---------------------------------------------------------


def importance_sampled_bounds(
    mean: torch.Tensor,
    log_var: torch.Tensor,
    prior,
    log_likelihood,
    ks: list[int],
    generator: torch.Generator | None = None,
    chunk: int = 100,
) -> torch.Tensor:
    """evaluation.importance_sampled_bound for every k in ``ks`` from one set of max(ks) draws: the bound at
    k uses the first k of them (the same draws, in the same order, as that function makes for max(ks)).
    Returns (len(ks), B) float64."""
    log_weights = importance_log_weights(mean, log_var, prior, log_likelihood, max(ks), generator, chunk).double()
    return torch.stack([losses.log_mean_exp(log_weights[:k], dim=0) for k in ks])


# --- Everything, for a VAE --------------------------------------------------------------------------------


@dataclass
class Analysis:
    """What ``analyse`` finds for N images: per image (N,) or (N, 2), float64."""

    grid: Grid
    log_lik: torch.Tensor  # (N, G, G) float32 on the finest grid
    log_px: torch.Tensor
    q_mean: torch.Tensor
    q_log_var: torch.Tensor
    elbo_q: torch.Tensor
    qstar_mean: torch.Tensor
    qstar_log_var: torch.Tensor
    elbo_qstar: torch.Tensor
    post_mean: torch.Tensor
    post_cov: torch.Tensor
    convergence: dict
    errors: dict  # the error bound of each of the three numbers: the largest change over the images
    seconds: dict

    def sub_grid(self, factor: int = 1, half_width: float | None = None):
        return self.grid.sub(self.log_lik, factor, half_width)


def convergence(
    log_lik: torch.Tensor, grid: Grid, q: tuple, qstar: tuple | None, factors=(8, 4, 2, 1), half_widths: tuple = ()
) -> tuple[dict, dict]:
    """The three numbers on coarser grids (spacing factor·h, full width) and narrower ones (spacing h), each
    against the finest and widest: (rows, error bounds). The error bound of a number is the largest change,
    over the images, between the finest grid and the next coarser one, or the widest and the next narrower.
    Without ``qstar``, log p(x) and ELBO(q) only: whether a grid is too coarse can be asked before q* is found."""

    def numbers(g, values):
        found = {"log_px": log_marginal(values, g), "elbo_q": grid_elbo(values, g, *q)}
        return found if qstar is None else {**found, "elbo_qstar": grid_elbo(values, g, *qstar)}

    best = numbers(grid, log_lik)
    rows = {"spacing": [], "width": []}
    changes = {}
    for kind, settings in (("spacing", [(f, None) for f in factors]), ("width", [(1, w) for w in half_widths])):
        for factor, half_width in settings:
            g, values = grid.sub(log_lik, factor, half_width)
            found = best if g == grid else numbers(g, values)
            row = {**g.describe()}
            for name, value in found.items():
                difference = (value - best[name]).abs()
                row[name] = {
                    "mean": value.mean().item(),
                    "mean_abs_change": difference.mean().item(),
                    "max_abs_change": difference.max().item(),
                }
            rows[kind].append(row)
        if len(rows[kind]) > 1:
            changes[kind] = {name: rows[kind][-2][name]["max_abs_change"] for name in best}
    errors = {name: max(change[name] for change in changes.values()) for name in best}
    return rows, errors


def analyse(
    log_lik: torch.Tensor,
    grid: Grid,
    q_mean: torch.Tensor,
    q_log_var: torch.Tensor,
    half_widths: tuple = (),
    factors=(8, 4, 2, 1),
) -> Analysis:
    """log p(x), ELBO(q), q* and ELBO(q*) of N images on ``grid``, with their convergence, from their log p(x|z)
    on it (N, G, G) (``grid_log_likelihood``). Its ``seconds`` are those of q* ("q_star") and of the checks
    ("quadrature"); the caller adds the decodes' ("grid")."""
    seconds = {}
    started = time.perf_counter()
    q = (q_mean.double().cpu(), q_log_var.double().cpu())
    post_mean, post_cov = posterior_moments(log_lik, grid)
    qstar = optimal_q(log_lik, grid, *q, post_mean, post_cov)
    seconds["q_star"] = time.perf_counter() - started
    started = time.perf_counter()
    rows, errors = convergence(log_lik, grid, q, qstar, factors, half_widths)
    seconds["quadrature"] = time.perf_counter() - started
    return Analysis(
        grid,
        log_lik,
        log_marginal(log_lik, grid),
        *q,
        grid_elbo(log_lik, grid, *q),
        *qstar,
        grid_elbo(log_lik, grid, *qstar),
        post_mean,
        post_cov,
        rows,
        errors,
        seconds,
    )


def saved_summary(folder: Path) -> dict | None:
    """The summary in ``folder``'s posterior_gaps.json if it was computed from its present model.pt: what
    metrics.json carries under METRICS_KEY, so that recomputing metrics.json keeps it."""
    path, model = Path(folder) / GAPS_FILE, Path(folder) / "model.pt"
    if not (path.is_file() and model.is_file()):
        return None
    saved = read_json(path, "posterior_gaps")
    return saved.get("summary") if saved.get("model_sha256") == file_sha256(model) else None
