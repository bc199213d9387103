"""What training measures each epoch, and what every later step shares with it: seeded draws, the loss
terms over a split, the codes of a split and its posteriors' parameters, the active units. What a finished
model is judged by (baselines, probes, likelihood bounds, the ELBO by many samples) is in evaluation.py."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from . import losses
from .data import DeviceSplit


@contextmanager
def seeded(seed: int, device: torch.device):
    """Draw from torch's global generator seeded with ``seed``, then restore its state.

    Evaluation and figures then never consume the training RNG: resuming a run replays
    exactly the random numbers an uninterrupted run would draw, and two evaluations of
    the same model agree.
    """
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


@torch.no_grad()
def split_losses(model: torch.nn.Module, split: DeviceSplit, seed: int, batch_size: int = 1000) -> dict:
    """Per-image averages over a split, in the units of ``losses``.

    recon, kl, ... (``model.terms``, by ``losses.term_key``): the training objective's terms, with one posterior
    sample per image for the VAE, drawn from a generator seeded with ``seed`` so two evaluations of
    the same model agree. mse: per-pixel squared error of the reconstruction from
    the posterior mean (the VAE's deterministic reconstruction).
    """
    return losses_and_codes(model, split, seed, batch_size, keep_codes=False)[0]


@dataclass(frozen=True)
class Coded:
    """What the figures and the explorer page need of the test split, from the pass that measures it."""

    codes: torch.Tensor  # (N, latent_dim), on the CPU
    point_losses: torch.Tensor  # (N,): the loss at each image's point code, on the CPU


@torch.no_grad()
def losses_and_codes(
    model: torch.nn.Module, split: DeviceSplit, seed: int, batch_size: int = 1000, keep_codes: bool = True
) -> tuple[dict, Coded | None]:
    """``split_losses`` and ``code_split`` from one pass over the split, which both need: the reconstruction
    behind the MSE is decoded from the point code (``point_pass``). Returns (the losses, the codes and point
    losses, or None without ``keep_codes``: each epoch's test losses need none, and on a GPU copying them
    out waits for it)."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(len(model.terms) + 1, dtype=torch.float64, device=split.device)  # the terms, then the SSE
    kept = []
    with seeded(seed, split.device):
        for x, y, code, x_hat, point_loss in _point_passes(model, split, batch_size):
            terms = model.loss_per_image(x, y)  # (B,) each; the only draws of the pass
            sse = losses.squared_error_per_image(x_hat, x)
            sums += torch.stack([*(terms[name].sum() for name in model.terms), sse.sum()]).double()
            if keep_codes:
                kept.append((code, point_loss))
    model.train(was_training)
    *means, sse = (sums / len(split)).tolist()
    measured = {**dict(zip(map(losses.term_key, model.terms), means, strict=True)), "recon_sse": sse, "mse": sse / 784}
    return measured, _coded(kept) if keep_codes else None


@torch.no_grad()
def code_split(model: torch.nn.Module, split: DeviceSplit, batch_size: int = 1000) -> Coded:
    """The codes and point losses of ``losses_and_codes`` without its sampled losses: what redrawing a
    folder's figures and page needs."""
    return _coded([(code, point_loss) for _, _, code, _, point_loss in _point_passes(model, split, batch_size)])


def _point_passes(model: torch.nn.Module, split: DeviceSplit, batch_size: int):
    """(x, y, code, x_hat, point loss (B,)) of each batch in order: ``model.point_pass``, its terms summed."""
    for x, y in split.labelled_batches(batch_size):
        code, x_hat, point = model.point_pass(x, y)  # (B, latent_dim), (B, 1, 28, 28), (B,) each
        yield x, y, code, x_hat, sum(point.values())


def _coded(batches: list) -> Coded:
    """The (code, point loss) pairs of a split's batches, joined on the CPU."""
    return Coded(
        torch.cat([code.float().cpu() for code, _ in batches]), torch.cat([loss.float().cpu() for _, loss in batches])
    )


@torch.no_grad()
def encode_split(model: torch.nn.Module, split: DeviceSplit, batch_size: int = 1000) -> torch.Tensor:
    """``model.code`` of every image of the split, in order, on the CPU: (N, latent_dim)."""
    return torch.cat([model.code(x, y).float().cpu() for x, y in split.labelled_batches(batch_size)])


@torch.no_grad()
def posterior_parameters(model: torch.nn.Module, split: DeviceSplit, batch_size: int = 1000) -> tuple:
    """q(z|x) of every image of the split, given its own label (read only by a conditional model): (mean, log_var),
    (N, latent_dim) each, float64 on the CPU, where the quadrature and the mixture estimator sum them."""
    pairs = [model.encode(x, y) for x, y in split.labelled_batches(batch_size)]
    return tuple(torch.cat([pair[i].double().cpu() for pair in pairs]) for i in (0, 1))


def cpu_prior(model: torch.nn.Module):
    """The model's prior on the CPU, where the quadrature runs (a learned prior needs its pseudo-inputs there)."""
    return copy.deepcopy(model).cpu().prior


def active_units(means: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Burda et al. (2015): dimension j is active if Var_x(E_q[z_j | x]) > 0.01. means: (N, D)."""
    variance = means.double().var(dim=0)  # (D,)
    return int((variance > threshold).sum()), variance
