"""The GPU speed path: optimizer state crosses devices, the CPU trains eagerly, and on a GPU the
captured graph trains like eager steps."""

import copy
import dataclasses

import pytest
import torch

from conftest import TINY_WIDTHS
from latentlab.core.config import TrainConfig
from latentlab.core.cuda_graphs import GraphedStep, adam, load_optimizer_state
from latentlab.core.data import DeviceSplit
from latentlab.core.training import make_step, new_model_and_optimizer

CONFIG = TrainConfig(model="vae", latent_dim=2, batch_size=32, **TINY_WIDTHS)


def synthetic_split(device: torch.device, n: int = 64) -> DeviceSplit:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=generator)
    return DeviceSplit(images, torch.arange(n) % 10, device)


def two_steps(model, optimizer, split: DeviceSplit, seed: int) -> None:
    step = make_step(model, optimizer, split, CONFIG)
    torch.manual_seed(seed)
    for index in split.batch_indices(32, torch.Generator().manual_seed(seed)):
        step(index)


def test_optimizer_state_saved_with_gpu_switches_resumes_on_the_cpu():
    cpu = torch.device("cpu")
    split = synthetic_split(cpu)
    model, optimizer = new_model_and_optimizer(CONFIG, cpu)
    two_steps(model, optimizer, split, seed=1)
    saved = copy.deepcopy(optimizer.state_dict())
    for group in saved["param_groups"]:  # what a checkpoint written on CUDA holds
        group.update(fused=True, capturable=True)
    straight = copy.deepcopy(model)
    straight_optimizer = adam(straight, CONFIG.lr, cpu)
    straight_optimizer.load_state_dict(optimizer.state_dict())

    resumed_optimizer = adam(model, CONFIG.lr, cpu)
    load_optimizer_state(resumed_optimizer, saved)
    assert all(not g["capturable"] and not g["fused"] for g in resumed_optimizer.param_groups)
    two_steps(model, resumed_optimizer, split, seed=2)
    two_steps(straight, straight_optimizer, split, seed=2)
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name


def test_cpu_steps_are_plain_training_steps_not_graphed():
    cpu = torch.device("cpu")
    model, optimizer = new_model_and_optimizer(CONFIG, cpu)
    assert not isinstance(make_step(model, optimizer, synthetic_split(cpu), CONFIG), GraphedStep)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: CUDA graphs exist only there")
def test_graphed_steps_train_like_eager_steps_on_a_gpu():
    cuda = torch.device("cuda")
    split = synthetic_split(cuda, n=32 * 12)
    config = dataclasses.replace(CONFIG, device="cuda")
    losses = {}
    for graphed in (False, True):
        model, optimizer = new_model_and_optimizer(config, cuda)
        step = make_step(model, optimizer, split, config)
        if not graphed:
            step = step.step  # the plain step the graph wraps
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=24)
        for epoch in range(2):
            total = torch.zeros(2, device=cuda)
            for index in split.batch_indices(32, torch.Generator().manual_seed(epoch)):
                total += step(index)
                scheduler.step()
        losses[graphed] = total.sum().item() / 12
        assert (getattr(step, "graph", None) is not None) == graphed
    # The random draws (reparameterization) differ between eager and replayed steps, so
    # the losses agree closely, not exactly.
    assert losses[True] == pytest.approx(losses[False], rel=0.05)
