"""A trained model back from its checkpoint: the network its configuration describes, with its weights,
in eval mode. ``latentlab.load_model(path)`` is the door for other programs (and ``hubconf.py``)."""

from __future__ import annotations

from pathlib import Path

import torch

from .checkpoint import read_checkpoint
from .config import TrainConfig
from .errors import LatentlabError
from .models import WIDTHS, build_model


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
