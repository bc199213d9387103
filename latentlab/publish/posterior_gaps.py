"""What ``python -m latentlab posterior FOLDER`` computes and writes: a 2-D VAE's true posterior, log p(x) by quadrature, and the two
parts of its gap (Cremer, Li & Duvenaud 2018), with the importance-sampled bound against the exact value.

Writes into the result folder:
  posterior_gaps.json        per test image: its index, log p(x), ELBO(q), ELBO(q*), q and q*, the
                             reconstruction error at q's mean, and (the first ``is_images``) the bound at each k;
                             its q refined by gradient steps on its own ELBO (core/refinement.py): the ELBO after
                             each recorded number of steps, the refined q, and the bound at k = ``REFINED_K``
                             with the encoder's q and with the refined q as proposal;
                             the grid, its convergence and error bounds, the image counts (the seconds are
                             printed, not written: a rerun writes the same bytes)
  posterior_heatmaps.png     p(z|x) of four test images with q's and q*'s ellipses (publish/posterior_figures.py)
  posterior_gaps.png         the gaps over the images, and the bound's distance to log p(x) against k
  refinement.png             the mean ELBO against the number of refining steps, with ELBO(q*) and log p(x)
  posterior_page.npz         what the explorer page shows of each pick (``page_arrays``)
and the summary (mean ± standard error) into metrics.json under "posterior_gaps". The computation itself is
core/posterior.py; every draw is seeded, so a rerun gives the same bytes on the same machine and threads.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..core import posterior, refinement
from ..core.data import to_float
from ..core.display import shortened
from ..core.distributions import device_of
from ..core.files import atomic_path, file_sha256, write_json_atomic
from ..core.log_likelihood import decoder, rounded_mean_and_se
from ..core.passes import cpu_prior
from ..core.recorded import read_json
from .explorer import POSTERIOR_PAGE_FILE as PAGE_FILE  # the page reads it (explorer.read_page_arrays)

GAPS_FILE = posterior.GAPS_FILE
HEATMAPS_FILE, FIGURE_FILE, REFINEMENT_FILE = "posterior_heatmaps.png", "posterior_gaps.png", "refinement.png"
N_IMAGES = 500  # the explorer page's picks (explorer.PICKS): the gaps of every image it can show
IS_IMAGES = 100  # 5,000 decodes each: the bound's cost
KS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
SPACING, HALF_WIDTH, NARROWER = posterior.SPACING, posterior.HALF_WIDTH, posterior.NARROWER
ERROR_TARGET, MAX_POINTS = posterior.ERROR_TARGET, posterior.MAX_POINTS
IS_BATCH = 50  # images per batch of the bound: 50 x 100 samples = 5,000 decodes at once
REFINED_K = 100  # the bound with the encoder's and the refined q as proposal, on every analysed image
SHORT_OF_Q_STAR = 0.01  # nats: a refined q this far below ELBO(q*) stopped by another mode than q*'s


@torch.no_grad()
def importance_sampled(model, x: torch.Tensor, ks: list[int], seed: int, q: tuple | None = None) -> torch.Tensor:
    """The bound at each k of images x (B, 1, 28, 28), ``IS_BATCH`` images at a time, as evaluation.per_image_bounds
    draws it (a generator seeded with ``seed``, one draw after another): (len(ks), B) float64. The proposal is
    the encoder's q(z|x), or ``q`` = (mean, log_var), (B, 2) each, given: the same seed, the same draws."""
    generator = torch.Generator(device=x.device).manual_seed(seed)
    out = []
    for start in range(0, len(x), IS_BATCH):
        batch = x[start : start + IS_BATCH]
        if q is None:
            mean, log_var = model.encode(batch)
        else:
            mean, log_var = (t[start : start + IS_BATCH].to(x.device, torch.float32) for t in q)

        def log_likelihood(z: torch.Tensor, batch=batch) -> torch.Tensor:
            x_hat = model.decode(z.flatten(0, 1))
            target = batch.expand(z.shape[0], *batch.shape).flatten(0, 1)
            return -model.likelihood.reconstruction_per_image(x_hat, target).view(z.shape[:2])

        out.append(posterior.importance_sampled_bounds(mean, log_var, model.prior, log_likelihood, ks, generator).cpu())
    return torch.cat(out, dim=1)


@torch.no_grad()
def analyse_model(
    model, x: torch.Tensor, spacing: float | None = None, half_width: float | None = None, narrower: tuple | None = None
) -> posterior.Analysis:
    """``posterior.analyse`` of a 2-D VAE on images x (N, 1, 28, 28), by default on the grid SPACING, HALF_WIDTH,
    its convergence checked against the grids of half-width NARROWER.

    The default grid holds every image's q(z|x) to 6 sd for the VAEs with the prior N(0, I). A model whose
    posteriors reach further (a learned prior lets the codes spread: the 2-D VampPrior VAE's reach about 17)
    gets that grid scaled by the factor needed, wider and coarser alike, so that it costs the same decodes.
    Where that spacing is too coarse for the sharpest posteriors (a broad q, whose reach sets the width,
    beside a sharp p(z|x): the IWAE-trained VAE), the grid's own error bound says so: some image's number
    changes by more than ERROR_TARGET on the grid of twice the spacing. The spacing is then halved once, the
    width kept (four times the points: MAX_POINTS per axis), and the bound read again.

    Nothing of the coarser grid is thrown away: its points are every second point of the finer one, whose decodes
    are taken from it, and the bound is first read on log p(x) and ELBO(q), which need no q*; q* is found on
    the coarser grid only when those two numbers meet the bound and the grid may still be kept."""
    q_mean, q_log_var = model.encode(x)
    q = (q_mean.cpu(), q_log_var.cpu())
    prior = cpu_prior(model)
    chosen_here = not (spacing or half_width or narrower)
    if chosen_here:
        grid = posterior.covering_codes(*q, prior)
    else:
        grid = posterior.Grid.covering(half_width or HALF_WIDTH, spacing or SPACING, prior)
    scale = grid.half_width / HALF_WIDTH if spacing is None else 1.0
    half_widths = (*(tuple(w * scale for w in NARROWER) if narrower is None else narrower), grid.half_width)
    decode, likelihood, flat = decoder(model), model.likelihood.name, x.flatten(1).cpu()

    started = time.perf_counter()
    log_lik = posterior.grid_log_likelihood(decode, likelihood, flat, grid)
    seconds = {"grid": time.perf_counter() - started, "q_star": 0.0, "quadrature": 0.0}
    if chosen_here and 2 * grid.size - 1 <= MAX_POINTS:
        started = time.perf_counter()
        name, worst = _largest(posterior.convergence(log_lik, grid, q, None, factors=(2, 1))[1])
        seconds["quadrature"] += time.perf_counter() - started
        if not worst > ERROR_TARGET:
            analysis = posterior.analyse(log_lik, grid, *q, half_widths)
            _add(seconds, analysis.seconds)
            name, worst = _largest(spacing_errors(analysis))
            if not worst > ERROR_TARGET:
                analysis.seconds = seconds
                return analysis
        finer = posterior.Grid.covering(grid.half_width, grid.spacing / 2, prior)
        print(
            f"grid error bound {worst:.2f} nats ({name}) > {ERROR_TARGET}: again on spacing {finer.spacing:.4g}",
            flush=True,
        )
        started = time.perf_counter()
        log_lik = posterior.grid_log_likelihood(decode, likelihood, flat, finer, coarser=log_lik)
        seconds["grid"] += time.perf_counter() - started
        grid = finer
    analysis = posterior.analyse(log_lik, grid, *q, half_widths)
    _add(seconds, analysis.seconds)
    analysis.seconds = seconds
    return analysis


def _add(seconds: dict, more: dict) -> None:
    for part, value in more.items():
        seconds[part] = seconds.get(part, 0.0) + value


def _largest(changes: dict) -> tuple[str, float]:
    """(name, change) of the number that changes most."""
    return max(changes.items(), key=lambda item: item[1])


def spacing_errors(analysis: posterior.Analysis) -> dict:
    """Each number's largest change, over the images, between the grid and the one of twice its spacing: the part
    of the error bound a finer grid can lower (a narrower grid's change is the width's)."""
    twice = analysis.convergence["spacing"][-2]  # the rows run from the coarsest grid to this one
    return {name: twice[name]["max_abs_change"] for name in analysis.errors}


def _box(centres_and_sds: list[tuple], grow: float = 1.0) -> list[float]:
    """A square around every (mean, sd, reach) given: (z1 min, z1 max, z2 min, z2 max)."""
    low = np.min([np.asarray(m) - r * np.asarray(s) for m, s, r in centres_and_sds], axis=0)
    high = np.max([np.asarray(m) + r * np.asarray(s) for m, s, r in centres_and_sds], axis=0)
    centre, half = (low + high) / 2, grow * (high - low).max() / 2
    return [float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half)]


@torch.no_grad()
def local_density(model, x: torch.Tensor, box: list[float], cells: int) -> np.ndarray:
    """p(z|x) ∝ p(x|z) p(z), with the model's own prior, on a cells x cells grid over ``box``, row 0 at z2 min,
    max 1: (cells, cells)."""
    z1 = torch.linspace(box[0], box[1], cells, dtype=torch.float64)
    z2 = torch.linspace(box[2], box[3], cells, dtype=torch.float64)
    points = torch.stack(torch.meshgrid(z2, z1, indexing="ij")[::-1], dim=-1).reshape(-1, 2)  # row: z2, column: z1
    log_lik = posterior.pixel_log_likelihood(
        x.flatten(1).cpu(), decoder(model)(points.float()).flatten(1), model.likelihood.name
    )[0]
    log_joint = log_lik + model.prior.log_prob(points.to(device_of(model.prior))).double().cpu()  # the model's prior
    return (log_joint - log_joint.max()).exp().view(cells, cells).numpy()


def _record(
    analysis: posterior.Analysis, i: int, index: int, label: int, reconstruction: float, bounds: torch.Tensor | None
) -> dict:
    r = lambda value: round(float(value), 6)  # noqa: E731
    record = {
        "test_index": index,
        "label": label,
        "log_px": r(analysis.log_px[i]),
        "elbo_q": r(analysis.elbo_q[i]),
        "elbo_q_star": r(analysis.elbo_qstar[i]),
        "q": {"mean": [r(v) for v in analysis.q_mean[i]], "log_var": [r(v) for v in analysis.q_log_var[i]]},
        "q_star": {
            "mean": [r(v) for v in analysis.qstar_mean[i]],
            "log_var": [r(v) for v in analysis.qstar_log_var[i]],
        },
        "reconstruction_at_q_mean": r(reconstruction),
    }
    if bounds is not None:
        record["is_bound"] = [r(v) for v in bounds[:, i]]
    return record


def summary(result: dict) -> dict:
    """What metrics.json and RESULTS.md say: mean ± standard error over the images of log p(x), ELBO(q), ELBO(q*)
    and the two gaps, with the image count, the grid's error bound and the bound at the largest k."""
    images = result["images"]
    columns = {
        "log_px": [i["log_px"] for i in images],
        "elbo_q": [i["elbo_q"] for i in images],
        "elbo_q_star": [i["elbo_q_star"] for i in images],
        "approximation_gap": [i["log_px"] - i["elbo_q_star"] for i in images],
        "amortization_gap": [i["elbo_q_star"] - i["elbo_q"] for i in images],
    }
    out = {"images": len(images), "units": result["units"]}
    for name, values in columns.items():
        out[name] = rounded_mean_and_se(values)
    with_bound = [i for i in images if "is_bound" in i]
    distance = rounded_mean_and_se([i["log_px"] - i["is_bound"][-1] for i in with_bound])
    out["is_bound"] = {
        "k": result["ks"][-1],
        "images": len(with_bound),
        "mean_distance_to_log_px": distance["mean"],
        "se": distance["se"],
    }
    out["error_bound"] = result["error_bound"]
    out["grid"] = result["grid"]
    if "refinement" in result:
        out["refinement"] = refinement_summary(result)
    return out


def refinement_summary(result: dict) -> dict:
    """The refinement over the images: the mean ELBO (± se) after each recorded number of steps, and how far it is
    below ELBO(q*), image by image (its se paired: the images' spread cancels); on how many images the last is
    more than SHORT_OF_Q_STAR below, and their part of the mean distance left; the bound at k with either proposal
    and their paired difference."""
    images, settings = result["images"], result["refinement"]
    refined = [i["refined"] for i in images]
    steps = range(len(settings["steps"]))
    short = [i["elbo_q_star"] - i["refined"]["elbo"][-1] for i in images]
    short = [value for value in short if value > SHORT_OF_Q_STAR]
    return {
        "optimiser": settings["optimiser"],
        "learning_rate": settings["learning_rate"],
        "steps": settings["steps"],
        "elbo": [rounded_mean_and_se([r["elbo"][j] for r in refined]) for j in steps],
        "below_q_star": [
            rounded_mean_and_se([i["elbo_q_star"] - i["refined"]["elbo"][j] for i in images]) for j in steps
        ],
        "short_of_q_star": {
            "threshold": SHORT_OF_Q_STAR,
            "images": len(short),
            "mean_contribution": round(sum(short) / len(images), 6),  # their part of the last below_q_star
        },
        "is_bound": {
            "k": settings["k"],
            "images": len(images),
            "encoder": rounded_mean_and_se([r["is_bound"]["encoder"] for r in refined]),
            "refined": rounded_mean_and_se([r["is_bound"]["refined"] for r in refined]),
            "gain": rounded_mean_and_se([r["is_bound"]["refined"] - r["is_bound"]["encoder"] for r in refined]),
        },
    }


def write_posterior_gaps(
    folder: Path,
    model,
    test,
    seed: int,
    title: str,
    units: str,
    n_images: int = N_IMAGES,
    is_images: int = IS_IMAGES,
    ks: list[int] = KS,
) -> dict:
    """Everything the module docstring lists, for the 2-D VAE ``model`` of ``folder`` and its test split."""
    folder = Path(folder)
    model.eval()
    n = min(n_images, len(test))
    is_images = min(is_images, n)
    x = to_float(test.images[:n]).to(next(model.parameters()).device)
    started = time.perf_counter()
    analysis = analyse_model(model, x)
    grid = analysis.grid
    print(
        f"{folder}: log p(x) by quadrature on a {2 * grid.half_width:g}-wide grid of spacing {grid.spacing:g} "
        f"({grid.size**2:,} decodes), q* of {n} test images",
        flush=True,
    )
    seconds = dict(analysis.seconds)
    started_is = time.perf_counter()
    print(f"{folder}: the importance-sampled bound at k = {', '.join(map(str, ks))} on {is_images} of them", flush=True)
    bounds_k = importance_sampled(model, x[:is_images], ks, seed)
    seconds["importance_sampled"] = time.perf_counter() - started_is
    started_refinement = time.perf_counter()
    refined, refined_bounds = _refine(folder, model, x, analysis, seed)
    seconds["refinement"] = time.perf_counter() - started_refinement
    with torch.no_grad():
        reconstruction = model.likelihood.reconstruction_per_image(model.decode(model.encode(x)[0]), x).double().cpu()
    labels = test.labels[:n].cpu().tolist()
    images = [
        _record(analysis, i, i, labels[i], reconstruction[i], bounds_k if i < is_images else None) for i in range(n)
    ]
    for i, image in enumerate(images):
        image["refined"] = _refined_record(refined, refined_bounds, i)
    result = _result(folder, analysis, images, units, ks, is_images, x.device.type)
    result["summary"] = summary(result)
    write_json_atomic(result, folder / GAPS_FILE)
    _write_metrics_summary(folder, result["summary"])
    started_figures = time.perf_counter()
    _write_heatmaps(folder, model, x, analysis, reconstruction, labels, test.classes.names, units, title)
    _write_gaps_figure(folder, model, analysis, reconstruction, bounds_k, ks, is_images, units, title)
    _write_refinement_figure(folder, result["summary"], title)
    write_page_arrays(page_arrays(analysis, refined=refined), folder / PAGE_FILE)
    seconds["figures"] = time.perf_counter() - started_figures
    seconds["total"] = time.perf_counter() - started
    _print_summary(folder, n, result["summary"], seconds)
    result["seconds"] = seconds  # for the benchmark (benchmarks/posterior_step.py); not written to the file
    return result


def _refine(folder: Path, model, x: torch.Tensor, analysis: posterior.Analysis, seed: int):
    """Each image's q refined on the grid ``analysis`` decoded (core/refinement.py), and the bound at k = REFINED_K of
    every image with the encoder's q and with the refined q as proposal, the same seeded draws for both (common
    random numbers: their difference is mostly the proposals'): (Refinement, (2, N) float64)."""
    print(
        f"{folder}: q of each of the {len(x)} images refined by {max(refinement.STEPS)} steps on its grid ELBO, "
        f"and the bound at k = {REFINED_K} with the encoder's and the refined q",
        flush=True,
    )
    refined = refinement.refine(analysis.log_lik, analysis.grid, analysis.q_mean, analysis.q_log_var)
    bounds = [
        importance_sampled(model, x, [REFINED_K], seed, q)[0]
        for q in (None, (refined.mean.float(), refined.log_var.float()))
    ]
    return refined, torch.stack(bounds)


def _refined_record(refined: refinement.Refinement, bounds: torch.Tensor, i: int) -> dict:
    """Image ``i``'s share of the refinement: its ELBO after each recorded number of steps, its refined q, and the bound
    at k = REFINED_K with the encoder's q and with the refined q."""
    r = lambda value: round(float(value), 6)  # noqa: E731
    return {
        "elbo": [r(v) for v in refined.elbo[:, i]],
        "q": {"mean": [r(v) for v in refined.mean[i]], "log_var": [r(v) for v in refined.log_var[i]]},
        "is_bound": {"encoder": r(bounds[0, i]), "refined": r(bounds[1, i])},
    }


def _result(
    folder: Path,
    analysis: posterior.Analysis,
    images: list[dict],
    units: str,
    ks: list[int],
    is_images: int,
    device: str,
) -> dict:
    """posterior_gaps.json without its summary: how it was measured, on what, and ``images``, one ``_record`` per
    test image."""
    grid = analysis.grid
    return {
        "what": "log p(x) by quadrature over z, ELBO(q) of the encoder's q and ELBO(q*) of the best diagonal Gaussian "
        "of each image, both with E_q[log p(x|z)] on the same grid and the KL "
        f"{'in closed form' if grid.gaussian_prior is not None else 'to the prior on the grid'}; the "
        "importance-sampled bound at each k from one set of max(k) draws per image (the bound at k uses "
        "the first k), seeded with the run's seed",
        "units": units,
        "model_sha256": file_sha256(folder / "model.pt"),
        "grid": grid.describe(),
        "error_bound": {k: round(v, 6) for k, v in analysis.errors.items()},
        "convergence": analysis.convergence,
        "ks": ks,
        "images_used": len(images),
        "is_images": is_images,
        "threads": torch.get_num_threads(),
        "device": device,
        "refinement": {
            "what": "each image's q(z|x) refined from the encoder's by Adam steps on its own ELBO on the grid (the "
            "ELBO(q) above), of learning_rate in log_var and learning_rate times the grid's half-width / "
            f"{posterior.HALF_WIDTH:g} in the mean (the codes' reach), the exact ELBO recorded after each of steps; "
            "the bound at k with the "
            "encoder's q and with the refined q as proposal, on every image, the same seeded draws for both",
            "optimiser": "Adam",
            "learning_rate": refinement.LEARNING_RATE,
            "steps": list(refinement.STEPS),
            "k": REFINED_K,
        },
        "images": images,
    }


def _write_heatmaps(
    folder: Path,
    model,
    x: torch.Tensor,
    analysis: posterior.Analysis,
    reconstruction: torch.Tensor,
    labels: list[int],
    class_names,
    units: str,
    title: str,
) -> None:
    """posterior_heatmaps.png into ``folder``: the true posterior of the four images ``_panels`` picks."""
    from .posterior_figures import posterior_heatmaps

    posterior_heatmaps(
        _panels(model, x, analysis, reconstruction, labels, class_names), units, title, folder / HEATMAPS_FILE
    )


def _write_gaps_figure(
    folder: Path,
    model,
    analysis: posterior.Analysis,
    reconstruction: torch.Tensor,
    bounds_k: torch.Tensor,
    ks: list[int],
    is_images: int,
    units: str,
    title: str,
) -> None:
    """posterior_gaps.png into ``folder``: the gaps of every image, and the distance to log p(x) of the bound
    ``bounds_k`` (len(ks), is_images) of the first ``is_images``."""
    from .posterior_figures import gaps_figure

    exact = analysis.log_px[:is_images, None].numpy() - bounds_k.T.numpy()  # (images, ks)
    gaps_figure(
        (analysis.log_px - analysis.elbo_qstar).numpy(),
        (analysis.elbo_qstar - analysis.elbo_q).numpy(),
        reconstruction.numpy(),
        model.likelihood.reconstruction_name,
        ks,
        exact.mean(0),
        exact.std(0, ddof=1) / is_images**0.5,
        is_images,
        max(analysis.errors.values()),
        units,
        title,
        folder / FIGURE_FILE,
    )


def _print_summary(folder: Path, n: int, s: dict, seconds: dict) -> None:
    """The lines that close a folder's run: the summary ``s`` of its ``n`` images, and the ``seconds`` it took, in all
    and by part."""
    r = s["refinement"]
    print(
        f"{folder}: refined q, ELBO after "
        + ", ".join(f"{t}: {e['mean']:.3f}" for t, e in zip(r["steps"], r["elbo"], strict=True))
        + f" steps; bound at k = {r['is_bound']['k']}: {r['is_bound']['encoder']['mean']:.3f} with the encoder's q, "
        f"{r['is_bound']['refined']['mean']:.3f} with the refined q"
    )
    print(
        f"{folder}: on {n} test images, log p(x) {s['log_px']['mean']:.3f} ± {s['log_px']['se']:.3f}, "
        f"ELBO(q*) {s['elbo_q_star']['mean']:.3f}, ELBO(q) {s['elbo_q']['mean']:.3f}; approximation gap "
        f"{s['approximation_gap']['mean']:.3f} ± {s['approximation_gap']['se']:.3f}, amortization gap "
        f"{s['amortization_gap']['mean']:.3f} ± {s['amortization_gap']['se']:.3f} ({seconds['total']:.0f} s: "
        + ", ".join(f"{part} {value:.0f}" for part, value in seconds.items() if part != "total")
        + ")"
    )


def _write_refinement_figure(folder: Path, s: dict, title: str) -> None:
    """refinement.png into ``folder``, from the summary ``s`` of its posterior_gaps.json."""
    from .posterior_figures import refinement_figure

    r = s["refinement"]
    refinement_figure(
        np.asarray(r["steps"]),
        np.asarray([e["mean"] for e in r["elbo"]]),
        np.asarray([e["se"] for e in r["below_q_star"]]),
        s["elbo_q_star"]["mean"],
        s["log_px"]["mean"],
        s["images"],
        s["units"],
        title,
        folder / REFINEMENT_FILE,
    )


def _write_metrics_summary(folder: Path, summary_: dict) -> None:
    path = folder / "metrics.json"
    if path.is_file():
        metrics = read_json(path, "metrics")
        metrics[posterior.METRICS_KEY] = summary_
        write_json_atomic(metrics, path)


def _panels(
    model,
    x,
    analysis: posterior.Analysis,
    reconstruction: torch.Tensor,
    labels: list[int],
    class_names,
    cells: int = 64,
) -> list[dict]:
    """The heat map figure's four images: the easiest (smallest total gap), the most ambiguous (largest
    approximation gap: the posterior least like one diagonal Gaussian), the encoder's worst miss (largest
    amortization gap) and the worst reconstructed."""
    total = analysis.log_px - analysis.elbo_q
    approximation = analysis.log_px - analysis.elbo_qstar
    amortization = analysis.elbo_qstar - analysis.elbo_q
    chosen = []
    for name, values in (
        ("easy: smallest gap", -total),
        ("ambiguous: largest approximation gap", approximation),
        ("largest amortization gap", amortization),
        ("worst reconstructed", reconstruction),
    ):
        taken = [i for _, i in chosen]
        chosen.append(
            (name, next(i for i in torch.argsort(values, descending=True, stable=True).tolist() if i not in taken))
        )
    panels = []
    for name, i in chosen:
        q_sd = (0.5 * analysis.q_log_var[i]).exp().numpy()
        s_sd = (0.5 * analysis.qstar_log_var[i]).exp().numpy()
        p_sd = analysis.post_cov[i].diagonal().sqrt().numpy()
        box = _box(
            [
                (analysis.post_mean[i].numpy(), p_sd, 4.0),
                (analysis.q_mean[i].numpy(), q_sd, 2.5),
                (analysis.qstar_mean[i].numpy(), s_sd, 2.5),
            ],
            grow=1.05,
        )
        panels.append(
            {
                "name": name,
                "caption": f"test image {i}, {shortened(class_names[labels[i]])}",
                "image": x[i, 0].cpu().numpy(),
                "density": local_density(model, x[i : i + 1], box, cells),
                "extent": box,
                "q": (analysis.q_mean[i].numpy(), q_sd),
                "q_star": (analysis.qstar_mean[i].numpy(), s_sd),
                "log_px": analysis.log_px[i].item(),
                "elbo_q": analysis.elbo_q[i].item(),
                "elbo_q_star": analysis.elbo_qstar[i].item(),
            }
        )
    return panels


# --- The explorer page's share ------------------------------------------------------------------------------


def page_arrays(
    analysis: posterior.Analysis,
    picks: int = N_IMAGES,
    zoom_cells: int = 40,
    refined: refinement.Refinement | None = None,
) -> dict[str, np.ndarray]:
    """What the explorer page needs to show each pick's true posterior, for the first ``picks`` images of
    ``analysis`` (the page's picks, in order). A posterior of sd 0.03 to 0.4 fills a cell or two of the page's
    plane, so the page draws it zoomed to the pick's own box:

      posterior_zoom (picks, 40, 40) uint8    p(z|x)'s density at the centres of a 40 x 40 grid over the pick's
                                             own box, row 0 at z2 max (as the canvas draws, y up), column 0 at
                                             z1 min; 255 = its maximum, linear
      posterior_zoom_box (picks, 4) float32   that box, [z1 min, z1 max, z2 min, z2 max]: a square holding the
                                             posterior's 4 sd and q's and q*'s 2.5 sd
      posterior_gaps (picks, 3) float32       log p(x), ELBO(q*), ELBO(q), in the model's ELBO units
      posterior_q_star (picks, 4) float32     q*'s mean (2) and log-variance (2)
      posterior_q_refined (picks, 4) float32  with ``refined``: the encoder's q after the last refining step, as q*
      posterior_elbo_refined (picks,) float32 and its ELBO
    """
    picks = min(picks, len(analysis.log_px))
    a = analysis.grid.axis.numpy()
    zoom = np.zeros((picks, zoom_cells, zoom_cells))
    boxes = np.zeros((picks, 4))
    for i in range(picks):
        mass = posterior.posterior_masses(analysis.log_lik[i : i + 1], analysis.grid)[0].numpy()  # (G, G): [z1, z2]
        p_sd = analysis.post_cov[i].diagonal().sqrt().numpy()
        box = _box(
            [
                (analysis.post_mean[i].numpy(), p_sd, 4.0),
                (analysis.q_mean[i].numpy(), (0.5 * analysis.q_log_var[i]).exp().numpy(), 2.5),
                (analysis.qstar_mean[i].numpy(), (0.5 * analysis.qstar_log_var[i]).exp().numpy(), 2.5),
            ]
        )
        boxes[i] = box
        centres = lambda lo, hi: lo + (np.arange(zoom_cells) + 0.5) * (hi - lo) / zoom_cells  # noqa: E731
        zoom[i] = _bilinear(np.log(np.maximum(mass, 1e-300)), a, centres(box[0], box[1]), centres(box[2], box[3]))
    zoom = np.exp(zoom - zoom.max(axis=(1, 2), keepdims=True))
    arrays = {
        "posterior_zoom": np.round(255 * zoom).astype(np.uint8),
        "posterior_zoom_box": boxes.astype(np.float32),
        "posterior_gaps": torch.stack([analysis.log_px, analysis.elbo_qstar, analysis.elbo_q], 1)[:picks]
        .numpy()
        .astype(np.float32),
        "posterior_q_star": torch.cat([analysis.qstar_mean, analysis.qstar_log_var], 1)[:picks]
        .numpy()
        .astype(np.float32),
    }
    if refined is not None:
        arrays["posterior_q_refined"] = torch.cat([refined.mean, refined.log_var], 1)[:picks].numpy().astype(np.float32)
        arrays["posterior_elbo_refined"] = refined.elbo[-1, :picks].numpy().astype(np.float32)
    return arrays


def _bilinear(values: np.ndarray, axis: np.ndarray, z1: np.ndarray, z2: np.ndarray) -> np.ndarray:
    """values[z1 index, z2 index] on the grid ``axis``, interpolated at z1 (columns) x z2 (rows, row 0 at z2 max)."""

    def weights(z):
        position = np.clip((z - axis[0]) / (axis[1] - axis[0]), 0, len(axis) - 1.000001)
        low = np.floor(position).astype(int)
        return low, position - low

    i, u = weights(z1)
    j, v = weights(z2[::-1])
    out = (
        (1 - u)[None, :] * (1 - v)[:, None] * values[i[None, :], j[:, None]]
        + u[None, :] * (1 - v)[:, None] * values[i[None, :] + 1, j[:, None]]
        + (1 - u)[None, :] * v[:, None] * values[i[None, :], j[:, None] + 1]
        + u[None, :] * v[:, None] * values[i[None, :] + 1, j[:, None] + 1]
    )
    return out


def write_page_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    """``arrays`` as an .npz whose bytes depend on the arrays alone (every member dated 1980-01-01)."""
    with atomic_path(Path(path)) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            archive.writestr(
                zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                buffer.getvalue(),
                compress_type=zipfile.ZIP_DEFLATED,
            )
