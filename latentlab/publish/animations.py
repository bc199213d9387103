"""Animated GIFs of walks through the latent space, and the paths they follow.

Paths are pure functions of a few points or a seed; the GIF writers are pure functions
of codes, decoded images and a path. Frames are drawn with matplotlib (the scatter
once, only the moving parts per frame) and written with Pillow, looping forever.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..core.display import shortened
from ..core.files import atomic_path
from .figures import CLASS_CMAP, _class_legend, _class_scatter, plt, style

FRAME_MS = 70


def closed_spline(points: np.ndarray, frames: int) -> np.ndarray:
    """A smooth closed curve through ``points`` (K, 2) in order: a periodic Catmull-Rom spline.

    Catmull-Rom passes through every control point (here, every digit centre), which a
    B-spline would only approach.
    """
    k = len(points)
    t = np.linspace(0, k, frames, endpoint=False)
    i = np.floor(t).astype(int)
    u = (t - i)[:, None]
    p0, p1, p2, p3 = (points[(i + d) % k] for d in (-1, 0, 1, 2))
    return 0.5 * (2 * p1 + (p2 - p0) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2 + (3 * p1 - p0 - 3 * p2 + p3) * u**3)


def spiral_out_and_back(centre: np.ndarray, radius: float, frames: int, turns: float = 2.5) -> np.ndarray:
    """From ``centre`` spiralling out to ``radius`` and back in along the same curve."""
    half = frames // 2
    s = np.linspace(0, 1, half)
    out = centre + radius * s[:, None] * np.stack([np.cos(2 * np.pi * turns * s), np.sin(2 * np.pi * turns * s)], 1)
    return np.concatenate([out, out[::-1][1:-1]])[:frames]


class _Blitter:
    """Draws the static parts of a figure once and only the moving artists per frame.

    A full redraw of a 10,000-point scatter costs about 0.2 s a frame; blitting cuts
    that to a few milliseconds.
    """

    def __init__(self, fig, moving: list):
        self.fig, self.moving = fig, moving
        for artist in moving:
            artist.set_animated(True)
        fig.canvas.draw()
        self.background = fig.canvas.copy_from_bbox(fig.bbox)

    def frame(self) -> np.ndarray:
        self.fig.canvas.restore_region(self.background)
        for artist in self.moving:
            self.fig.draw_artist(artist)
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()


def _palette() -> np.ndarray:
    """(256, 3): the ten class colours, then 246 evenly spaced grays from black to pure white.

    The frames are white paper, gray images and text, and opaque class-coloured dots,
    so this fixed palette holds every colour they use, up to antialiased edges.
    """
    colours = [[round(255 * c) for c in CLASS_CMAP(d)[:3]] for d in range(10)]
    colours += [[g, g, g] for g in np.linspace(0, 255, 246).round().astype(int).tolist()]
    return np.array(colours, dtype=np.int32)


def _palette_indices(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) frames -> (T, H, W) uint8: each pixel's nearest colour in ``_palette()``.

    Nearest neighbours are computed once per distinct colour (a few thousand, from
    antialiased edges), found and looked up through a table indexed by the 24-bit
    colour: sorting the ~20 million pixels of a walk to find them took seconds.
    """
    palette = _palette()
    packed = (frames[..., 0].astype(np.int32) << 16) | (frames[..., 1].astype(np.int32) << 8) | frames[..., 2]
    present = np.zeros(1 << 24, dtype=bool)
    present[packed] = True
    distinct = np.flatnonzero(present)
    rgb = np.stack([distinct >> 16, (distinct >> 8) & 255, distinct & 255], axis=1)
    table = np.zeros(1 << 24, dtype=np.uint8)
    table[distinct] = np.argmin(((rgb[:, None, :] - palette[None]) ** 2).sum(-1), axis=1)
    return table[packed]


def _write_gif(frames: list[np.ndarray], path: Path) -> None:
    """Write frames on one fixed palette of 256 colours, with no dithering, looping forever.

    Left to itself, a GIF writer picks a palette per frame and dithers, so the static
    scatter differs from frame to frame and the file grows past 4 MB; on one shared
    palette the unchanged regions are identical and only the moving parts are stored.
    The frames go to Pillow as palette images: through imageio they would go as RGB,
    which Pillow quantizes again frame by frame (seconds per GIF), and imageio's
    palette option turns off the transparent unchanged pixels (files four times larger).
    """
    palette = _palette().astype(np.uint8).tobytes()
    images = []
    for indices in _palette_indices(np.stack(frames)):
        image = Image.fromarray(indices, mode="P")
        image.putpalette(palette)
        images.append(image)
    with atomic_path(Path(path)) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=FRAME_MS, loop=0)


def latent_walk_gif(
    codes: np.ndarray,
    labels: np.ndarray,
    classes,
    walk: np.ndarray,
    decoded: torch.Tensor,
    title: str,
    path: Path,
    trail: int = 16,
) -> None:
    """Two panels per frame: the test codes with the current point and its trail, and the
    image decoded at that point. ``walk`` (T, 2), ``decoded`` (T, 1, 28, 28)."""
    images = decoded.detach().cpu().clamp(0, 1)[:, 0].numpy()
    with style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 4.4), dpi=80, gridspec_kw={"width_ratios": [1.25, 1]})
        _class_scatter(left, codes, labels, size=1.5, alpha=1.0)
        span = np.vstack([np.percentile(codes, [0.5, 99.5], axis=0), walk.min(0), walk.max(0)])
        pad = 0.05 * (span.max(0) - span.min(0))
        left.set(
            xlim=(span[:, 0].min() - pad[0], span[:, 0].max() + pad[0]),
            ylim=(span[:, 1].min() - pad[1], span[:, 1].max() + pad[1]),
            xlabel="z₁",
            ylabel="z₂",
        )
        _class_legend(
            left,
            classes,
            loc="upper left",
            fontsize=8,
            title_fontsize=8,
            ncol=2,
            handletextpad=0.1,
            columnspacing=0.5,
            borderaxespad=0.2,
        )
        (line,) = left.plot([], [], "-", color="black", lw=1.2, alpha=0.7)
        (dot,) = left.plot([], [], "o", ms=8, mfc="white", mec="black", mew=2)
        shown = right.imshow(images[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        right.set_axis_off()
        caption = right.set_title("")
        fig.suptitle(title, fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.97))
        blitter = _Blitter(fig, [line, dot, shown, caption])
        frames = []
        for t in range(len(walk)):
            line.set_data(walk[max(0, t - trail) : t + 1, 0], walk[max(0, t - trail) : t + 1, 1])
            dot.set_data([walk[t, 0]], [walk[t, 1]])
            shown.set_data(images[t])
            caption.set_text(f"decoded at z = ({walk[t, 0]:+.2f}, {walk[t, 1]:+.2f})")
            frames.append(blitter.frame())
        plt.close(fig)
    _write_gif(frames, path)


def style_walk_gif(
    codes: np.ndarray,
    labels: np.ndarray,
    walk: np.ndarray,
    decoded: torch.Tensor,
    class_names: list[str],
    title: str,
    path: Path,
    trail: int = 16,
) -> None:
    """A conditional model's walk: the test codes with the current point and its trail, beside the image
    decoded there with each class, all in the same moving style. ``walk`` (T, 2), ``decoded`` (T, C, 1, 28, 28)."""
    images = decoded.detach().cpu().clamp(0, 1)[:, :, 0].numpy()  # (T, C, 28, 28)
    n_classes = images.shape[1]
    columns = min(5, n_classes)
    rows = -(-n_classes // columns)
    with style():
        fig = plt.figure(figsize=(9.6, 4.4), dpi=80)
        grid = fig.add_gridspec(rows, columns + 3, width_ratios=[1] * 3 + [0.78] * columns)
        left = fig.add_subplot(grid[:, :3])
        _class_scatter(left, codes, labels, size=1.5, alpha=1.0)
        span = np.vstack([np.percentile(codes, [0.5, 99.5], axis=0), walk.min(0), walk.max(0)])
        pad = 0.05 * (span.max(0) - span.min(0))
        left.set(
            xlim=(span[:, 0].min() - pad[0], span[:, 0].max() + pad[0]),
            ylim=(span[:, 1].min() - pad[1], span[:, 1].max() + pad[1]),
            xlabel="z₁",
            ylabel="z₂",
        )
        left.set_title("test codes given their label", fontsize=8)
        (line,) = left.plot([], [], "-", color="black", lw=1.2, alpha=0.7)
        (dot,) = left.plot([], [], "o", ms=8, mfc="white", mec="black", mew=2)
        shown = []
        for c in range(n_classes):
            ax = fig.add_subplot(grid[c // columns, 3 + c % columns])
            shown.append(ax.imshow(images[0, c], cmap="gray", vmin=0, vmax=1, interpolation="nearest"))
            ax.set_axis_off()
            ax.set_title(shortened(class_names[c]), fontsize=9)
        caption = fig.text(0.5, 0.02, "", ha="center", fontsize=9)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout(rect=(0, 0.05, 1, 0.95))
        blitter = _Blitter(fig, [line, dot, *shown, caption])
        frames = []
        for t in range(len(walk)):
            line.set_data(walk[max(0, t - trail) : t + 1, 0], walk[max(0, t - trail) : t + 1, 1])
            dot.set_data([walk[t, 0]], [walk[t, 1]])
            for c, artist in enumerate(shown):
                artist.set_data(images[t, c])
            caption.set_text(f"every class decoded at the same z = ({walk[t, 0]:+.2f}, {walk[t, 1]:+.2f})")
            frames.append(blitter.frame())
        plt.close(fig)
    _write_gif(frames, path)


def decoded_sequence_gif(decoded: torch.Tensor, captions: list[str], title: str, path: Path) -> None:
    """One panel: the decoded images (T, 1, 28, 28) in turn, each with its caption."""
    images = decoded.detach().cpu().clamp(0, 1)[:, 0].numpy()
    with style():
        fig, ax = plt.subplots(figsize=(3.6, 4.0), dpi=80)
        shown = ax.imshow(images[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_axis_off()
        caption = ax.set_title("", fontsize=9)
        fig.suptitle(title, fontsize=9)
        blitter = _Blitter(fig, [shown, caption])
        frames = []
        for image, text in zip(images, captions, strict=True):
            shown.set_data(image)
            caption.set_text(text)
            frames.append(blitter.frame())
        plt.close(fig)
    _write_gif(frames, path)
