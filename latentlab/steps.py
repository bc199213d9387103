"""One optimisation step: run eagerly on the CPU, replayed as one CUDA graph on a GPU.

The models are small, so on a GPU a step is bound by the host launching its ~200
kernels one by one (about 5-7 ms on an H100 host, whatever the batch size), not by
the GPU. Capturing the whole step (gather the batch, forward, backward, Adam) once as
a CUDA graph and replaying it launches it all at once; the arithmetic and the
recipe (batch size, learning rate) stay those of the CPU run.
"""

from __future__ import annotations

import torch

from . import losses
from .data import DeviceSplit, to_float


def _objective(model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, KL), each summed per image and averaged over the batch."""
    if model.kind == "vae":
        x_hat, mean, log_var = model(x)
        return losses.reconstruction_loss(x_hat, x, model.likelihood), losses.kl_divergence(mean, log_var)
    return losses.reconstruction_loss(model(x), x, model.likelihood), torch.zeros((), device=x.device)


def training_step(model, optimizer, x: torch.Tensor, beta: float) -> torch.Tensor:
    """One Adam step on a batch (B, 1, 28, 28); returns the detached (reconstruction, KL) pair."""
    if model.likelihood == "bernoulli":
        x = torch.bernoulli(x)  # dynamic binarization: fresh binary pixels every time
    recon, kl = _objective(model, x)
    optimizer.zero_grad(set_to_none=True)
    (recon + beta * kl).backward()
    optimizer.step()
    return torch.stack([recon.detach(), kl.detach()])


def adam(model: torch.nn.Module, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam; on CUDA the fused kernel, capturable so that it can live inside a CUDA graph."""
    if device.type == "cuda":
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True, capturable=True)
    return torch.optim.Adam(model.parameters(), lr=lr)


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Load a checkpoint's optimizer state, possibly saved on another kind of device.

    The saved param groups carry that device's ``fused``/``capturable`` switches;
    this device's own are kept, and Adam's step counters are put where they expect
    to be (on the parameters' device when fused or capturable, else on the CPU).
    """
    switches = [{key: group[key] for key in ("fused", "capturable")} for group in optimizer.param_groups]
    optimizer.load_state_dict(saved)
    for group, own in zip(optimizer.param_groups, switches):
        group.update(own)
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state and "step" in state:
                on_device = own["fused"] or own["capturable"]
                state["step"] = state["step"].to(p.device if on_device else "cpu", torch.float32)


class Stepper:
    """Trains on batches given as indices into a DeviceSplit; returns each batch's (recon, KL).

    On CUDA the first full batches run eagerly on a side stream (cuDNN picks its
    algorithms, Adam creates its state: capture needs both done), then one step is
    captured and every later full batch replays it. These warm-up steps are real
    steps of the run, not extra ones. A smaller last batch runs eagerly.
    """

    WARMUP_STEPS = 3

    def __init__(self, model, optimizer, split: DeviceSplit, batch_size: int, beta: float):
        self.model, self.optimizer, self.split = model, optimizer, split
        self.batch_size, self.beta = batch_size, beta
        self.graphed = split.device.type == "cuda"
        self.eager_steps = 0
        self.graph = None

    def __call__(self, index: torch.Tensor) -> torch.Tensor:
        if not self.graphed or len(index) != self.batch_size:
            return self._eager(index)
        if self.graph is None:
            if self.eager_steps < self.WARMUP_STEPS:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    out = self._eager(index)
                torch.cuda.current_stream().wait_stream(side)
                return out
            self._capture()
        for group, lr in zip(self.optimizer.param_groups, self.lr):
            lr.fill_(group["lr"])  # the scheduler's value for this step
        self.index.copy_(index)
        self.graph.replay()
        return self.out

    def _eager(self, index: torch.Tensor) -> torch.Tensor:
        self.eager_steps += 1
        return training_step(self.model, self.optimizer, to_float(self.split.images[index]), self.beta)

    def _capture(self) -> None:
        device = self.split.device
        self.index = torch.zeros(self.batch_size, dtype=torch.long, device=device)  # (B,) the graph's input
        # A float learning rate would be frozen into the graph; a tensor is read at every replay.
        self.lr = [torch.tensor(group["lr"], device=device) for group in self.optimizer.param_groups]
        floats = [group["lr"] for group in self.optimizer.param_groups]
        for group, lr in zip(self.optimizer.param_groups, self.lr):
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)  # gradients are then allocated inside the graph
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            x = to_float(self.split.images[self.index])  # (B, 1, 28, 28)
            self.out = training_step(self.model, self.optimizer, x, self.beta)
        for group, value in zip(self.optimizer.param_groups, floats):
            group["lr"] = value  # the scheduler and the checkpoint keep working with floats
