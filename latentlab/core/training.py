"""The training step and the loop: Adam with cosine decay over the run.

Saving and resuming each epoch live in ``checkpoint``; speed tricks in ``cuda_graphs`` (GPU) and
``devices.keep_freed_memory`` (CPU).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .checkpoint import TrainingRun, finished_run
from .checkpoint_file import MODEL_FILE
from .config import TrainConfig
from .cuda_graphs import GraphedStep, adam
from .data import DeviceSplit, load_splits, to_float
from .devices import keep_freed_memory, pick_device
from .errors import LatentlabError
from .files import check_writable
from .finished import Finished, from_checkpoint
from .kinds import build_model, check_objective, title
from .losses import term_key
from .models import training_loss
from .passes import split_losses
from .progress import plural, status


def new_model_and_optimizer(config: TrainConfig, device: torch.device):
    """The freshly initialised model (seeded) on ``device`` and its Adam optimizer."""
    torch.manual_seed(config.seed)
    # channels_last lets oneDNN (CPU) and cuDNN (GPU) pick their fastest convolutions;
    # benchmarks/train_throughput.py measures the whole step against a plain loop.
    model = build_model(config).to(device, memory_format=torch.channels_last)
    return model, adam(model, config.lr, device)


def training_step(model, optimizer, x: torch.Tensor, y: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """One Adam step on a batch x (B, 1, 28, 28) in [0, 1] with labels y (B,), which only a conditional
    kind reads; returns the detached loss terms in the order the model declares them (``model.terms``).

    The loss (models.training_loss) is the weighted sum of the terms, for the VAE the negative ELBO,
    reconstruction + KL averaged over the batch, or the negative IWAE bound with ``--objective iwae``.
    """
    loss, terms = training_loss(model, x, config, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return torch.stack([terms[name].detach() for name in model.terms])


def check_terms(model, split: DeviceSplit, config: TrainConfig) -> None:
    """Refuse, before training, a model whose ``loss`` returns a term its class does not declare with a
    weight (``terms``), or whose weight is no setting: such a term would be trained with no weight or not
    at all. One batch is passed through without a gradient, the random state put back as it was."""
    unweighted = [
        f"{name} (weighed by --{weight.replace('_', '-')}, which is no setting)"
        for name, weight in model.terms.items()
        if weight is not None and not hasattr(config, weight)
    ]
    cuda = [split.device.index or 0] if split.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda), torch.no_grad():
        was_training = model.training
        model.eval()
        x, y = next(split.labelled_batches(min(8, len(split))))
        returned = model.loss(model.likelihood.training_pixels(x), y)
        model.train(was_training)
    unweighted += [
        f"{name} (returned by {type(model).__name__}.loss, not declared in its terms)"
        for name in returned
        if name not in model.terms
    ]
    missing = [name for name in model.terms if name not in returned]
    if unweighted or missing:
        raise LatentlabError(
            f"The {config.model} model's loss terms do not match the weights it declares: "
            f"{'; '.join(unweighted + [f'{name} (declared, not returned)' for name in missing])}. A kind "
            f"declares every term its loss returns with the setting that weighs it, e.g. terms = "
            f"{{'reconstruction': None, 'kl': 'beta'}} (README: Add a model kind); nothing was trained."
        )


def make_step(model, optimizer, split: DeviceSplit, config: TrainConfig):
    """``step(index) -> the loss terms (model.terms)``: training_step on the batch of ``split`` at ``index``
    (B,); on CUDA replayed as one graph (``cuda_graphs``), the same arithmetic."""

    def step(index: torch.Tensor) -> torch.Tensor:
        return training_step(model, optimizer, to_float(split.images[index]), split.labels[index], config)

    if split.device.type == "cuda":
        return GraphedStep(step, optimizer, config.batch_size, split.device)
    return step


def train(config: TrainConfig) -> Finished:
    """Train the run of ``config`` (or resume it, or find it finished); return the finished model in hand,
    with the data splits it was trained on, so that what follows reads nothing again.

    The loop of the paper: for each epoch, one Adam step per shuffled batch (``training_step``),
    then the test losses. ``checkpoint.TrainingRun`` saves the run after every epoch and resumes it bit for bit.
    """
    check_objective(config)  # before anything is read or written
    check_writable(Path(config.out_dir), out_dir_flag=True)
    if (state := finished_run(config)) is not None:
        return from_checkpoint(state, config.device, config.data_root, path=Path(config.out_dir) / MODEL_FILE)
    device = pick_device(config.device)
    if device.type == "cpu":
        keep_freed_memory()
    model, optimizer = new_model_and_optimizer(config, device)
    train_split, test_split = load_splits(config, device, model.likelihood)
    check_terms(model, train_split, config)
    steps_per_epoch = math.ceil(len(train_split) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)
    run = TrainingRun(config, device, model, optimizer, scheduler)  # resumes an interrupted run of the same recipe
    step = make_step(model, optimizer, train_split, config)
    print(
        f"Training {title(config.model)} with a {config.latent_dim}-D latent on {device}: "
        f"{len(train_split)} training images, {plural(config.epochs, 'epoch')} of {plural(steps_per_epoch, 'step')}."
    )
    with run.interruptible():
        while run.epoch < config.epochs:
            started = time.perf_counter()
            train = dict(zip(map(term_key, model.terms), train_one_epoch(run, step, train_split), strict=True))
            seconds = time.perf_counter() - started
            with status(f"epoch {run.epoch + 1}: test losses"):
                test = split_losses(model, test_split, seed=config.seed)
            run.end_epoch(
                {
                    **{f"train_{key}": train[key] for key in train},
                    **{f"test_{key}": test[key] for key in train},
                    "test_mse": test["mse"],
                },
                seconds,
            )
            terms = "  ".join(f"{key} {train[key]:.3f}/{test[key]:.3f}" for key in train)
            print(
                f"epoch {run.epoch:3d}/{config.epochs}  train/test: {terms}  test mse {test['mse']:.5f}  "
                f"({run.seconds:.0f} s)"
            )
    state = run.publish(model.fit_for_figures(train_split.batches(1000)))
    # The memory format a model read back from model.pt has: the same kernels, so the same last digits.
    model = model.to(memory_format=torch.contiguous_format)
    return Finished(state, dataclasses.replace(config, retrain=False), model, (train_split, test_split))


def train_one_epoch(run: TrainingRun, step, split: DeviceSplit) -> list[float]:
    """One pass over the shuffled training split; returns its mean of each loss term per image."""
    config, device = run.config, run.device
    steps_per_epoch = math.ceil(len(split) / config.batch_size)
    # On a GPU, reading the loss forces a host synchronisation: once per epoch there.
    sync_every = 1 if device.type == "cpu" else steps_per_epoch
    run.model.train()
    sums = torch.zeros(len(run.model.terms), device=device)  # each term summed over the epoch's images
    seen = 0
    bar = tqdm(
        total=steps_per_epoch,
        desc=f"epoch {run.epoch + 1}/{config.epochs}",
        unit="step",
        leave=False,
        mininterval=0.5,
        dynamic_ncols=True,
    )
    for number, index in enumerate(split.batch_indices(config.batch_size, run.shuffle), start=1):
        sums += step(index) * len(index)
        run.scheduler.step()
        seen += len(index)
        if number % sync_every == 0 or number == steps_per_epoch:
            running = sums / seen
            if not torch.isfinite(running).all():
                raise run.diverged(running.sum().item(), number)
            bar.set_postfix_str(f"loss {running.sum().item():.3f}", refresh=False)
            bar.update(number - bar.n)
    bar.close()
    return (sums / seen).tolist()
