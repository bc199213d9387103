"""Static figures: pure functions of tensors (or arrays) and an output path.

They never train, load data or touch a model; ``unconditional_gallery`` computes what they show.
One style for all: white background, the qualitative ``tab10`` map for the classes (up to
ten; digits on MNIST), images in gray on black as MNIST stores them, titles that name the model.
Legends name the classes as ``data.Classes`` gives them: "0".."9" titled "digit" on MNIST.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only: no display needed, none opened

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402

from ..core.display import shortened  # noqa: E402
from ..core.files import atomic_path  # noqa: E402

CLASS_CMAP = plt.get_cmap("tab10")
DPI = 150
STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    # Titles and legends carry names from outside the code (a reader's class folders): a "$" in one is
    # a dollar sign, never the start of mathtext.
    "text.parse_math": False,
}


def style():
    return plt.rc_context(STYLE)


def save(fig, path: Path) -> None:
    """Write atomically (a crash never leaves half a PNG) and free the figure."""
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png", bbox_inches="tight")
    plt.close(fig)


def _plain_log_y(ax) -> None:
    """Log-scale y axis labelled "40" or "0.01", not "4×10¹". Where the data span less than a
    decade the in-between ticks are labelled too, or a single label (or none) would remain."""
    ax.set_yscale("log")
    plain = matplotlib.ticker.FormatStrFormatter("%g")
    ax.yaxis.set_major_formatter(plain)
    low, high = ax.get_ylim()
    ax.yaxis.set_minor_formatter(plain if high / low < 10 else matplotlib.ticker.NullFormatter())


def grid_image(images: torch.Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """(N, 1, 28, 28) in [0, 1] -> one (H, W) array, via torchvision's make_grid."""
    grid = make_grid(images.detach().cpu().clamp(0, 1), nrow=nrow, padding=padding, pad_value=1.0)
    return grid[0].numpy()


def _show_grid(ax, images: torch.Tensor, nrow: int, padding: int = 2) -> None:
    ax.imshow(grid_image(images, nrow, padding), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()


def _cell_centre(index: int, nrow: int, padding: int = 2, size: int = 28) -> tuple[float, float]:
    """Pixel centre (x, y) of cell ``index`` in a make_grid layout."""
    step = size + padding
    row, col = divmod(index, nrow)
    return padding + col * step + size / 2 - 0.5, padding + row * step + size / 2 - 0.5


def reconstructions(
    originals: torch.Tensor, x_hat: torch.Tensor, errors: torch.Tensor, error_name: str, title: str, path: Path
) -> None:
    """Originals (N, 1, 28, 28) above their reconstructions, each with its error (N,) below it."""
    n = len(originals)
    with style():
        fig, ax = plt.subplots(figsize=(n * 0.62, 1.75))
        _show_grid(ax, torch.cat([originals, x_hat]), nrow=n)
        for i, error in enumerate(errors.tolist()):
            x, y = _cell_centre(n + i, n)
            ax.text(x, y + 17, f"{error:.1f}", ha="center", va="top", fontsize=6, color="#444444")
        ax.text(-4, _cell_centre(0, n)[1], "input", ha="right", va="center", fontsize=8)
        ax.text(-4, _cell_centre(n, n)[1], "output", ha="right", va="center", fontsize=8)
        ax.set_title(f"{title}\n{error_name} (sum over 784 pixels) under each reconstruction", fontsize=9)
        save(fig, path)


def _class_scatter(ax, codes: np.ndarray, labels: np.ndarray, size: float = 2.0, alpha: float = 0.7) -> None:
    order = np.random.default_rng(0).permutation(len(codes))  # no class painted over all others
    ax.scatter(
        codes[order, 0],
        codes[order, 1],
        c=labels[order],
        cmap=CLASS_CMAP,
        vmin=-0.5,
        vmax=9.5,
        s=size,
        alpha=alpha,
        linewidths=0,
        rasterized=True,
    )


def _class_legend(fig_or_ax, classes, **kwargs) -> None:
    """``classes``: a data.Classes, its names and the word for one of them."""
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=CLASS_CMAP(d), label=shortened(name))
        for d, name in enumerate(classes.names)
    ]
    fig_or_ax.legend(handles=handles, title=classes.noun, frameon=False, markerscale=1.2, **kwargs)


def latent_scatter_2d(codes: np.ndarray, labels: np.ndarray, classes, title: str, path: Path) -> None:
    """The 2-D codes themselves, coloured by class."""
    with style():
        fig, ax = plt.subplots(figsize=(6.2, 5.4))
        _class_scatter(ax, codes, labels)
        ax.set_xlabel("z₁")
        ax.set_ylabel("z₂")
        ax.set_title(title)
        _class_legend(ax, classes, loc="center left", bbox_to_anchor=(1.0, 0.5))
        save(fig, path)


def latent_scatter_projections(
    pca: np.ndarray, pca_labels: np.ndarray, tsne: np.ndarray, tsne_labels: np.ndarray, classes, title: str, path: Path
) -> None:
    """Two panels for a high-dimensional latent: a PCA projection and a t-SNE embedding."""
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(11, 5))
        _class_scatter(axes[0], pca, pca_labels)
        axes[0].set(title=f"PCA of all {len(pca):,} test codes", xlabel="PC 1", ylabel="PC 2")
        _class_scatter(axes[1], tsne, tsne_labels, size=3.0)
        axes[1].set(title=f"t-SNE of a fixed subset of {len(tsne):,} test codes", xticks=[], yticks=[])
        _class_legend(fig, classes, loc="center right", bbox_to_anchor=(1.0, 0.5))
        fig.suptitle(title)
        fig.subplots_adjust(right=0.91)
        save(fig, path)


def learned_prior(
    codes: np.ndarray,
    labels: np.ndarray,
    box: list[float],
    densities: list[tuple[str, np.ndarray]],
    pseudo_inputs: torch.Tensor,
    decoded: torch.Tensor,
    classes,
    title: str,
    path: Path,
) -> None:
    """A learned prior of a 2-D latent: each density (name, (G, G) over ``box`` = z₁ min, max, z₂ min, max, row 0
    at the top) shaded under the test codes, then the pseudo-inputs and their components' means decoded."""
    nrow = int(np.ceil(np.sqrt(len(pseudo_inputs))))
    with style():
        fig, axes = plt.subplots(1, len(densities) + 2, figsize=(4.6 * (len(densities) + 2), 4.9))
        for ax, (name, density) in zip(axes, densities, strict=False):  # the last two axes: the pseudo-inputs
            cells = density.shape[0]
            z1 = box[0] + (np.arange(cells) + 0.5) * (box[1] - box[0]) / cells
            z2 = box[3] - (np.arange(cells) + 0.5) * (box[3] - box[2]) / cells  # row 0 at the top
            ax.imshow(
                density,
                extent=box,
                cmap="Greys",
                vmin=0,
                vmax=density.max() * 1.6,
                aspect="equal",
                interpolation="bilinear",
            )
            ax.contour(
                z1, z2, density, levels=np.array([0.05, 0.25, 0.5, 0.75]) * density.max(), colors="#444", linewidths=0.7
            )
            _class_scatter(ax, codes, labels, size=1.2, alpha=0.35)
            ax.set(xlim=box[:2], ylim=box[2:], xlabel="z₁", ylabel="z₂", title=f"p(z) = {name} under the test codes")
        for ax, images, what in (
            (axes[-2], pseudo_inputs, "the pseudo-inputs u_k"),
            (axes[-1], decoded, "decoded at the mean of q(z|u_k)"),
        ):
            _show_grid(ax, images, nrow=nrow)
            ax.set_title(what)
        _class_legend(fig, classes, loc="lower center", ncol=len(classes.names), bbox_to_anchor=(0.5, -0.02))
        fig.suptitle(title)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        save(fig, path)


def interpolation_grid(
    rows: torch.Tensor,
    scores: np.ndarray,
    ratios: list[float],
    score_name: str,
    captions: list[str],
    title: str,
    path: Path,
) -> None:
    """Rows of (original 1, r_1, five decoded points, r_2, original 2): (R, 9, 1, 28, 28).

    ``scores`` (R, 7) is written under r_1, the five points and r_2.
    """
    n_rows, n_cols = rows.shape[:2]
    headers = ["original 1", "r₁"] + [f"{r:.1f}" for r in ratios] + ["r₂", "original 2"]
    with style():
        fig, ax = plt.subplots(figsize=(n_cols * 0.95, n_rows * 1.18 + 0.6))
        _show_grid(ax, rows.flatten(0, 1), nrow=n_cols, padding=10)
        for col, header in enumerate(headers):
            x, _ = _cell_centre(col, n_cols, padding=10)
            ax.text(x, -2, header, ha="center", va="bottom", fontsize=7.5)
        for row in range(n_rows):
            ax.text(
                -6,
                _cell_centre(row * n_cols, n_cols, padding=10)[1],
                captions[row],
                ha="right",
                va="center",
                fontsize=8,
            )
            for k, value in enumerate(scores[row]):
                x, y = _cell_centre(row * n_cols + k + 1, n_cols, padding=10)
                ax.text(x, y + 14.5, f"{value:.1f}", ha="center", va="top", fontsize=6.5, color="#222222")
        ax.set_title(f"{title}\nnumbers: {score_name}", pad=14)
        save(fig, path)


def loss_curves(history: list[dict], title: str, path: Path, terms: list[tuple[str, str]]) -> None:
    """Train and test loss per epoch, one panel per loss term (key in the history, label), the first (the
    reconstruction) on a log scale. A term the history holds only as zeros (an AE's KL in the histories of
    before the terms were named) gets no panel."""
    epochs = [h["epoch"] for h in history]
    panels = [
        (key, label) for key, label in terms if any(h.get(f"train_{key}") or h.get(f"test_{key}") for h in history)
    ]
    with style():
        fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels) + 1, 3.8), squeeze=False)
        dense = len(epochs) > 30  # markers on hundreds of epochs would hide the lines
        for ax, (key, label) in zip(axes[0], panels, strict=True):
            ax.plot(
                epochs,
                [h[f"train_{key}"] for h in history],
                "-" if dense else "o-",
                color="#1f77b4",
                label="train",
                ms=3,
            )
            ax.plot(
                epochs,
                [h[f"test_{key}"] for h in history],
                "--" if dense else "s--",
                color="#d62728",
                label="test",
                ms=3,
                lw=1 if dense else None,
            )
            ax.set(xlabel="epoch", title=label)
            if key == "recon":
                _plain_log_y(ax)
            ax.grid(alpha=0.3, which="both")
            ax.legend(frameon=False)
        fig.suptitle(title)
        fig.tight_layout()
        save(fig, path)


def image_grid(images: torch.Tensor, title: str, path: Path, nrow: int = 8) -> None:
    """A plain grid of digits, e.g. 64 decoded samples."""
    with style():
        fig, ax = plt.subplots(figsize=(nrow * 0.62, len(images) / nrow * 0.62 + 0.5))
        _show_grid(ax, images, nrow=nrow)
        ax.set_title(title)
        save(fig, path)


def _tick_label(value: float) -> str:
    """A latent coordinate as a tick label: three significant digits, with a true minus sign as on numeric axes."""
    return f"{value:.3g}".replace("-", "\u2212")


def manifold(images: torch.Tensor, z1: np.ndarray, z2: np.ndarray, title: str, path: Path) -> None:
    """Decoded images on a grid of latent points; ``images`` is (len(z2) * len(z1), 1, 28, 28),
    row-major with z₂ decreasing from the top row, as on a plot."""
    n = len(z1)
    with style():
        fig, ax = plt.subplots(figsize=(8, 8.4))
        ax.imshow(grid_image(images, nrow=n, padding=0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ticks = np.arange(n) * 28 + 13.5
        # Both ends are labelled (a stride of n // 5 dropped the last column's value); three significant digits
        # suit both the VAE's quantiles (±1.64) and an AE's codes (tens to hundreds).
        shown = np.unique(np.linspace(0, n - 1, min(n, 5)).round().astype(int))
        ax.set_xticks(ticks[shown], [_tick_label(v) for v in z1[shown]])
        ax.set_yticks(ticks[shown], [_tick_label(v) for v in z2[shown]])
        ax.set(xlabel="z₁", ylabel="z₂", title=title)
        ax.tick_params(labelsize=7)
        for spine in ax.spines.values():
            spine.set_visible(False)
        save(fig, path)


def style_planes(
    images: torch.Tensor, z1: np.ndarray, z2: np.ndarray, class_names: list[str], title: str, path: Path
) -> None:
    """One decoded plane per class: ``images`` (C, n * n, 1, 28, 28), each row-major over the axis values
    ``z1`` (n,) and ``z2`` (n,), z₂ as the rows run, decreasing from the top row as on a plot (as ``manifold``);
    panel c is titled by ``class_names[c]``."""
    n_classes, n = len(images), len(z1)
    columns = min(5, n_classes)
    rows = -(-n_classes // columns)
    with style():
        fig, axes = plt.subplots(rows, columns, figsize=(columns * 2.3, rows * 2.65 + 0.5), squeeze=False)
        for c, ax in enumerate(axes.flat):
            if c >= n_classes:
                ax.set_axis_off()
                continue
            ax.imshow(grid_image(images[c], nrow=n, padding=0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(shortened(class_names[c]), fontsize=10)
            for spine in ax.spines.values():
                spine.set_visible(False)
        fig.suptitle(title, fontsize=10)
        fig.text(
            0.5,
            0.005,
            f"in every panel: z₁ from {z1[0]:.2f} (left) to {z1[-1]:.2f} (right), "
            f"z₂ from {z2[0]:.2f} (top) to {z2[-1]:.2f} (bottom)",
            ha="center",
            va="bottom",
            fontsize=8,
        )
        fig.tight_layout(rect=(0, 0.03, 1, 0.97))
        save(fig, path)


def analogies(
    originals: torch.Tensor, x_hat: torch.Tensor, written: torch.Tensor, class_names: list[str], title: str, path: Path
) -> None:
    """Each row: a test image (R, 1, 28, 28), its reconstruction (R, 1, 28, 28), then its code decoded with
    every class (R, C, 1, 28, 28), the columns headed by ``class_names``."""
    n_rows, n_classes = written.shape[:2]
    n_cols = n_classes + 2
    cells = torch.cat([originals[:, None], x_hat[:, None], written], dim=1).flatten(0, 1)
    with style():
        fig, ax = plt.subplots(figsize=(n_cols * 0.62 + 0.4, n_rows * 0.62 + 0.9))
        _show_grid(ax, cells, nrow=n_cols, padding=4)
        headers = ["test\nimage", "recon-\nstruction", *(shortened(name, 10) for name in class_names)]  # 0.62 in each
        for col, header in enumerate(headers):
            x, _ = _cell_centre(col, n_cols, padding=4)
            ax.text(x, -2, header, ha="center", va="bottom", fontsize=7)
        # Wrapped to the grid's width (about 6.5 pt a character at the title's 10.8 pt): a title wider than
        # the grid ran to the image's edge.
        ax.set_title(textwrap.fill(title, width=int(n_cols * 0.62 * 72 / 6.5)), pad=22)
        save(fig, path)


def latent_distribution(
    codes: np.ndarray,
    per_dim: np.ndarray,
    per_dim_name: str,
    in_use: int,
    threshold_note: str,
    title: str,
    path: Path,
    reference,
    shown: int = 4,
) -> None:
    """Left: histograms of a few code dimensions against ``reference``'s marginal density (a prior's:
    ``marginal_pdf(dim)`` gives (t, density), ``marginal_name`` its name). Right: a per-dimension statistic
    (average KL or variance), sorted, to show how many dimensions carry information."""
    order = np.argsort(per_dim)[::-1]
    with style():
        fig = plt.figure(figsize=(12, 4.6))
        grid = fig.add_gridspec(2, 4, width_ratios=[1, 1, 0.15, 2.4])
        for k, dim in enumerate(order[:shown]):
            ax = fig.add_subplot(grid[k // 2, k % 2])
            lo, hi = min(-4, np.percentile(codes[:, dim], 0.5)), max(4, np.percentile(codes[:, dim], 99.5))
            ax.hist(codes[:, dim], bins=60, range=(lo, hi), density=True, color="#7f7f7f", alpha=0.8)
            ax.plot(*reference.marginal_pdf(dim), color="#d62728", lw=1.2, label=reference.marginal_name)
            ax.set_title(f"dimension {dim}", fontsize=8)
            ax.tick_params(labelsize=6)
            ax.set_yticks([])
            if k == 0:
                ax.legend(frameon=False, fontsize=6)
        ax = fig.add_subplot(grid[:, 3])
        ax.bar(np.arange(len(per_dim)), per_dim[order], color="#1f77b4")
        ax.set_xticks(np.arange(len(per_dim)), [str(d) for d in order], fontsize=6, rotation=90)
        ax.set(
            xlabel="latent dimension (sorted)",
            ylabel=per_dim_name,
            title=f"{in_use} of {len(per_dim)} dimensions in use ({threshold_note})",
        )
        _plain_log_y(ax)
        fig.suptitle(title)
        fig.tight_layout()
        save(fig, path)


def bound_vs_k(
    curves: dict[str, dict], references: list[tuple[str, float]], units: str, title: str, path: Path
) -> None:
    """The importance-sampled bound against k (log axis) for each model, with standard-error bars,
    the ELBO of each as a dashed line, and published values as grey lines.

    ``curves``: label -> evaluation.bounds_for_each_k's result; ``references``: (label, log-likelihood).
    """
    with style():
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        for number, (label, result) in enumerate(curves.items()):
            colour = CLASS_CMAP(number)
            ks = [b["k"] for b in result["bounds"]]
            ax.errorbar(
                ks,
                [b["mean"] for b in result["bounds"]],
                yerr=[b["se"] for b in result["bounds"]],
                fmt="o-",
                color=colour,
                ms=4,
                capsize=3,
                label=f"{label}: bound L_k",
            )
            ax.axhline(
                result["elbo"]["mean"],
                color=colour,
                ls="--",
                lw=1,
                label=f"{label}: ELBO ({result['elbo']['mean']:.2f} ± {result['elbo']['se']:.2f})",
            )
        for label, value in references:
            ax.axhline(value, color="#888888", lw=0.8, ls=":")
            ax.annotate(
                f"{label} ({value:.2f})",
                xy=(1.0, value),
                xycoords=("axes fraction", "data"),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
                color="#555555",
            )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        n = next(iter(curves.values()))["n_test"]
        ax.set(
            xlabel="importance samples k",
            ylabel=f"log p(x) bound ({units})",
            title=f"{title}\nmean over {n:,} test images; bars: ±1 standard error over images",
        )
        ax.grid(alpha=0.3, which="both")
        # below the axes: inside, it would cover the ELBO lines at the bottom or the curves' rise at the top
        ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.13))
        save(fig, path)


def sweep_plot(
    panels: dict[str, dict[str, tuple[list, list[list[float]]]]], xlabel: str, title: str, path: Path
) -> None:
    """A sweep's headline numbers against the swept setting, one panel each (a recipe can win on one and lose
    on another): each seed a dot, the mean a line with ±1 sd bars, one line per value of the other settings.
    ``panels``: the number's name -> its series, label -> (x values, the seeds' values at each)."""
    xs_all = [x for series in panels.values() for xs, _ in series.values() for x in xs]
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs_all)
    categories = list(dict.fromkeys(map(str, xs_all)))
    with style():
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels) + 1, 4.2), squeeze=False)
        for ax, (ylabel, series) in zip(axes[0], panels.items(), strict=True):
            for number, (label, (xs, values)) in enumerate(series.items()):
                colour = CLASS_CMAP(number)
                where = (
                    np.array(xs, dtype=float) if numeric else np.array([categories.index(str(x)) for x in xs], float)
                )
                kept = [i for i, v in enumerate(values) if v]
                for i in kept:
                    ax.scatter([where[i]] * len(values[i]), values[i], color=colour, s=10, alpha=0.5, lw=0)
                means = [np.mean(values[i]) for i in kept]
                sds = [np.std(values[i], ddof=1) if len(values[i]) > 1 else 0.0 for i in kept]
                ax.errorbar(where[kept], means, yerr=sds, fmt="o-", color=colour, ms=4, capsize=3, label=label)
            if numeric and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 10:
                ax.set_xscale("log")
                ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            if numeric:  # a tick at each swept value, labelled as it was given
                ax.set_xticks(sorted(set(xs_all)), [f"{x:g}" for x in sorted(set(xs_all))])
            else:
                ax.set_xticks(range(len(categories)), categories)
            ax.set(xlabel=xlabel, ylabel=ylabel)
            ax.grid(alpha=0.3)
            if len(series) > 1:
                ax.legend(frameon=False, fontsize=7)
        fig.suptitle(f"{title}\ndots: seeds; line: their mean, bars ±1 sd")
        save(fig, path)
