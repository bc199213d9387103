"""Where a run computes: the device to use, and on the CPU the allocator setting that makes it faster."""

from __future__ import annotations

import ctypes

import torch

from .errors import LatentlabError


def pick_device(name: str | torch.device) -> torch.device:
    """A --device choice as a torch.device, refused in words where this machine has none; a torch.device, or a
    name --device does not offer ("cuda:1", from a program calling load_model), is taken as it is."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if name not in available:
        return torch.device(name)
    if not available[name]:
        raise LatentlabError(
            f"--device {name} was requested but this machine has no {name.upper()} device PyTorch can use. "
            "Use --device cpu, or --device auto to take the best one available."
        )
    return torch.device(name)


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
    mallopt(m_mmap_threshold, 32 * 2**20)  # the largest value glibc accepts on 64-bit
    mallopt(m_trim_threshold, 2**30)
