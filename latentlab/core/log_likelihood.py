"""log p(x) of a 2-D model by quadrature, for a model's mean over many images: the number every bound misses.

With z in two dimensions,

    log p(x)    = log sum_g p(x|z_g) p(z_g) h^2                               (core/posterior.py's grid sum)
    log p(x|y)  = the same sum with the decoder told the label y              (a conditional model: one grid
                                                                               decode per label)
    log p(x)    = log sum_y p(y) p(x|y)                                       (its labels summed out, p(y) the
                                                                               training set's class frequencies)
    log p(y|x)  = log p(y) + log p(x|y) - log p(x)                            (Bayes' rule, exactly)

``posterior`` (publish/posterior_gaps.py) computes log p(x) per image on a fine grid beside q*, the gaps and the
refinement; here the means over the images are wanted (log p(x), and the exact ELBO of the encoder's q beside it),
for the seed study's every run and for the conditional model's ten labels, so the grid is twice as coarse (a
quarter of the decodes). What that costs is measured, not assumed: the
mean over the images is computed again on the grid of twice the spacing and on a narrower one, and the larger
change is its error bound (on the committed 2-D VAE, halving the spacing from 0.04 to 0.02 moved the mean of 500
images by under 1e-4 nats: posterior_gaps.json's convergence rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .data import to_float
from .passes import cpu_prior
from .posterior import HALF_WIDTH, NARROWER, Grid, covering_codes, grid_elbo, grid_log_likelihood, log_marginal

SPACING = 0.04  # twice posterior.SPACING: the mean's error bound, recorded with it, says what that costs
IMAGES = 500  # the first 500 test images, those of the posterior command and the explorer page's picks


def rounded_mean_and_se(values) -> dict:
    """Mean and standard error over the images of per-image values (a tensor or a list), to 6 decimals: what the
    records (a seed's, metrics.json's, posterior_gaps.json's) keep."""
    values = torch.as_tensor(values, dtype=torch.float64)
    return {"mean": round(values.mean().item(), 6), "se": round((values.std() / len(values) ** 0.5).item(), 6)}


@dataclass(frozen=True)
class Quadrature:
    """log p(x) of N images (N,) float64 on ``grid``, and on the grid of twice its spacing and a narrower one; with
    the exact ELBO of the encoder's q on the same grid where it bounds this log p(x)."""

    grid: Grid
    log_px: torch.Tensor
    coarser: torch.Tensor
    narrower: torch.Tensor
    elbo: torch.Tensor | None = None

    def summary(self) -> dict:
        """Mean ± standard error over the images, and the mean's error bound: its largest change on the
        coarser or narrower grid (what metrics.json and a seed's record hold); the ELBO's mean, and how far it falls
        short of log p(x), image by image (its standard error paired)."""
        mean = self.log_px.mean()
        error = max((self.coarser.mean() - mean).abs().item(), (self.narrower.mean() - mean).abs().item())
        out = {"images": len(self.log_px), **rounded_mean_and_se(self.log_px), "error_bound": round(error, 6)}
        if self.elbo is not None:
            out["elbo"] = rounded_mean_and_se(self.elbo)
            out["elbo_gap"] = rounded_mean_and_se(self.log_px - self.elbo)
        return {**out, "grid": self.grid.describe()}


def on_grid(log_lik: torch.Tensor, grid: Grid, q: tuple | None = None) -> Quadrature:
    """log p(x) from log p(x|z_g) (N, G, G) on ``grid``, its two checks from the same decodes, and with the encoder's
    q = (mean, log_var) (N, 2) each given, its ELBO."""
    coarser_grid, coarser = grid.sub(log_lik, factor=2)
    narrower_grid, narrower = grid.sub(log_lik, half_width=grid.half_width * NARROWER[0] / HALF_WIDTH)
    return Quadrature(
        grid,
        log_marginal(log_lik, grid),
        log_marginal(coarser, coarser_grid),
        log_marginal(narrower, narrower_grid),
        None if q is None else grid_elbo(log_lik, grid, *q),
    )


def decoder(model, label: int | None = None):
    """The model's decode as the grid needs it: z (M, 2) float -> means (M, 1, 28, 28) on the CPU, given ``label``
    for a conditional model."""
    device = next(model.parameters()).device

    @torch.no_grad()
    def decode(z: torch.Tensor) -> torch.Tensor:  # (M, 2) -> (M, 1, 28, 28) on the CPU
        z = z.to(device)
        if label is None:
            return model.decode(z).float().cpu()
        y = torch.full((len(z),), label, dtype=torch.long, device=device)
        return model.decode(z, y).float().cpu()

    return decode


@torch.no_grad()
def log_px(model, x: torch.Tensor, spacing: float = SPACING) -> Quadrature:
    """log p(x) of images x (N, 1, 28, 28) under an unconditional 2-D model with a posterior."""
    q_mean, q_log_var = model.encode(x)
    grid = covering_codes(q_mean.cpu(), q_log_var.cpu(), cpu_prior(model), spacing)
    log_lik = grid_log_likelihood(decoder(model), model.likelihood.name, x.flatten(1).cpu(), grid)
    return on_grid(log_lik, grid, (q_mean.cpu(), q_log_var.cpu()))


@dataclass(frozen=True)
class Conditional:
    """A conditional model's quadrature over N images and C labels."""

    log_p_y: torch.Tensor  # (C,) float64, log p(y)
    given: list[Quadrature]  # log p(x|y) of every image under each label y, C of them

    def _stack(self, field: str) -> torch.Tensor:
        return torch.stack([getattr(q, field) for q in self.given], dim=1)  # (N, C)

    def marginal(self) -> Quadrature:
        """log p(x) = log sum_y p(y) p(x|y), on each of the three grids (the ELBOs bound each p(x|y), not this)."""
        mixed = {f: torch.logsumexp(self._stack(f) + self.log_p_y, dim=1) for f in ("log_px", "coarser", "narrower")}
        return Quadrature(self.given[0].grid, **mixed)

    def given_label(self, labels: torch.Tensor) -> Quadrature:
        """log p(x|y) at each image's own label y (N,), with the ELBO of q(z|x, y) where every label has one."""
        pick = lambda f: self._stack(f).gather(1, labels.long().cpu()[:, None])[:, 0]  # noqa: E731
        elbo = pick("elbo") if all(q.elbo is not None for q in self.given) else None
        return Quadrature(self.given[0].grid, pick("log_px"), pick("coarser"), pick("narrower"), elbo)

    def log_p_y_given_x(self, grid: str = "log_px") -> torch.Tensor:
        """log p(y|x) by Bayes' rule (N, C), on the grid itself or (``grid`` "coarser", "narrower") a check of it."""
        joint = self._stack(grid) + self.log_p_y
        return joint - torch.logsumexp(joint, dim=1, keepdim=True)

    def label(self, labels: torch.Tensor) -> dict:
        """The label's information log p(y|x) - log p(y) at each image's own label y (N,), mean ± se, and how often
        Bayes' rule argmax_y p(y|x) reads it; each with its error bound, its largest change on the two checks."""
        labels = labels.long().cpu()[:, None]
        information, accuracy = {}, {}
        for grid in ("log_px", "coarser", "narrower"):
            log_p_y_given_x = self.log_p_y_given_x(grid)
            information[grid] = log_p_y_given_x.gather(1, labels)[:, 0] - self.log_p_y[labels[:, 0]]
            accuracy[grid] = (log_p_y_given_x.argmax(1) == labels[:, 0]).double().mean().item()
        change = lambda found, pick: max(abs(pick(found[g]) - pick(found["log_px"])) for g in ("coarser", "narrower"))  # noqa: E731
        return {
            "label_information": {
                **rounded_mean_and_se(information["log_px"]),
                "error_bound": round(change(information, lambda t: t.mean().item()), 6),
            },
            "bayes_accuracy": round(accuracy["log_px"], 6),
            "bayes_accuracy_error_bound": round(change(accuracy, float), 6),
        }


@torch.no_grad()
def conditional_log_px(model, x: torch.Tensor, p_y: torch.Tensor, spacing: float = SPACING) -> Conditional:
    """log p(x|y) under every label and log p(x) of images x (N, 1, 28, 28) under a conditional 2-D model, the
    grid (one for all labels, covering every label's q(z|x, y)) decoded once per label; ``p_y`` (C,) the labels'
    probabilities."""
    classes = len(p_y)
    qs = [  # q(z|x, y) of every image under every label: (mean, log_var) (N, 2) each, C of them
        tuple(t.cpu() for t in model.encode(x, torch.full((len(x),), c, dtype=torch.long, device=x.device)))
        for c in range(classes)
    ]
    grid = covering_codes(*(torch.cat(parts) for parts in zip(*qs, strict=True)), cpu_prior(model), spacing)
    pixels = x.flatten(1).cpu()
    given = [
        on_grid(grid_log_likelihood(decoder(model, c), model.likelihood.name, pixels, grid), grid, qs[c])
        for c in range(classes)
    ]
    return Conditional(p_y.double().log(), given)


def applies(traits, latent_dim: int) -> bool:
    """Whether a model's log p(x) is computed here: a kind with a likelihood bound (a posterior and a prior) and a
    2-D z."""
    return traits.likelihood_bound and latent_dim == 2


def record(model, test, train_labels: torch.Tensor | None = None, images: int = IMAGES) -> dict:
    """What metrics.json (core/kept.py's LOG_PX_KEY) and a seed's record hold of a 2-D model's first ``images`` test images:
    log p(x) ("marginal"); for a conditional model also log p(x|y) at each image's own label ("given_y"), the
    label's information log p(y|x) - log p(y) = log p(x|y) - log p(x), and how often Bayes' rule
    argmax_y p(y|x) reads the label, with p(y) the class frequencies of ``train_labels``."""
    x = to_float(test.images[:images]).to(next(model.parameters()).device)
    if not model.traits.conditional:
        return {"marginal": log_px(model, x).summary()}
    labels = test.labels[:images].long().cpu()
    counts = torch.bincount(train_labels.long().cpu(), minlength=model.classes).double()
    found = conditional_log_px(model, x, counts / counts.sum())
    return {
        "marginal": found.marginal().summary(),
        "given_y": found.given_label(labels).summary(),
        **found.label(labels),
        "p_y": "the training set's class frequencies",
    }
