"""Checkpoints: written atomically, read back without running code, rebuilt into models.

Checkpoints hold only tensors and plain Python values, so ``torch.load`` can use
``weights_only=True`` and an untrusted file cannot execute anything. An unfinished run's
``model.partial.pt`` holds everything needed to resume bit for bit (optimizer,
scheduler, random states); a finished ``model.pt`` only what a reader needs: the
weights, the configuration, the history and, for an AE, its code statistics.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import torch

from .config import TrainConfig, renamed
from .errors import LatentlabError
from .files import atomic_path
from .models import WIDTHS, build_model

FORMAT = "latentlab-checkpoint-v1"
MODEL_FILE = "model.pt"  # the finished model
PARTIAL_FILE = "model.partial.pt"  # written after every epoch while a run is under way


def save_atomic(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


RESUME_ONLY = ("optimizer", "scheduler", "rng")  # what only resuming an unfinished run needs


def published(state: dict) -> dict:
    """A finished checkpoint without what only resuming needs: about a third of the file's size."""
    return {key: value for key, value in state.items() if key not in RESUME_ONLY}


def read_checkpoint(path: Path, map_location="cpu") -> dict:
    """Load a checkpoint dictionary, refusing anything but tensors and plain values, and check its layout."""
    path = Path(path)
    if not path.is_file():
        raise LatentlabError(f"There is no checkpoint at {path}. Train a model first, or give the right path.")
    try:
        with warnings.catch_warnings():  # torch warns about a foreign pickle protocol: our message says more
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        # torch names the refused callable ("Unsupported global: GLOBAL builtins.open", or "unsupported
        # GLOBAL posix.system whose module posix is blocked"); anything else is not a pickle of objects.
        refused = [line for line in str(error).splitlines() if "unsupported global" in line.lower()]
        if not refused:
            raise LatentlabError(f"{path} is not a latentlab checkpoint (torch.load could not read it). "
                                 "Point to a model.pt written by a latentlab run.") from None
        raise LatentlabError(
            f"{path} was refused: it contains Python objects other than tensors and plain values, "
            f"which could run code when loaded ({refused[0].strip()}). Only load checkpoints "
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
    problem = _layout_problem(state)
    if problem:
        raise LatentlabError(f"{path} has the latentlab marker but is damaged: {problem}. The file was edited, "
                             "or written by another program; train the model again or restore the file.")
    state["config"] = renamed(state["config"])  # older files name two fields otherwise (config.RENAMED)
    return state


# What every checkpoint holds, and the type of each entry.
LAYOUT = {"config": dict, "model": dict, "epoch": int, "history": list, "train_seconds": (int, float), "device": str}


def _layout_problem(state: dict) -> str | None:
    """What is wrong with a marked checkpoint's entries, in words, or None."""
    for key, kind in LAYOUT.items():
        if key not in state:
            return f"it has no '{key}' entry"
        if not isinstance(state[key], kind):
            return f"its '{key}' entry is a {type(state[key]).__name__}"
    if not all(isinstance(t, torch.Tensor) for t in state["model"].values()):
        return "its 'model' entry holds something other than tensors"
    try:
        TrainConfig.from_dict(state["config"]).check()
    except (TypeError, ValueError) as error:
        return f"its configuration is not valid ({error})"
    return None


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


def trained_model(state: dict, device: str | torch.device = "cpu", path: Path | str = "checkpoint") -> torch.nn.Module:
    """The trained model of a checkpoint dictionary, rebuilt from its stored configuration, in eval mode."""
    return model_from_checkpoint(state, path).to(device).eval()


def load_model(path: Path | str, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The trained model of a checkpoint file, rebuilt from its stored configuration, in eval mode."""
    return trained_model(read_checkpoint(Path(path)), device, path)


def load_config(path: Path | str) -> TrainConfig:
    """The TrainConfig a checkpoint was trained with."""
    return TrainConfig.from_dict(read_checkpoint(Path(path))["config"])
