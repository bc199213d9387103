"""A 2-D latent plane as the figures and the explorer page show it: a square box around the codes, and a
prior's density on a grid over it."""

from __future__ import annotations

import numpy as np
import torch

from ..core.distributions import device_of

DENSITY_CELLS = 64  # the prior's density on the plane: a 64 x 64 grid over the page's bounds


@torch.no_grad()
def prior_density(prior, bounds: list[float]) -> np.ndarray:
    """p(z) at the centres of a DENSITY_CELLS² grid over ``bounds`` (z₁ min, max, z₂ min, max), scaled to a
    maximum of 1: (cells, cells) float32, row 0 at the top (the highest z₂), as the page draws it."""
    edges = [np.linspace(lo, hi, DENSITY_CELLS + 1) for lo, hi in (bounds[:2], bounds[2:])]
    z1, z2 = ((e[:-1] + e[1:]) / 2 for e in edges)
    grid = np.stack(np.meshgrid(z1, z2[::-1], indexing="xy"), axis=-1).reshape(-1, 2)
    log_p = prior.log_prob(torch.from_numpy(grid).float().to(device_of(prior)))
    density = torch.exp(log_p - log_p.max()).cpu().numpy()
    return density.reshape(DENSITY_CELLS, DENSITY_CELLS).astype(np.float32)


def square_bounds(points: np.ndarray, include: float = 0.0) -> list[float]:
    """A square box around the central 99 % of ``points`` (N, 2), and at least [-include, include]."""
    lo, hi = np.percentile(points, [0.5, 99.5], axis=0)
    lo, hi = np.minimum(lo, -include), np.maximum(hi, include)
    centre, half = (lo + hi) / 2, 1.12 * (hi - lo).max() / 2
    return [float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half)]
