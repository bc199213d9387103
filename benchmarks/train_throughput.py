"""Training throughput of the scripts' default models: the project's step against a naive reference.

    python benchmarks/train_throughput.py [--device cpu] [--steps N] [--data-root PATH] [--json out.json]

"ours" is the training step the scripts run (data held on the device as uint8 and
batched by index, channels_last; on the CPU glibc told to keep freed memory, on a GPU the
whole step replayed as one CUDA graph, see latentlab/core/cuda_graphs.py). "reference" is
the usual loop in a plain process: torchvision's MNIST with transforms.ToTensor() through
a default DataLoader (shuffle on), the same model and batch size, float32,
zero_grad/backward/step. Images per second are measured over --steps steps after a
warm-up, each measurement in a fresh process. Timings on a shared machine vary from run
to run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
from torchvision.datasets.utils import extract_archive

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentlab.core.config import TrainConfig  # noqa: E402
from latentlab.core.data import ALL_FILES, DeviceSplit, load_split, raw_folder  # noqa: E402
from latentlab.core.devices import keep_freed_memory, pick_device  # noqa: E402
from latentlab.core.kinds import build_model  # noqa: E402
from latentlab.core.models import count_parameters  # noqa: E402
from latentlab.core.training import make_step, new_model_and_optimizer  # noqa: E402
from latentlab.experiments import SCRIPT_EXPERIMENTS  # noqa: E402

WARMUP = 5


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB; process-wide peak


def endless(epoch):
    """The items of ``epoch()``, then of a fresh ``epoch()``, and so on: batches across epochs."""
    return itertools.chain.from_iterable(epoch() for _ in itertools.count())


def ours(config: TrainConfig, split: DeviceSplit, device: torch.device, steps: int) -> float:
    model, optimizer = new_model_and_optimizer(config, device)
    model.train()
    step = make_step(model, optimizer, split, config)
    shuffle = torch.Generator().manual_seed(0)
    # Full batches only: --steps may be more than one epoch holds.
    batches = (
        index
        for index in endless(lambda: split.batch_indices(config.batch_size, shuffle))
        if len(index) == config.batch_size
    )
    for _ in range(WARMUP):  # on CUDA this includes capturing the step as a graph
        step(next(batches))
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(next(batches))
    _sync(device)
    return steps * config.batch_size / (time.perf_counter() - start)


def reference(config: TrainConfig, root: Path, device: torch.device, steps: int) -> float:
    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    data = datasets.MNIST(str(root), train=True, download=False, transform=transforms.ToTensor())
    loader = endless(lambda: DataLoader(data, batch_size=config.batch_size, shuffle=True))

    def step():
        x, y = next(loader)  # the labels: a conditional kind (the CVAE) is given them, the others ignore them
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        sum(model.loss(x, y).values()).backward()
        optimizer.step()

    for _ in range(WARMUP):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * config.batch_size / (time.perf_counter() - start)


def measure(kind: str, experiment: str, device: torch.device, steps: int, root: Path, scratch: Path) -> dict:
    """One measurement, alone in its process, so that its peak memory is its own."""
    config = SCRIPT_EXPERIMENTS[experiment].config()
    if kind == "ours":
        if device.type == "cpu":
            keep_freed_memory()  # as train() does
        rate = ours(config, DeviceSplit(*load_split(root, "train"), device), device, steps)
    else:
        rate = reference(config, scratch, device, steps)
    return {"img_per_s": rate, "peak_memory_mb": _peak_memory_mb(device)}


def in_child(kind: str, experiment: str, args: argparse.Namespace, root: Path, scratch: Path) -> dict:
    command = [
        sys.executable,
        __file__,
        "--device",
        args.device,
        "--steps",
        str(args.steps),
        "--data-root",
        str(root),
        "--measure",
        kind,
        experiment,
        str(scratch),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"The {kind} measurement of {experiment} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps per measurement (default: 30 on the CPU, 500 on a GPU)"
    )
    parser.add_argument(
        "--data-root", default=None, help="folder holding MNIST/raw/ (default: $MNIST_ROOT, else data/)"
    )
    parser.add_argument("--json", default=None, help="also write the table as JSON to this path")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)  # KIND EXPERIMENT SCRATCH: one child run
    args = parser.parse_args()

    device = pick_device(args.device)
    if args.steps is None:
        args.steps = 30 if device.type == "cpu" else 500  # a GPU step takes about a millisecond
    root = TrainConfig(data_root=args.data_root).resolved_data_root()
    if args.measure:
        kind, experiment, scratch = args.measure
        print(json.dumps(measure(kind, experiment, device, args.steps, root, Path(scratch))))
        return
    # torchvision's MNIST reads the uncompressed files only; unpack them into a scratch
    # folder instead of beside the user's (possibly read-only) copy.
    scratch = Path(tempfile.mkdtemp())
    try:
        raw = raw_folder(scratch)
        raw.mkdir(parents=True)
        for name in ALL_FILES:
            source = raw_folder(root) / name
            if source.exists():
                shutil.copy(source, raw / name)
            else:
                extract_archive(str(raw_folder(root) / f"{name}.gz"), str(raw))
        rows = []
        for name, experiment in SCRIPT_EXPERIMENTS.items():
            config = experiment.config()
            mine = in_child("ours", name, args, root, scratch)
            theirs = in_child("reference", name, args, root, scratch)
            rows.append(
                {
                    "model": name,
                    "parameters": count_parameters(build_model(config)),
                    "batch_size": config.batch_size,
                    "ours_img_per_s": round(mine["img_per_s"]),
                    "reference_img_per_s": round(theirs["img_per_s"]),
                    "ratio": round(mine["img_per_s"] / theirs["img_per_s"], 2),
                    "ours_peak_memory_mb": round(mine["peak_memory_mb"]),
                    "reference_peak_memory_mb": round(theirs["peak_memory_mb"]),
                }
            )
    finally:
        shutil.rmtree(scratch)

    memory = "GPU memory allocated" if device.type == "cuda" else "process RSS"
    print(
        f"device: {device} ({torch.get_num_threads()} threads), torch {torch.__version__}, {args.steps} timed steps; "
        f"peak memory = {memory}, each measurement in its own process"
    )
    print(
        f"{'model':10s} {'params':>8s} {'ours img/s':>11s} {'ref img/s':>10s} {'ratio':>6s} {'ours MB':>8s} {'ref MB':>7s}"
    )
    for r in rows:
        print(
            f"{r['model']:10s} {r['parameters']:8,d} {r['ours_img_per_s']:11,d} {r['reference_img_per_s']:10,d} "
            f"{r['ratio']:6.2f} {r['ours_peak_memory_mb']:8,d} {r['reference_peak_memory_mb']:7,d}"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "device": str(device),
                    "threads": torch.get_num_threads(),
                    "torch": torch.__version__,
                    "steps": args.steps,
                    "rows": rows,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
