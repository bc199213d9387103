"""Checkpoints and other files, written atomically and read back without running code.

Every file goes to a temporary name in the same folder and is renamed over the old
one, so a crash mid-write leaves the previous version, never a truncated file.
Checkpoints hold only tensors and plain Python values, so ``torch.load`` can use
``weights_only=True`` and an untrusted file cannot execute anything.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch

from .config import TrainConfig
from .errors import LatentlabError
from .models import WIDTHS, build_model

FORMAT = "latentlab-checkpoint-v1"
MODEL_FILE = "model.pt"  # the finished model
PARTIAL_FILE = "model.partial.pt"  # written after every epoch while a run is under way


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside ``path``; on success rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's private 0600 would make results unreadable to others
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_atomic(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def write_json_atomic(data: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_checkpoint(path: Path, map_location="cpu") -> dict:
    """Load a checkpoint dictionary, refusing anything but tensors and plain values."""
    path = Path(path)
    if not path.is_file():
        raise LatentlabError(f"There is no checkpoint at {path}. Train a model first, or give the right path.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise LatentlabError(
            f"{path} was refused: it contains Python objects other than tensors and plain values, "
            f"which could run code when loaded ({str(error).splitlines()[0]}). Only load checkpoints "
            "written by latentlab, or from people you trust, and never with weights_only=False."
        ) from None
    except Exception as error:
        raise LatentlabError(
            f"{path} is not a latentlab checkpoint (torch.load could not read it: {error.__class__.__name__}). "
            "Point to a model.pt written by a latentlab run."
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise LatentlabError(
            f"{path} is a PyTorch file but not a latentlab checkpoint (no '{FORMAT}' marker). "
            "Point to a model.pt written by a latentlab run."
        )
    return state


def model_from_checkpoint(state: dict, path: Path | str = "checkpoint") -> torch.nn.Module:
    config = TrainConfig.from_dict(state["config"])
    model = build_model(config)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]  # the first mismatch, not the generic heading
        widths = ", ".join(f"{name}={getattr(config, name)}" for name in WIDTHS)
        raise LatentlabError(
            f"The weights in {path} do not fit the architecture its own configuration describes "
            f"({config.model.upper()}, latent_dim={config.latent_dim}, widths {widths}): "
            f"{detail} The file was edited, or written by another program."
        ) from None
    return model


def load_model(path: Path | str, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The trained model of a checkpoint, rebuilt from its stored configuration, in eval mode."""
    state = read_checkpoint(Path(path))
    model = model_from_checkpoint(state, path).to(device)
    model.config = TrainConfig.from_dict(state["config"])
    return model.eval()
