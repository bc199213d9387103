"""A finished model in hand, and the one way to get one from disk.

``Finished`` holds a finished checkpoint, the configuration it was trained with (reading its data from where
that is now), the network on its device in eval mode, and its data splits, read on first use. The training
loop hands on the Finished it made (``training.train``), with the splits it trained on; every other caller
opens one from a model.pt with ``open_finished``, through the same checks: a file of tensors only, with the
checkpoint's layout, whose weights fit the architecture its configuration describes. ``latentlab.load_model``
is the door for other programs (and ``hubconf.py``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from .checkpoint_file import read_checkpoint
from .config import TrainConfig
from .data import DATASETS, DeviceSplit, load_splits, load_test_split
from .devices import pick_device
from .errors import LatentlabError
from .kinds import WIDTHS, build_model, title


class Finished:
    """A finished model and what it was trained with. ``train`` and ``test`` are its data splits on the
    model's device, read on first use (the figures need the test split only)."""

    def __init__(
        self,
        state: dict,
        config: TrainConfig,
        model: torch.nn.Module,
        splits: tuple[DeviceSplit, DeviceSplit] | None = None,
    ):
        self.state, self.config, self.model = state, config, model.eval()
        self._splits = splits
        self._test = splits[1] if splits else None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def train(self) -> DeviceSplit:
        if self._splits is None:
            self._splits = load_splits(self.config, self.device, self.model.likelihood, self._test)
            self._test = self._splits[1]
        return self._splits[0]

    @property
    def test(self) -> DeviceSplit:
        if self._test is None:
            self._test = load_test_split(self.config, self.device, self.model.likelihood)
        return self._test


def open_finished(
    path: Path | str, device: str | torch.device = "cpu", data_root: str | None = None, dataset: str | None = None
) -> Finished:
    """The finished model of a model.pt on ``device`` (a name such as "auto" is picked as ``--device`` is),
    reading its data from ``data_root`` and, for a model of an image folder that moved, from ``dataset``
    (``trained_on``)."""
    return from_checkpoint(read_checkpoint(Path(path)), device, data_root, dataset, path)


def from_checkpoint(
    state: dict,
    device: str | torch.device = "cpu",
    data_root: str | None = None,
    dataset: str | None = None,
    path: Path | str = "checkpoint",
) -> Finished:
    """``open_finished`` of a checkpoint already read (``read_checkpoint``)."""
    config = TrainConfig.from_dict(state["config"])
    return Finished(
        state, trained_on(config, data_root, dataset), _network(state, config, path).to(pick_device(device))
    )


def _network(state: dict, config: TrainConfig, path: Path | str) -> torch.nn.Module:
    """The network ``config`` describes with the checkpoint's weights, refused in words where they do not fit."""
    model = build_model(config)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]  # the first mismatch, not the generic heading
        widths = ", ".join(f"{name}={getattr(config, name)}" for name in WIDTHS)
        raise LatentlabError(
            f"The weights in {path} do not fit the architecture its own configuration describes "
            f"({title(config.model)}, latent_dim={config.latent_dim}, widths {widths}): "
            f"{detail} The file was edited, or written by another program."
        ) from None
    return model


def trained_on(config: TrainConfig, data_root: str | None, dataset: str | None = None) -> TrainConfig:
    """The configuration a finished model was trained with, reading its data from ``data_root`` (when None,
    from the data root it was trained with if that folder is still there, else as a run would: $MNIST_ROOT,
    else data/), and for a model of an image folder from ``dataset`` if given (the folder moved): never
    another data set."""
    if data_root is None and config.data_root is not None and Path(config.data_root).is_dir():
        data_root = config.data_root
    if dataset is not None and dataset != config.dataset:
        if config.dataset in DATASETS or dataset in DATASETS:
            raise LatentlabError(
                f"This model was trained on {config.dataset}; it is evaluated and drawn on that "
                f"data set only, not on {dataset}. --dataset here only says where a moved image "
                "folder now lives."
            )
        return dataclasses.replace(config, data_root=data_root, dataset=dataset)
    return dataclasses.replace(config, data_root=data_root)


def load_model(path: Path | str, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The trained model of a checkpoint file, rebuilt from its stored configuration, in eval mode."""
    return open_finished(path, device).model


def load_config(path: Path | str) -> TrainConfig:
    """The TrainConfig a checkpoint was trained with."""
    return TrainConfig.from_dict(read_checkpoint(Path(path))["config"])
