"""Speed on a GPU: the training step replayed as one CUDA graph. Off the reading path.

The models are small, so on a GPU a step is bound by the host launching its ~200
kernels one by one (about 5-7 ms on an H100 host, whatever the batch size), not by
the GPU. Capturing the whole step (gather the batch, forward, backward, Adam) once as
a CUDA graph and replaying it launches it all at once; the arithmetic and the recipe
(batch size, learning rate) stay those of ``training.training_step`` on the CPU.
"""

from __future__ import annotations

import torch


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
    for group, own in zip(optimizer.param_groups, switches, strict=True):
        group.update(own)
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state and "step" in state:
                on_device = own["fused"] or own["capturable"]
                state["step"] = state["step"].to(p.device if on_device else "cpu", torch.float32)


class GraphedStep:
    """Wraps ``step(index) -> (reconstruction, KL)`` so that full batches replay one CUDA graph.

    The first full batches run eagerly on a side stream (cuDNN picks its algorithms,
    Adam creates its state: capture needs both done), then one step is captured and
    every later full batch replays it. These warm-up steps are real steps of the run,
    not extra ones. A smaller last batch runs eagerly.
    """

    WARMUP_STEPS = 3

    def __init__(self, step, optimizer: torch.optim.Optimizer, batch_size: int, device: torch.device):
        self.step, self.optimizer, self.batch_size, self.device = step, optimizer, batch_size, device
        self.eager_steps = 0
        self.graph = None

    def __call__(self, index: torch.Tensor) -> torch.Tensor:
        if len(index) != self.batch_size:
            return self.step(index)
        if self.graph is None:
            if self.eager_steps < self.WARMUP_STEPS:
                self.eager_steps += 1
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    out = self.step(index)
                torch.cuda.current_stream().wait_stream(side)
                return out
            self._capture()
        for group, lr in zip(self.optimizer.param_groups, self.lr, strict=True):
            lr.fill_(group["lr"])  # the scheduler's value for this step
        self.index.copy_(index)
        self.graph.replay()
        return self.out

    def _capture(self) -> None:
        self.index = torch.zeros(self.batch_size, dtype=torch.long, device=self.device)  # (B,) the graph's input
        # A float learning rate would be frozen into the graph; a tensor is read at every replay.
        self.lr = [torch.tensor(group["lr"], device=self.device) for group in self.optimizer.param_groups]
        floats = [group["lr"] for group in self.optimizer.param_groups]
        for group, lr in zip(self.optimizer.param_groups, self.lr, strict=True):
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)  # gradients are then allocated inside the graph
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = self.step(self.index)
        for group, value in zip(self.optimizer.param_groups, floats, strict=True):
            group["lr"] = value  # the scheduler and the checkpoint keep working with floats
