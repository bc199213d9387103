"""Every figure and animation of a finished run of an unconditional kind (the AE, the VAE), computed from its
model and the test split (a conditional kind's: ``conditional_gallery``; what both share: ``shared_figures``).

With those two it is where the model runs for pictures; ``figures`` and ``animations``
only draw. Test indices and seeds are fixed, so two rebuilds give the same files.
Where one kind's figures differ from another's (where z comes from, how a decoded image is
scored, which region of the latent plane to show, where samples come from), the model says so:
each kind's module in ``core/kinds/`` holds what its figures compute; this file only asks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.data import DeviceSplit
from ..core.distributions import StandardNormal
from ..core.passes import active_units
from ..core.progress import status
from . import animations, figures
from .planes import prior_density, square_bounds
from .shared_figures import (
    RATIOS,
    TSNE_POINTS,
    class_text,
    decode,
    figures_input,
    first_index_of,
    interpolation_pairs,
    items,
    table_line,
    write_interpolation,
    write_loss_curves,
    write_reconstructions,
    write_scatter,
)

NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
WALK_FRAMES = 96


@torch.no_grad()
def interpolation(model, name: str, test: DeviceSplit, out: Path, seed: int = 0) -> str:
    """The reference experiment: decode five points between two latents and score each decoded image.

    VAE: latent_1, latent_2 are drawn with the reparameterization trick (seed fixed);
    r_1, r_2 are their decodings; each decoded image gets its ELBO, computed by passing
    it back through the VAE. AE: the codes, and the reconstruction error of each
    decoded image passed back through the AE.
    """
    labels, classes = test.labels.cpu(), test.classes
    rows, scores, captions, lines = [], [], [], []
    for number, (a, b) in enumerate(interpolation_pairs(labels), start=1):
        i, j = first_index_of(labels, a), first_index_of(labels, b)
        x = figures_input(test, [i, j])  # (2, 1, 28, 28)
        latent = model.interpolation_latents(x, seed + number)  # (2, D): latent_1, latent_2
        ratios = torch.tensor([0.0] + RATIOS + [1.0], device=x.device)[:, None]
        points = (1 - ratios) * latent[0] + ratios * latent[1]  # (7, D): r_1, five points, r_2
        decoded = model.decode(points)  # (7, 1, 28, 28)
        score = model.score(decoded, seed)
        rows.append(torch.cat([x[:1], decoded, x[1:]]).cpu())
        scores.append(score.cpu().numpy())
        captions.append(f"{class_text(classes, a)} → {class_text(classes, b)}")
        lines.append(table_line(number, a, b, i, j, score))
    return write_interpolation(
        model,
        name,
        classes,
        rows,
        scores,
        captions,
        lines,
        "ratio r decodes (1 - r) * latent_1 + r * latent_2" + model.interpolation_note,
        f"interpolation between two test {items(classes)}",
        out,
    )


@torch.no_grad()
def samples(model, name: str, state: dict, out: Path, seed: int = 0) -> None:
    z, where = model.sample_latents(torch.Generator().manual_seed(seed), 64, state)
    figures.image_grid(decode(model, z), f"{name}: 64 samples, {where}", out / "samples.png")


def write_latent_distribution(model, name: str, codes: torch.Tensor, test: DeviceSplit, out: Path) -> None:
    in_use = active_units(codes)[0]
    per_dim, statistic = model.per_dimension(codes, test)
    # Against the model's prior; an AE has none, and its codes are set against N(0, 1) for their scale.
    reference = model.prior if model.traits.prior else StandardNormal(model.latent_dim)
    figures.latent_distribution(
        codes.numpy(),
        per_dim,
        statistic,
        in_use,
        "Var over x of the code > 0.01",
        f"{name}: distribution of the test codes",
        out / "latent_distribution.png",
        reference,
    )


def write_manifold(model, name: str, codes: np.ndarray, out: Path) -> None:
    z1, z2, where = model.manifold_axes(codes)
    z2_top_down = z2[::-1]
    grid = torch.tensor(np.stack(np.meshgrid(z1, z2_top_down), -1).reshape(-1, 2), dtype=torch.float32)
    figures.manifold(
        decode(model, grid),
        z1,
        z2_top_down,
        f"{name}: decoded latent plane, 20×20 grid over the {where}",
        out / "manifold.png",
    )


def write_walks(model, name: str, codes: np.ndarray, labels: np.ndarray, classes, out: Path) -> None:
    """sampling_1: a closed loop through the class centres (the ten digits' on MNIST); sampling_2: a
    spiral from the densest region out into empty space and back; a kind with a prior: vae_latent_walk,
    a walk under the prior."""
    present = [d for d in range(len(classes)) if (labels == d).any()]
    centres = np.stack([np.median(codes[labels == d], axis=0) for d in present])
    middle = np.median(codes, axis=0)
    order = np.argsort(np.arctan2(*(centres - middle).T[::-1]))
    loop = animations.closed_spline(centres[order], WALK_FRAMES)
    counts, xs, ys = np.histogram2d(codes[:, 0], codes[:, 1], bins=40)
    peak = np.unravel_index(np.argmax(counts), counts.shape)
    densest = np.array([(xs[peak[0]] + xs[peak[0] + 1]) / 2, (ys[peak[1]] + ys[peak[1] + 1]) / 2])
    radius = 1.3 * np.percentile(np.linalg.norm(codes - densest, axis=1), 99)
    spiral = animations.spiral_out_and_back(densest, radius, WALK_FRAMES)
    walks = {
        "sampling_1.gif": (
            loop,
            f"a loop through the {NUMBER_WORDS.get(len(present), len(present))} {classes.noun} centres",
        ),
        "sampling_2.gif": (spiral, "from the densest region out into empty space"),
    }
    if model.traits.prior:
        walks["vae_latent_walk.gif"] = (
            model.prior.walk(120, seed=0),
            f"a smooth random walk under the prior {model.prior.name}",
        )
    for filename, (walk, what) in walks.items():
        with status(f"drawing {filename}"):
            decoded = decode(model, torch.tensor(walk, dtype=torch.float32))
            animations.latent_walk_gif(codes, labels, classes, walk, decoded, f"{name}: {what}", out / filename)


def write_interpolation_gif(model, name: str, test: DeviceSplit, out: Path) -> None:
    labels, classes = test.labels.cpu(), test.classes
    a, b = interpolation_pairs(labels)[0]
    x = figures_input(test, [first_index_of(labels, a), first_index_of(labels, b)])
    with torch.no_grad():
        latent = model.code(x)
    there = np.linspace(0, 1, 24)
    ratios = np.concatenate([there, there[::-1][1:-1]])  # (46,): there and back, looping cleanly
    r = torch.tensor(ratios, dtype=torch.float32, device=latent.device)[:, None]
    decoded = decode(model, (1 - r) * latent[0] + r * latent[1])
    with status("drawing interpolation.gif"):
        animations.decoded_sequence_gif(
            decoded,
            [f"ratio {v:.2f}" for v in ratios],
            f"{name}: from a {class_text(classes, a)} to a {class_text(classes, b)} and back",
            out / "interpolation.gif",
        )


LEARNED_PRIOR_FILE = "learned_prior.png"


@torch.no_grad()
def write_learned_prior(model, name: str, codes: np.ndarray, labels: np.ndarray, classes, out: Path) -> None:
    """A prior of a 2-D latent made of learned images (the VampPrior's pseudo-inputs) beside N(0, I), under the
    test codes, with its images and their components' means decoded."""
    box = square_bounds(codes)
    densities = [(prior.name, prior_density(prior, box)) for prior in (StandardNormal(2), model.prior)]
    images = model.prior.images().float().cpu()
    decoded = decode(model, model.prior.mixture()[0])
    figures.learned_prior(
        codes,
        labels,
        box,
        densities,
        images,
        decoded,
        classes,
        f"{name}: its learned prior",
        out / LEARNED_PRIOR_FILE,
    )


def write_gallery(
    model, name: str, state: dict, test: DeviceSplit, encoded: torch.Tensor, out: Path, tsne_points: int = TSNE_POINTS
) -> None:
    """All figures of a run into ``out``; ``encoded`` is ``metrics.encode_split`` of the test split
    (N, latent_dim); a 32-D scatter's t-SNE shows at most ``tsne_points`` of them; ``name``: the model as every
    title names it (``names.figure_name``). Prints the interpolation table as the reference did."""
    model.eval()
    out = Path(out)
    codes = encoded.numpy()
    labels = test.labels.cpu().numpy()
    write_reconstructions(model, name, test, out)
    write_scatter(model, name, codes, labels, test.classes, out, tsne_points)
    print(interpolation(model, name, test, out), end="")
    write_loss_curves(model, name, state, out)
    samples(model, name, state, out)
    if model.latent_dim == 2:
        write_manifold(model, name, codes, out)
        write_walks(model, name, codes, labels, test.classes, out)
        if model.traits.prior and hasattr(model.prior, "images"):  # a prior made of learned images
            write_learned_prior(model, name, codes, labels, test.classes, out)
    else:
        write_latent_distribution(model, name, encoded, test, out)
        write_interpolation_gif(model, name, test, out)
    print(f"Figures written to {out}/")
