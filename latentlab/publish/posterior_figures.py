"""The figures of the true posterior (``python -m latentlab posterior``): pure functions of arrays and a path,
in the style of figures.py.

posterior_heatmaps.png   a few test images' p(z|x) as heat maps, with q(z|x)'s and q*'s 1- and 2-sd ellipses
posterior_gaps.png       the approximation and amortization gaps over the test images, against the
                         reconstruction error, and the importance-sampled bound's distance to log p(x) against k
refinement.png           the mean ELBO of q refined by gradient steps against their number, with ELBO(q*) and
                         log p(x)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.ticker
import numpy as np
from matplotlib.patches import Ellipse

from .figures import plt, save, style

Q_COLOUR, QSTAR_COLOUR = "white", "#00e5ff"
APPROXIMATION_COLOUR, AMORTIZATION_COLOUR = "#1f77b4", "#d62728"


def _plain_log(axis) -> None:
    """A log axis labelled "0.1", "10", not in mathtext."""
    axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _ellipses(ax, panel: dict) -> None:
    """q's (white, solid) and q*'s (cyan, dashed) 1- and 2-sd ellipses of one heat map ``panel`` onto ``ax``."""
    for (mean, sd), colour, style_ in ((panel["q"], Q_COLOUR, "-"), (panel["q_star"], QSTAR_COLOUR, "--")):
        for r in (1, 2):
            ax.add_patch(
                Ellipse(
                    tuple(mean),
                    2 * r * sd[0],
                    2 * r * sd[1],
                    fill=False,
                    edgecolor=colour,
                    linestyle=style_,
                    linewidth=1.4 if r == 1 else 0.9,
                )
            )


def _heatmap_panel(ax, panel: dict) -> None:
    """One column of the heat map figure onto ``ax``: ``panel``'s density, its ellipses, its image as an inset,
    and its three numbers with the two gaps under the axes (a panel as ``posterior_heatmaps`` takes it)."""
    ax.imshow(
        panel["density"], origin="lower", extent=panel["extent"], cmap="magma", aspect="equal", interpolation="bilinear"
    )
    _ellipses(ax, panel)
    ax.set_xlim(panel["extent"][:2])
    ax.set_ylim(panel["extent"][2:])
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    inset = ax.inset_axes([0.02, 0.74, 0.24, 0.24])
    inset.imshow(panel["image"], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    inset.set_xticks([])
    inset.set_yticks([])
    approximation = panel["log_px"] - panel["elbo_q_star"]
    amortization = panel["elbo_q_star"] - panel["elbo_q"]
    ax.set_title(f"{panel['name']}\n{panel['caption']}", fontsize=9)
    ax.text(
        0.5,
        -0.2,
        f"log p(x) = {panel['log_px']:.2f}\nELBO(q*) = {panel['elbo_q_star']:.2f}  "
        f"(approximation gap {approximation:.2f})\nELBO(q) = {panel['elbo_q']:.2f}  "
        f"(amortization gap {amortization:.2f})",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=8,
    )


def _heatmaps_legend(fig) -> None:
    """The legend of the two ellipses, under the heat maps of ``fig``."""
    handles = [
        plt.Line2D([], [], color=Q_COLOUR, linestyle="-", label="q(z|x), the encoder's: 1 and 2 sd"),
        plt.Line2D([], [], color=QSTAR_COLOUR, linestyle="--", label="q*, the best diagonal Gaussian: 1 and 2 sd"),
    ]
    # The legend sits on the heat maps' own dark ground, so that its lines are drawn in the colours they name.
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=2,
        bbox_to_anchor=(0.5, -0.08),
        facecolor="black",
        edgecolor="black",
        framealpha=1,
        labelcolor="white",
    )


def posterior_heatmaps(panels: list[dict], units: str, title: str, path: Path) -> None:
    """One column per panel: the posterior density as a heat map over ``extent`` (z1 min, z1 max, z2 min, z2 max;
    ``density`` (H, W), row 0 at z2 min), q's and q*'s 1- and 2-sd ellipses, the image as an inset, and the
    three numbers. A panel: {"name", "caption", "image" (28, 28) in [0, 1], "density", "extent", "q": (mean, sd),
    "q_star": (mean, sd), "log_px", "elbo_q", "elbo_q_star"}."""
    with style():
        fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 4.4), squeeze=False)
        for ax, panel in zip(axes[0], panels, strict=True):
            _heatmap_panel(ax, panel)
        _heatmaps_legend(fig)
        fig.suptitle(f"{title}: the true posterior p(z|x) by quadrature ({units})")
        fig.tight_layout()
        save(fig, path)


# Legends under their panels: inside, they covered bars and the levels they name.
LEGEND_BELOW = dict(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.17))


def _gaps_histograms(hist, approximation: np.ndarray, amortization: np.ndarray, low: float, units: str) -> None:
    """The two gaps' histograms onto ``hist``, in 40 log-spaced bins from ``low``, where a smaller gap is counted."""
    positive = np.concatenate([approximation, amortization])
    bins = np.logspace(np.log10(low), np.log10(max(positive.max(), low * 10)), 40)
    for values, colour, name in (
        (approximation, APPROXIMATION_COLOUR, "approximation gap, log p(x) − ELBO(q*)"),
        (amortization, AMORTIZATION_COLOUR, "amortization gap, ELBO(q*) − ELBO(q)"),
    ):
        hist.hist(
            np.clip(values, low, None), bins=bins, color=colour, alpha=0.6, label=f"{name}: mean {values.mean():.2f}"
        )
    hist.set_xscale("log")
    _plain_log(hist.xaxis)
    hist.set_xlabel(f"gap ({units})")
    hist.set_ylabel("test images")
    hist.legend(**LEGEND_BELOW)
    hist.set_title(f"The two gaps on {len(approximation):,} test images")


def _gaps_scatter(
    scatter,
    approximation: np.ndarray,
    amortization: np.ndarray,
    low: float,
    reconstruction: np.ndarray,
    reconstruction_name: str,
    units: str,
) -> None:
    """Each image's two gaps (drawn at ``low`` where smaller) against its reconstruction error, onto ``scatter``."""
    for values, colour, name in (
        (approximation, APPROXIMATION_COLOUR, "approximation"),
        (amortization, AMORTIZATION_COLOUR, "amortization"),
    ):
        scatter.scatter(
            reconstruction, np.clip(values, low, None), s=5, alpha=0.5, color=colour, label=name, linewidths=0
        )
    scatter.set_yscale("log")
    _plain_log(scatter.yaxis)
    scatter.set_xlabel(f"reconstruction error at q's mean ({reconstruction_name})")
    scatter.set_ylabel(f"gap ({units})")
    scatter.legend(fontsize=7, frameon=False, markerscale=3)
    scatter.set_title("The gaps against the reconstruction error")


def _closing_panel(
    closing,
    approximation: np.ndarray,
    amortization: np.ndarray,
    ks: list[int],
    distance_mean: np.ndarray,
    distance_se: np.ndarray,
    is_images: int,
    error_bound: float,
    units: str,
) -> None:
    """The bound's mean distance to log p(x) (± se) at each k onto ``closing``, where it is above 0, with the mean
    gaps of ELBO(q) and ELBO(q*) over the same first ``is_images`` images and the quadrature's error bound as
    levels."""
    ks = np.asarray(ks)
    shown = distance_mean > 0
    closing.errorbar(
        ks[shown],
        distance_mean[shown],
        yerr=distance_se[shown],
        marker="o",
        markersize=3,
        color="black",
        capsize=2,
        label=f"log p(x) − L_k, mean ± se over {is_images} images",
    )
    total = (approximation + amortization)[:is_images].mean()
    closing.axhline(
        total,
        color=AMORTIZATION_COLOUR,
        linestyle="--",
        linewidth=1,
        label=f"log p(x) − ELBO(q), mean over the same images: {total:.2f}",
    )
    closing.axhline(
        approximation[:is_images].mean(),
        color=APPROXIMATION_COLOUR,
        linestyle="--",
        linewidth=1,
        label=f"log p(x) − ELBO(q*), mean over the same images: {approximation[:is_images].mean():.2f}",
    )
    closing.axhline(
        error_bound, color="grey", linestyle=":", linewidth=1, label=f"the quadrature's error bound: {error_bound:.3f}"
    )
    closing.set_xscale("log")
    closing.set_yscale("log")
    _plain_log(closing.xaxis)
    _plain_log(closing.yaxis)
    closing.set_xlabel("k, importance samples per image")
    closing.set_ylabel(f"distance to log p(x) ({units})")
    closing.legend(**LEGEND_BELOW)
    closing.set_title("How fast the importance-sampled bound closes the gap")


def gaps_figure(
    approximation: np.ndarray,
    amortization: np.ndarray,
    reconstruction: np.ndarray,
    reconstruction_name: str,
    ks: list[int],
    distance_mean: np.ndarray,
    distance_se: np.ndarray,
    is_images: int,
    error_bound: float,
    units: str,
    title: str,
    path: Path,
) -> None:
    """Three panels: the two gaps' histograms (log-spaced bins), the gaps against the reconstruction error,
    and the mean of log p(x) - L_k (± its standard error) against k, with the mean gaps of ELBO(q*) and
    ELBO(q) as levels. All gaps in ``units``."""
    with style():
        fig, (hist, scatter, closing) = plt.subplots(1, 3, figsize=(14, 5.2))
        # The gaps' log axes start at the smallest positive gap, but not below 1e-4: a smaller gap, or one of 0 or
        # less that a log axis cannot hold, is drawn there.
        positive = np.concatenate([approximation, amortization])
        low = max(positive[positive > 0].min(), 1e-4) if (positive > 0).any() else 1e-4
        _gaps_histograms(hist, approximation, amortization, low, units)
        _gaps_scatter(scatter, approximation, amortization, low, reconstruction, reconstruction_name, units)
        _closing_panel(
            closing, approximation, amortization, ks, distance_mean, distance_se, is_images, error_bound, units
        )
        fig.suptitle(f"{title}: inference suboptimality, measured without estimators")
        fig.tight_layout()
        save(fig, path)


def refinement_figure(
    steps: np.ndarray,
    elbo_mean: np.ndarray,
    paired_se: np.ndarray,
    elbo_q_star: float,
    log_px: float,
    images: int,
    units: str,
    title: str,
    path: Path,
) -> None:
    """The mean exact ELBO of the images' q after each number of refining ``steps`` (step 0: the encoder's q), on an
    x axis linear to 1 and logarithmic beyond, so that 0 is shown; ELBO(q*) and log p(x), the means over the same
    ``images``, as levels. The band is ± ``paired_se``, the standard error of each step's distance to ELBO(q*) image
    by image: the se of the mean ELBO itself is the images' spread (over a nat), which the curve and the levels
    share. In ``units``."""
    with style():
        fig, ax = plt.subplots(figsize=(7, 4.6))
        ax.fill_between(
            steps,
            elbo_mean - paired_se,
            elbo_mean + paired_se,
            color=AMORTIZATION_COLOUR,
            alpha=0.2,
            linewidth=0,
            label="± the standard error of its distance to ELBO(q*), image by image",
        )
        ax.plot(
            steps,
            elbo_mean,
            marker="o",
            markersize=4,
            color=AMORTIZATION_COLOUR,
            label=f"ELBO of the refined q, mean over {images:,} test images: {elbo_mean[0]:.2f} at 0 steps (the "
            f"encoder's q),\n{elbo_mean[-1]:.2f} after {steps[-1]}",
        )
        ax.axhline(
            elbo_q_star,
            color=APPROXIMATION_COLOUR,
            linestyle="--",
            linewidth=1,
            label=f"ELBO(q*), the best diagonal Gaussian of each image: {elbo_q_star:.2f}",
        )
        ax.axhline(log_px, color="black", linestyle=":", linewidth=1, label=f"log p(x), by quadrature: {log_px:.2f}")
        ax.set_xscale("symlog", linthresh=1, linscale=0.5)
        ax.set_xlim(0, steps[-1] * 1.1)
        ax.margins(y=0.08)
        ax.set_xticks(steps)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("gradient steps on each image's own ELBO (Adam)")
        ax.set_ylabel(f"ELBO ({units})")
        ax.legend(**LEGEND_BELOW)
        ax.set_title("The amortization gap closed step by step")
        fig.suptitle(f"{title}: the encoder's q refined for each image")
        fig.tight_layout()
        save(fig, path)
