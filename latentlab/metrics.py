"""Numbers measured on a split: the test losses per epoch and the final metrics.json."""

from __future__ import annotations

import torch

from . import losses
from .data import DeviceSplit


@torch.no_grad()
def test_losses(model: torch.nn.Module, split: DeviceSplit, seed: int, batch_size: int = 1000) -> dict:
    """Per-image averages over a split, in the units of ``losses``.

    recon, kl: the training objective's terms, with one posterior sample per image
    for the VAE, drawn from a generator seeded with ``seed`` so two evaluations of
    the same model agree. mse: per-pixel squared error of the reconstruction from
    the posterior mean (the VAE's deterministic reconstruction).
    """
    was_training = model.training
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=split.device)
    # fork_rng keeps evaluation from consuming the training RNG: resuming a run
    # then replays exactly the random numbers an uninterrupted run would draw.
    with torch.random.fork_rng(devices=[split.device] if split.device.type == "cuda" else []):
        torch.manual_seed(seed)
        for x in split.batches(batch_size):
            if model.kind == "vae":
                mean, log_var = model.encode(x)
                z = model.reparameterization_trick(mean, log_var)
                recon = losses.reconstruction_per_image(model.decode(z), x)
                kl = losses.kl_per_image(mean, log_var)
                sse = losses.reconstruction_per_image(model.decode(mean), x)
            else:
                recon = sse = losses.reconstruction_per_image(model(x), x)
                kl = torch.zeros_like(recon)
            sums += torch.stack([recon.sum(), kl.sum(), sse.sum()]).double()
    model.train(was_training)
    recon, kl, sse = (sums / len(split)).tolist()
    return {"recon": recon, "kl": kl, "recon_sse": sse, "mse": sse / 784}


def summary_metrics(model: torch.nn.Module, config, state: dict, test: DeviceSplit) -> dict:
    """The contents of metrics.json for a finished run."""
    from .models import count_parameters

    measured = test_losses(model, test, seed=config.seed)
    metrics = {
        "model": config.model,
        "latent_dim": config.latent_dim,
        "epochs": state["epoch"],
        "seed": config.seed,
        "device": state["device"],
        "train_seconds": round(state["train_seconds"], 1),
        "parameters": count_parameters(model),
        "test_mse": measured["mse"],
        "test_recon_sse": measured["recon_sse"],
    }
    if config.model == "vae":
        metrics["test_kl"] = measured["kl"]
        metrics["test_elbo"] = -(measured["recon"] + measured["kl"])
    metrics["config"] = state["config"]
    metrics["history"] = state["history"]
    return metrics
