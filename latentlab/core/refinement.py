"""The amortization gap closed step by step: each image's q(z|x) refined by gradient steps on its own ELBO.

The encoder's q(z|x) = N(mean, exp(log_var)) is one network's answer for every image; the best diagonal
Gaussian of an image, q*, is found for that image alone (core/posterior.py), and ELBO(q*) - ELBO(q) is the
amortization gap (Cremer, Li & Duvenaud 2018, "Inference suboptimality in variational autoencoders").
Starting from the encoder's q and climbing the image's own ELBO, as semi-amortized inference does after
the encoder (Kim et al. 2018; Hjelm et al. 2016), shows how much of that gap a few steps close:

    theta_0 = (mean, log_var) of the encoder,   theta_{t+1} = theta_t + Adam step on ELBO(theta_t)

with ELBO(theta) the exact ELBO on the quadrature grid, ``posterior.grid_elbo``: the steps climb the very
number the gaps are measured in, so that ELBO after t steps, ELBO(q*) and log p(x) are one definition.
Local ascent stays in the basin of the posterior mode the encoder's q sits by: where q* covers another mode,
the refined q stops short of ELBO(q*) whatever the number of steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import posterior

STEPS = (0, 1, 2, 5, 10, 20, 50, 100)  # after how many steps the ELBO is recorded
# Adam, step 0.05 (in z's units: see below). Plain gradient ascent is ill-conditioned here: the ELBO's
# curvature in the mean is the posterior's precision (1 / sd^2, sd 0.03 to 0.4 on the committed 2-D VAEs),
# in log_var about 1/2, so a step small enough for the narrow posteriors barely moves log_var (measured on the
# 2-D VAE's first 100 test images, grid spacing 0.04: step 0.003 leaves 0.55 nats to ELBO(q*) after 100 steps,
# 81% of the images more than 0.01 short). Adam scales each coordinate by its own gradient's size. Its step
# 0.02 is still climbing at 100 steps and 0.1 overshoots (the Fashion-MNIST VAE's mean ELBO falls by 0.8 nats
# in its first step); 0.05 raises the mean ELBO at every recorded step of the three 2-D VAEs and after 100
# steps is within 2e-3 nats of its own 500-step value (MNIST and Fashion-MNIST): the rest of the way to
# ELBO(q*) is the 2-6% of images whose q sits by another mode than q*'s. The mean's step is in z's units, so
# it grows with the grid's width, which publish/posterior_gaps.py scales with the codes' reach (log_var's does not:
# scaling z shifts log_var by a constant). On the 2-D VampPrior VAE, whose codes reach 3x further, the mean's
# step 0.05 x 3 leaves 0.83 nats to ELBO(q*) after 5 steps against 1.44 with 0.05, and 0.151 after 100
# against 0.156 (all 500 images); 400 steps reach 0.150.
LEARNING_RATE = 0.05


@dataclass
class Refinement:
    """Each image's q refined: the exact grid ELBO after each of ``steps`` and the last refined q."""

    steps: tuple[int, ...]
    elbo: torch.Tensor  # (len(steps), N) float64: ELBO after steps[i] steps, row 0 the encoder's q
    mean: torch.Tensor  # (N, 2) float64: q after max(steps) steps
    log_var: torch.Tensor  # (N, 2)


@torch.enable_grad()
def refine(
    log_lik: torch.Tensor,
    grid: posterior.Grid,
    mean: torch.Tensor,
    log_var: torch.Tensor,
    steps: tuple[int, ...] = STEPS,
    learning_rate: float = LEARNING_RATE,
) -> Refinement:
    """Adam steps on each image's ELBO(q) = ``posterior.grid_elbo(log_lik, grid, mean, log_var)``, from the given q
    (N, 2) twice, on log p(x|z_g) ``log_lik`` (N, G, G); float64 throughout. The step is ``learning_rate`` in
    log_var and ``learning_rate`` times the grid's scale (its half-width / posterior.HALF_WIDTH, at least 1) in
    the mean.

    The images are independent (the ELBO is a sum over them, and Adam scales each coordinate alone), so they
    are refined a chunk at a time, vectorised within it, each chunk's log p(x|z_g) made float64 once."""
    chunk = posterior.IMAGE_CHUNK
    last = max(steps)
    # the codes' reach, which scaled the grid (a grid made finer keeps its step; a narrower one keeps 1)
    scale = max(1.0, grid.half_width / posterior.HALF_WIDTH)
    elbo = torch.empty((len(steps), len(log_lik)), dtype=torch.float64)
    refined_mean, refined_log_var = mean.double().clone(), log_var.double().clone()  # (N, 2) each
    for start in range(0, len(log_lik), chunk):
        rows = slice(start, start + chunk)
        values = log_lik[rows].double()  # (n, G, G)
        m = refined_mean[rows].clone().requires_grad_(True)
        v = refined_log_var[rows].clone().requires_grad_(True)
        optimiser = torch.optim.Adam(
            [{"params": [m], "lr": learning_rate * scale}, {"params": [v], "lr": learning_rate}], maximize=True
        )
        for step in range(last + 1):
            value = posterior.grid_elbo(values, grid, m, v)  # (n,)
            if step in steps:
                elbo[steps.index(step), rows] = value.detach()
            if step == last:
                break
            optimiser.zero_grad()
            value.sum().backward()
            optimiser.step()
        refined_mean[rows], refined_log_var[rows] = m.detach(), v.detach()
    return Refinement(tuple(steps), elbo, refined_mean, refined_log_var)
