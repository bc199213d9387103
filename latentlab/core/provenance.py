"""What made a trained model: the code's git commit (and whether the tree had uncommitted changes),
the Python, PyTorch and CUDA versions, the device's name and the date. Recorded once, when a run
finishes training, into model.pt and config.json; evaluating or drawing never changes it."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import torch

CODE = Path(__file__).resolve().parents[2]  # the repository root of a clone (site-packages for a wheel)


def _git(*args: str) -> str | None:
    """A git command's output in the code's folder, or None where there is no git or no checkout."""
    try:
        done = subprocess.run(["git", "-C", str(CODE), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model as the operating system names it."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple {platform.machine()} (mps)"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def provenance(device: torch.device) -> dict:
    """The record of this process's code and machine, as it is now."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain") if commit else None
    return {
        "git_commit": commit,  # None: the code was not run from a git checkout
        "git_dirty": None if status is None else bool(status),
        "python": platform.python_version(),
        "torch": str(torch.__version__),  # a str subclass that weights_only loading refuses
        "cuda": torch.version.cuda,  # the CUDA this torch was built with; None for a CPU-only build
        "device": device_name(device),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def describe(record: dict | None) -> str:
    """The provenance as lines to print; a model trained before provenance was kept says so."""
    if not record:
        return "provenance: not recorded (this model was trained before latentlab kept it)"
    commit = record["git_commit"] or "not a git checkout"
    dirty = {True: " (with uncommitted changes)", False: "", None: ""}[record["git_dirty"]]
    return "\n".join(
        [
            f"code:    {commit}{dirty}",
            f"python:  {record['python']}, torch {record['torch']}, CUDA {record['cuda'] or 'none (CPU build)'}",
            f"device:  {record['device']}",
            f"trained: {record['date']}",
        ]
    )
