"""The training step and the loop: Adam with cosine decay, a checkpoint after every epoch,
resumable bit for bit. Speed tricks live elsewhere: ``cuda_graphs`` (GPU) and the
``keep_freed_memory`` section at the end of this file (CPU)."""

from __future__ import annotations

import ctypes
import math
import os
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .checkpoint import FORMAT, MODEL_FILE, PARTIAL_FILE, model_from_checkpoint, published, read_checkpoint, save_atomic
from .config import TrainConfig
from .cuda_graphs import GraphedStep, adam, load_optimizer_state
from .data import DeviceSplit, load_splits, to_float
from .errors import LatentlabError
from .files import check_writable, write_json_atomic
from .metrics import encode_split, split_losses
from .models import build_model
from .progress import plural, status


class TrainingInterrupted(LatentlabError):
    """Ctrl-C during training; the message says how to resume."""

    exit_code = 130


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available[name]:
        raise LatentlabError(
            f"--device {name} was requested but this machine has no {name.upper()} device PyTorch can use. "
            "Use --device cpu, or --device auto to take the best one available."
        )
    return torch.device(name)


def new_model_and_optimizer(config: TrainConfig, device: torch.device):
    """The freshly initialised model (seeded) on ``device`` and its Adam optimizer."""
    torch.manual_seed(config.seed)
    # channels_last lets oneDNN (CPU) and cuDNN (GPU) pick their fastest convolutions;
    # benchmarks/train_throughput.py measures the whole step against a plain loop.
    model = build_model(config).to(device, memory_format=torch.channels_last)
    return model, adam(model, config.lr, device)


def training_step(model, optimizer, x: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """One Adam step on a batch x (B, 1, 28, 28) in [0, 1]; returns the detached (reconstruction, KL).

    The loss is the negative ELBO, reconstruction + KL, averaged over the batch (beta = 1;
    beta != 1 weighs the KL as in beta-VAE); an AE's KL is 0. With ``objective="iwae"`` it is
    the negative importance-weighted bound with ``iw_samples`` samples (models.iwae_loss).
    """
    if model.likelihood == "bernoulli":
        x = torch.bernoulli(x)  # dynamic binarization: fresh binary pixels every time
    if config.objective == "iwae":
        loss, reconstruction, kl = model.iwae_loss(x, config.iw_samples)
    else:
        reconstruction, kl = model.loss(x)
        loss = reconstruction + config.beta * kl
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return torch.stack([reconstruction.detach(), kl.detach()])


def make_step(model, optimizer, split: DeviceSplit, config: TrainConfig):
    """``step(index) -> (reconstruction, KL)``: training_step on the batch of ``split`` at ``index`` (B,);
    on CUDA replayed as one graph (``cuda_graphs``), the same arithmetic."""

    def step(index: torch.Tensor) -> torch.Tensor:
        return training_step(model, optimizer, to_float(split.images[index]), config)

    if split.device.type == "cuda":
        return GraphedStep(step, optimizer, config.batch_size, split.device)
    return step


def train(config: TrainConfig) -> dict:
    """Train (or resume, or find finished) the run of ``config``; return its finished checkpoint."""
    if config.objective == "iwae" and config.model != "vae":
        raise LatentlabError("--objective iwae weighs samples of a VAE's posterior; an AE has none. "
                             "Use --model vae, or leave --objective at elbo.")
    out = Path(config.out_dir)
    check_writable(out)
    finished_path, partial_path = out / MODEL_FILE, out / PARTIAL_FILE

    if finished_path.exists() and not config.retrain:
        state = read_checkpoint(finished_path)
        if TrainConfig.from_dict(state["config"]).recipe() != config.recipe():
            print(f"Note: {finished_path} was trained with other settings than these; it is used as it is. "
                  "Pass --retrain to train with the new settings.")
        print(f"Found the finished model {finished_path} ({plural(state['epoch'], 'epoch')}): not retraining "
              "(pass --retrain to train again). Rebuilding metrics and figures from it.")
        return state

    device = pick_device(config.device)
    if device.type == "cpu":
        keep_freed_memory()
    train_split, test_split = load_splits(config, device)
    model, optimizer = new_model_and_optimizer(config, device)
    steps_per_epoch = math.ceil(len(train_split) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)
    shuffle = torch.Generator().manual_seed(config.seed)
    start_epoch, history, seconds = 0, [], 0.0

    if partial_path.exists() and not config.retrain:
        state = read_checkpoint(partial_path, map_location=device)
        recipe = TrainConfig.from_dict(state["config"]).recipe()
        if recipe != config.recipe():
            changed = ", ".join(f"{k}: {recipe[k]} -> {v}" for k, v in config.recipe().items() if recipe.get(k) != v)
            raise LatentlabError(
                f"{partial_path} holds an unfinished run with other settings ({changed}). Run the same "
                "command as before to resume it, pass --retrain to start over with the new settings, "
                "or choose another --out-dir."
            )
        model.load_state_dict(state["model"])
        load_optimizer_state(optimizer, state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        shuffle.set_state(state["rng"]["shuffle"])
        torch.set_rng_state(state["rng"]["torch"])
        if device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"])
        start_epoch, history, seconds = state["epoch"], state["history"], state["train_seconds"]
        print(f"Resuming {partial_path} after epoch {start_epoch} of {config.epochs}.")

    def checkpoint(epoch: int, finished: bool) -> dict:
        rng = {"shuffle": shuffle.get_state(), "torch": torch.get_rng_state()}
        if device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state()
        return {
            "format": FORMAT, "config": config.__dict__ | {"retrain": False}, "epoch": epoch,
            "finished": finished, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "rng": rng, "history": history,
            "train_seconds": seconds, "device": str(device),
        }

    print(f"Training {config.model.upper()} with a {config.latent_dim}-D latent on {device}: "
          f"{len(train_split)} training images, {plural(config.epochs, 'epoch')} of {steps_per_epoch} steps.")
    # On a GPU, reading the loss forces a host synchronisation: once per epoch there.
    sync_every = 1 if device.type == "cpu" else steps_per_epoch
    train_step = make_step(model, optimizer, train_split, config)
    epoch = saved = start_epoch
    try:
        for epoch in range(start_epoch, config.epochs):
            started = time.perf_counter()
            model.train()
            sums = torch.zeros(2, device=device)  # summed (reconstruction, KL) over the epoch's images
            seen = 0
            bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch + 1}/{config.epochs}", unit="step",
                       leave=False, mininterval=0.5, dynamic_ncols=True)
            for step, index in enumerate(train_split.batch_indices(config.batch_size, shuffle), start=1):
                sums += train_step(index) * len(index)
                scheduler.step()
                seen += len(index)
                if step % sync_every == 0 or step == steps_per_epoch:
                    running = sums / seen
                    if not torch.isfinite(running).all():
                        raise LatentlabError(
                            f"The loss became {running.sum().item()} in epoch {epoch + 1}, at or before step "
                            f"{step}. Training stopped; "
                            + (f"{partial_path} holds the last good epoch ({saved}) and was not touched. "
                               if saved else "no epoch had finished, so no checkpoint was written. ")
                            + f"Lower --lr (now {config.lr:g}) and run again with --retrain."
                        )
                    bar.set_postfix_str(f"loss {running.sum().item():.3f}", refresh=False)
                    bar.update(step - bar.n)
            bar.close()
            seconds += time.perf_counter() - started
            train_recon, train_kl = (sums / seen).tolist()
            with status(f"epoch {epoch + 1}: test losses"):
                test = split_losses(model, test_split, seed=config.seed)
            history.append({"epoch": epoch + 1, "train_recon": train_recon, "train_kl": train_kl,
                            "test_recon": test["recon"], "test_kl": test["kl"], "test_mse": test["mse"],
                            "lr": scheduler.get_last_lr()[0], "seconds": round(seconds, 2)})
            print(f"epoch {epoch + 1:3d}/{config.epochs}  train/test: recon {train_recon:.3f}/{test['recon']:.3f}"
                  f" KL {train_kl:.3f}/{test['kl']:.3f}  test mse {test['mse']:.5f}  ({seconds:.0f} s)")
            save_atomic(checkpoint(epoch + 1, finished=False), partial_path)
            saved = epoch + 1
    except KeyboardInterrupt:
        if saved:  # a checkpoint of this run exists (written now, or the one it resumed from)
            advice = (f"{partial_path} holds epoch {saved}. Run the same command again to resume (the result "
                      "equals an uninterrupted run), or add --retrain to start over.")
        else:
            advice = "no epoch had finished, so nothing was saved. Run the same command again to start over."
        raise TrainingInterrupted(f"Interrupted during epoch {epoch + 1}; {advice}") from None

    state = published(checkpoint(config.epochs, finished=True))
    if config.model == "ae":
        # An AE has no prior to sample from; samples.png draws from this Gaussian fit
        # of the training codes instead, stored here so figures need no training data.
        model.eval()
        z = encode_split(model, train_split).double()  # (N, latent_dim)
        state["latent_fit"] = {"mean": z.mean(0).float(), "cov": torch.cov(z.T).float().reshape(z.shape[1], -1)}
    save_atomic(state, finished_path)
    # config.json records how the folder's model came to be: written with the model, never before it,
    # so a failed or interrupted --retrain leaves the old model's record in place.
    write_json_atomic(config.__dict__, out / "config.json")
    partial_path.unlink(missing_ok=True)
    print(f"Saved {finished_path} ({os.path.getsize(finished_path) / 1e6:.1f} MB) after {seconds:.0f} s of training.")
    return state


def trained_model(state: dict, device: torch.device) -> torch.nn.Module:
    return model_from_checkpoint(state).to(device).eval()


# --- Speed: the CPU -------------------------------------------------------------------

def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep freed memory for reuse instead of returning it to the OS.

    A CPU training step frees and re-allocates the same activation buffers (up to ~6 MB)
    every step; by default glibc unmaps them and the kernel zero-fills fresh pages on the
    next step: about 2,000 page faults per step, some 4 % of its time on the 2-core machine.
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return  # not glibc (macOS, Windows, musl): their allocators need no such setting
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 2 ** 20)  # the largest value glibc accepts on 64-bit
    mallopt(m_trim_threshold, 2 ** 30)

