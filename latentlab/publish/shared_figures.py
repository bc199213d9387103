"""What the figures of every model kind share: decoding in batches, which test images they show and how
captions name them, and the figures every result folder has (reconstructions, the latent scatter, the loss
curves). Every figure is given the model's ``name`` for its title (``names.figure_name``).
``unconditional_gallery`` draws the rest for the unconditional kinds, ``conditional_gallery`` for a
conditional one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from ..core.data import DeviceSplit, to_float
from ..core.display import shortened, shown
from ..core.errors import LatentlabError
from ..core.files import write_text_atomic
from ..core.losses import term_key
from ..core.progress import plural_of, status
from . import figures

RATIOS = [0.1, 0.3, 0.5, 0.7, 0.9]
INTERPOLATION_PAIRS = [(1, 7), (3, 8), (4, 9), (0, 6)]  # class pairs (digits on MNIST); their first test images
TSNE_POINTS = 5000


@torch.no_grad()
def decode(model, z: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 1000) -> torch.Tensor:
    """(N, D) with labels (N,) for a conditional kind -> (N, 1, 28, 28) on the CPU."""
    device = next(model.parameters()).device
    labels = [None] * len(z.split(batch_size)) if y is None else y.to(device).split(batch_size)
    return torch.cat(
        [
            model.decode(part.to(device), label).float().cpu()
            for part, label in zip(z.split(batch_size), labels, strict=True)
        ]
    )


@torch.no_grad()
def reconstruct(model, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """The deterministic reconstruction: the AE's output, the VAE's decoded posterior mean."""
    return decode(model, model.code(x, y), y)


def first_index_of(labels: torch.Tensor, label: int) -> int:
    return int((labels == label).nonzero()[0])


def interpolation_pairs(labels: torch.Tensor) -> list[tuple[int, int]]:
    """The class pairs interpolated between: the fixed pairs where the test split has all ten classes,
    else up to four pairs of neighbouring classes among those it has."""
    present = sorted(set(labels.tolist()))
    if present == list(range(10)):
        return INTERPOLATION_PAIRS
    if len(present) < 2:
        raise LatentlabError(
            "The test split holds images of one class only; the interpolation figures need "
            "two. Add test images of another class."
        )
    return [(present[k], present[k + 1]) for k in range(min(4, len(present) - 1))]


def class_text(classes, label: int) -> str:
    """How a caption names a class: the digit itself on MNIST, else the class name (``shortened``)."""
    return shortened(classes.names[label])


def items(classes) -> str:
    """What a caption calls the test images: "digits" on MNIST, "images" elsewhere."""
    return plural_of(classes.noun) if classes.noun == "digit" else "images"


def write_reconstructions(model, name: str, test: DeviceSplit, out: Path) -> None:
    n = min(16, len(test))
    x = figures_input(test, range(n))
    x_hat = reconstruct(model, x, test.labels[:n])
    errors = model.likelihood.reconstruction_per_image(x_hat, x.cpu())  # the model's own -log p(x|z)
    figures.reconstructions(
        x.cpu(),
        x_hat,
        errors,
        model.likelihood.reconstruction_units,
        f"{name}: test {items(test.classes)} 0-{n - 1} and their reconstructions",
        out / "reconstructions.png",
    )


def figures_input(test: DeviceSplit, indices) -> torch.Tensor:
    """Test images at fixed indices as a float batch on the split's device: (B, 1, 28, 28)."""
    return to_float(test.images[list(indices)])


def write_scatter(
    model, name: str, codes: np.ndarray, labels: np.ndarray, classes, out: Path, tsne_points: int = TSNE_POINTS
) -> None:
    title = f"{name}: test codes by {classes.noun}{model.code_note}"
    if model.latent_dim == 2:
        figures.latent_scatter_2d(codes, labels, classes, title, out / "latent_scatter.png")
        return
    pca = PCA(n_components=2, random_state=0).fit_transform(codes)
    subset = np.random.default_rng(0).permutation(len(codes))[:tsne_points]
    with status(f"t-SNE of {len(subset):,} test codes"):
        # perplexity must stay below the number of points: a small folder of own images has few
        tsne = TSNE(n_components=2, init="pca", random_state=0, perplexity=min(30, len(subset) - 1)).fit_transform(
            codes[subset]
        )
    figures.latent_scatter_projections(pca, labels, tsne, labels[subset], classes, title, out / "latent_scatter.png")


def table_line(number: int, a: int, b: int, i: int, j: int, score: torch.Tensor) -> str:
    """One row of interpolation.txt: pair number, classes, test indices, and the scores of the five points."""
    values = "  ".join(f"{v:8.2f}" for v in score[1:-1].tolist())
    return f"{number:<5d} {a}->{b:<4d} {i:>5d} {j:>5d}  {values}"


def write_interpolation(
    model,
    name: str,
    classes,
    rows: list,
    scores: list,
    captions: list[str],
    lines: list[str],
    how: str,
    title: str,
    out: Path,
) -> str:
    """interpolation.png and interpolation.txt from the rows of the reference experiment (original 1, r_1, five
    points, r_2, original 2: (9, 1, 28, 28) each) and their scores (7,), under "``name``: ``title``"; ``how`` says
    how the points were made. Returns the table, which the scripts print as the reference did. Class names are
    written ``shown``: a line break in one would end its comment line and start a line ``np.loadtxt`` reads as
    data."""
    text = (
        "\n".join(
            [
                f"# {name}: " + model.score_name.replace("\n", " ") + ".",
                "# " + how,
                *(
                    []
                    if classes.noun == "digit"
                    else [f"# classes: {', '.join(f'{k} {shown(n)}' for k, n in enumerate(classes.names))}"]
                ),
                f"# pair  {plural_of(classes.noun):<7s} idx_1 idx_2  " + "  ".join(f"   r={r:.1f}" for r in RATIOS),
                *lines,
            ]
        )
        + "\n"
    )
    figures.interpolation_grid(
        torch.stack(rows),
        np.stack(scores),
        RATIOS,
        model.score_name,
        captions,
        f"{name}: {title}",
        out / "interpolation.png",
    )
    write_text_atomic(text, out / "interpolation.txt")
    return text


def write_loss_curves(model, name: str, state: dict, out: Path) -> None:
    figures.loss_curves(
        state["history"],
        f"{name}: loss per epoch",
        out / "loss_curves.png",
        [(term_key(term), model.term_label(term)) for term in model.terms],
    )
