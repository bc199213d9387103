"""The figures of a conditional model (``traits.conditional``: the CVAE), computed from its model and the
test split; ``figures`` and ``animations`` draw them. Where the unconditional kinds show one decoded plane,
a conditional model has one per label, and a code means "how it is written" whatever the label:

  style_planes.png       the 2-D z decoded on one grid with each label, side by side (Kingma et al. 2014, fig. 1)
  analogies.png          one test image per class, its reconstruction, and its code decoded with every label
  interpolation.png/.txt the reference experiment with ELBO values: two test images of one class, and two of
                         different classes with the label switched halfway
  samples.png            z ~ p(z), each draw written as every label
  cvae_style_walk.gif    a walk under the prior, every label written in the same moving style
and, as for every folder, reconstructions.png, latent_scatter.png and loss_curves.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.conditioning import every_label
from ..core.data import DeviceSplit
from ..core.progress import status
from . import animations, figures
from .shared_figures import (
    RATIOS,
    class_text,
    figures_input,
    first_index_of,
    interpolation_pairs,
    items,
    reconstruct,
    table_line,
    write_interpolation,
    write_loss_curves,
    write_reconstructions,
    write_scatter,
)

PLANE_POINTS = 12  # a style plane's grid is PLANE_POINTS x PLANE_POINTS
SAMPLE_DRAWS = 8  # samples.png: this many z ~ p(z), each written as every label
WALK_FRAMES = 120


def write_style_planes(model, name: str, codes: np.ndarray, classes, out: Path) -> None:
    z1, z2, where = model.manifold_axes(codes, PLANE_POINTS)
    z2_top_down = z2[::-1]
    grid = torch.tensor(np.stack(np.meshgrid(z1, z2_top_down), -1).reshape(-1, 2), dtype=torch.float32)  # (n², 2)
    planes = every_label(model, grid, len(classes)).transpose(0, 1)  # (C, n², 1, 28, 28)
    figures.style_planes(
        planes,
        z1,
        z2_top_down,
        list(classes.names),
        f"{name}: the same style plane written as each {classes.noun}, "
        f"{PLANE_POINTS}×{PLANE_POINTS} grid over the {where}",
        out / "style_planes.png",
    )


def analogy_indices(labels: torch.Tensor, classes: int) -> list[int]:
    """The first test image of each class the split has, in the classes' order."""
    return [first_index_of(labels, c) for c in range(classes) if (labels == c).any()]


@torch.no_grad()
def write_analogies(model, name: str, test: DeviceSplit, out: Path) -> None:
    labels, classes = test.labels.cpu(), test.classes
    index = analogy_indices(labels, len(classes))
    x, y = figures_input(test, index), test.labels[index]
    written = every_label(model, model.code(x, y).cpu(), len(classes))  # the style of x, as every label
    figures.analogies(
        x.cpu(),
        reconstruct(model, x, y),
        written,
        list(classes.names),
        f"{name}: each test {classes.noun}'s code (posterior mean given its label) decoded with every label",
        out / "analogies.png",
    )


@torch.no_grad()
def interpolation(model, name: str, test: DeviceSplit, out: Path, seed: int = 0) -> str:
    """The reference experiment for a conditional model: five points between two latents drawn with the
    reparameterization trick (seed fixed), each decoded image scored by its ELBO given its label. Two rows
    per class pair: two test images of the first class (its label throughout), and the pair's two classes
    (the first's label up to r < 0.5, the second's from r = 0.5 on)."""
    labels, classes = test.labels.cpu(), test.classes
    ratios = torch.tensor([0.0] + RATIOS + [1.0])  # r_1, five points, r_2
    rows, scores, captions, lines = [], [], [], []
    for a, b in interpolation_pairs(labels):
        same = (labels == a).nonzero()[:2, 0].tolist()
        for i, j in ([same[0], same[-1]], [first_index_of(labels, a), first_index_of(labels, b)]):
            number = len(rows) + 1
            x, ends = figures_input(test, [i, j]), test.labels[[i, j]]
            latent = model.interpolation_latents(x, seed + number, ends)  # (2, D): latent_1, latent_2
            r = ratios.to(x.device)[:, None]
            points = (1 - r) * latent[0] + r * latent[1]  # (7, D)
            y = torch.where(r[:, 0] < 0.5, ends[0], ends[1])  # (7,): the label switched halfway
            decoded = model.decode(points, y)
            score = model.score(decoded, seed, y)
            rows.append(torch.cat([x[:1], decoded, x[1:]]).cpu())
            scores.append(score.cpu().numpy())
            second = int(labels[j])
            captions.append(f"{class_text(classes, a)} → {class_text(classes, second)}")
            lines.append(table_line(number, a, second, i, j, score))
    return write_interpolation(
        model,
        name,
        classes,
        rows,
        scores,
        captions,
        lines,
        "ratio r decodes (1 - r) * latent_1 + r * latent_2 with the label of image 1 for r < "
        "0.5 and of image 2 from r = 0.5; latent_i drawn with the reparameterization trick "
        "given image i's label, seed fixed.",
        f"interpolation between two test {items(classes)} (between two classes, the label switches at r = 0.5)",
        out,
    )


def samples(model, name: str, classes, out: Path, seed: int = 0) -> None:
    z = model.prior.sample(SAMPLE_DRAWS, torch.Generator().manual_seed(seed))
    images = every_label(model, z, len(classes)).flatten(0, 1)
    figures.image_grid(
        images,
        f"{name}: {SAMPLE_DRAWS} draws z ~ {model.prior.name} (rows), each written as every {classes.noun} (columns)",
        out / "samples.png",
        nrow=len(classes),
    )


def write_style_walk(model, name: str, codes: np.ndarray, labels: np.ndarray, classes, out: Path) -> None:
    walk = model.prior.walk(WALK_FRAMES, seed=0)
    with status("drawing cvae_style_walk.gif"):
        decoded = every_label(model, torch.tensor(walk, dtype=torch.float32), len(classes))
        animations.style_walk_gif(
            codes,
            labels,
            walk,
            decoded,
            list(classes.names),
            f"{name}: a smooth random walk under the prior {model.prior.name}",
            out / "cvae_style_walk.gif",
        )


def write_conditional_gallery(
    model, name: str, state: dict, test: DeviceSplit, encoded: torch.Tensor, out: Path, tsne_points: int
) -> None:
    """All figures of a conditional run into ``out`` (the module docstring lists them); ``encoded``: the test
    codes given their labels (N, latent_dim); ``name``: the model as every title names it (``names.figure_name``).
    Prints the interpolation table as the reference did."""
    model.eval()
    out = Path(out)
    codes, labels = encoded.numpy(), test.labels.cpu().numpy()
    write_reconstructions(model, name, test, out)
    write_scatter(model, name, codes, labels, test.classes, out, tsne_points)
    print(interpolation(model, name, test, out), end="")
    write_loss_curves(model, name, state, out)
    samples(model, name, test.classes, out)
    write_analogies(model, name, test, out)
    if model.latent_dim == 2:
        write_style_planes(model, name, codes, test.classes, out)
        write_style_walk(model, name, codes, labels, test.classes, out)
    print(f"Figures written to {out}/")
