"""The figure of ELBO surgery (``python -m latentlab surgery``), a pure function of arrays and a path in the style
of figures.py.

aggregate_posterior.png   a 2-D VAE's aggregate posterior q(z) beside its prior p(z), their log-ratio with the
                          hole (log q/p below the threshold) outlined, and images decoded from the hole
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.ticker
import numpy as np
from matplotlib.colors import LogNorm

from .figures import plt, save, style

RATIO_RANGE = 6.0  # the log-ratio's colour scale, ± nats
FLOOR = 1e-4  # densities below this share of the larger maximum are not drawn, nor is the view cropped to them


def _view(q: np.ndarray, p: np.ndarray, half_width: float) -> tuple[slice, list[float]]:
    """The square of the grid where either density is above FLOOR of the larger maximum: (index slice, extent)."""
    seen = np.maximum(q, p) > FLOOR * max(q.max(), p.max())
    rows, columns = np.nonzero(seen)
    size = len(q)
    half = max(np.abs(rows - size // 2).max(), np.abs(columns - size // 2).max()) + 2
    lo, hi = max(0, size // 2 - half), min(size, size // 2 + half + 1)
    step = 2 * half_width / (size - 1)
    edge = (lo - size // 2) * step, (hi - 1 - size // 2) * step
    return slice(lo, hi), [edge[0], edge[1], edge[0], edge[1]]


def _densities(upper, maps, q: np.ndarray, p: np.ndarray, view: slice, extent: list[float]) -> None:
    """q(z) and p(z) on one logarithmic colour scale, floored at FLOOR of the larger maximum."""
    top = max(q.max(), p.max())
    norm = LogNorm(vmin=FLOOR * top, vmax=top)
    for ax, density, name in (
        (maps[0], q, "q(z), the mean of q(z|x) over the test images"),
        (maps[1], p, "p(z), the model's prior"),
    ):
        shown = ax.imshow(
            np.maximum(density[view, view].T, FLOOR * top),
            origin="lower",
            extent=extent,
            cmap="magma",
            norm=norm,
            interpolation="bilinear",
        )
        ax.set_title(name, fontsize=10)
    bar = upper.colorbar(shown, ax=maps[:2], fraction=0.025, pad=0.02, label="density")
    bar.ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))  # not in mathtext


def _ratio(upper, ax, log_ratio: np.ndarray, below: float, points: np.ndarray, view: slice, extent: list[float]):
    """log q(z)/p(z) on a diverging scale, the hole (below ``below``) outlined and the decoded points numbered."""
    ratio = ax.imshow(
        np.clip(log_ratio[view, view].T, -RATIO_RANGE, RATIO_RANGE),
        origin="lower",
        extent=extent,
        cmap="RdBu_r",
        vmin=-RATIO_RANGE,
        vmax=RATIO_RANGE,
        interpolation="bilinear",
    )
    axis = np.linspace(extent[0], extent[1], log_ratio[view, view].shape[0])
    ax.contour(axis, axis, log_ratio[view, view].T, levels=[below], colors="black", linewidths=0.8)
    for i, (z1, z2) in enumerate(points):
        circle = dict(boxstyle="circle,pad=0.15", facecolor="white", edgecolor="black", lw=0.6)
        ax.annotate(str(i + 1), (z1, z2), color="black", fontsize=8, ha="center", va="center", bbox=circle)
    ax.set_title(f"log q(z)/p(z) (nats); outlined: below {below:g}, the hole", fontsize=10)
    upper.colorbar(ratio, ax=ax, fraction=0.046, pad=0.02)


def _decoded(lower, points: np.ndarray, images: np.ndarray, below: float) -> None:
    """The images decoded at the points, each titled with its number and z."""
    for i, (ax, image) in enumerate(zip(np.atleast_1d(lower.subplots(1, max(1, len(images)))), images, strict=False)):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{i + 1}: ({points[i][0]:.2f}, {points[i][1]:.2f})", fontsize=8)
    if not len(images):
        lower.text(0.5, 0.5, f"no point of the grid has log q/p below {below:g}", ha="center")


def aggregate_posterior_figure(
    q: np.ndarray,
    p: np.ndarray,
    log_ratio: np.ndarray,
    half_width: float,
    points: np.ndarray,
    images: np.ndarray,
    record: dict,
    title: str,
    path: Path,
) -> None:
    """Three maps over z, q(z) and p(z) on one logarithmic colour scale and log q(z)/p(z) with the hole's
    outline and the decoded points numbered, then the images decoded at ``points`` (M, 2): ``images`` (M, 28, 28).
    ``q``, ``p``, ``log_ratio``: (G, G) on the square grid of half-width ``half_width``, [z1 index, z2 index].
    ``record``: the metrics.json entry (its split and "hole")."""
    view, extent = _view(q, p, half_width)
    hole = record["hole"]
    with style():
        fig = plt.figure(figsize=(15, 7.8), layout="constrained")
        upper, lower = fig.subfigures(2, 1, height_ratios=[4, 1.4])
        maps = upper.subplots(1, 3)
        _densities(upper, maps, q, p, view, extent)
        _ratio(upper, maps[2], log_ratio, hole["log_ratio_below"], points, view, extent)
        for ax in maps:
            ax.set_xlabel("z₁")
            ax.set_ylabel("z₂")
        _decoded(lower, points, images, hole["log_ratio_below"])
        fig.suptitle(
            f"{title}: where the KL goes. Average KL {record['average_kl']:.2f} nats = I(x; z) "
            f"{record['mutual_information']:.2f} + KL(q(z) ‖ p(z)) {record['aggregate_kl']:.3f} "
            f"({record['images']:,} test images)\n{100 * hole['prior_share']:.2f}% "
            f"(± {100 * hole['prior_share_se']:.2f}) of {hole['prior_draws']:,} draws from p(z) land in the "
            f"hole, which holds {100 * hole['code_mass']:.2f}% of q(z)'s mass; below, images decoded "
            "where p(z) is highest in it",
            fontsize=11,
        )
        save(fig, path)
