"""Shared fixtures: tiny MNIST-format files written by the tests themselves."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from latentlab.core.config import TrainConfig

# The widths of every tiny model the tests train: seconds on a CPU.
TINY_WIDTHS = dict(
    stem_channels=4,
    growth=4,
    dense_layers=1,
    reduce_channels=8,
    decoder_channels=8,
    decoder_blocks=1,
    upsample_channels=8,
)


def as_flags(settings: dict) -> list[str]:
    """``{"latent_dim": 2}`` -> ``["--latent-dim", "2"]``."""
    return [item for key, value in settings.items() for item in (f"--{key.replace('_', '-')}", str(value))]


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format (magic 0x0803 for images, 0x0801 for labels)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images with a bright 8x8 square whose position depends on the label: learnable in seconds."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    images = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
    for image, label in zip(images, labels, strict=True):
        row, col = 2 + 6 * (label // 4), 2 + 6 * (label % 4)
        image[row : row + 8, col : col + 8] = 255
    return images, labels


def write_mnist(root: Path, n_train: int = 256, n_test: int = 64, gz: bool = True) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    splits = {"train": synthetic_digits(n_train, 1), "t10k": synthetic_digits(n_test, 2)}
    for prefix, (images, labels) in splits.items():
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            data = idx_bytes(array)
            name = raw / f"{prefix}-{kind}-ubyte"
            if gz:
                (name.parent / (name.name + ".gz")).write_bytes(gzip.compress(data))
            else:
                name.write_bytes(data)
    return root


def untrained_vae_page(folder: Path, latent_dim: int, title: str, class_names: tuple[str, ...] | None = None) -> Path:
    """explorer.html in ``folder`` of an untrained tiny VAE (seed 0) over 64 synthetic test digits; with
    ``class_names``, the labels taken modulo their count and named so."""
    import torch

    from latentlab import VariationalAutoencoder
    from latentlab.core.data import Classes, DeviceSplit
    from latentlab.core.passes import encode_split
    from latentlab.publish.explorer import write_explorer

    torch.manual_seed(0)
    model = VariationalAutoencoder(latent_dim, **TINY_WIDTHS).eval()
    images, labels = synthetic_digits(64, seed=4)
    named = {} if class_names is None else {"classes": Classes(tuple(class_names))}
    if class_names is not None:
        labels = labels % len(class_names)
    test = DeviceSplit(torch.from_numpy(images), torch.from_numpy(labels).long(), torch.device("cpu"), **named)
    return write_explorer(model, test, encode_split(model, test), title, folder)


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    return write_mnist(tmp_path / "data")


def tiny_train_config(data_root: Path, out_dir: Path, **changes) -> TrainConfig:
    """A 2-D VAE small enough to train two epochs on 256 images in about a second, with ``changes`` made."""
    settings = dict(model="vae", latent_dim=2, epochs=2, batch_size=32, lr=5e-3, **TINY_WIDTHS, device="cpu")
    return TrainConfig(**{**settings, "data_root": str(data_root), "out_dir": str(out_dir), **changes})


@pytest.fixture
def tiny_config(mnist_root: Path, tmp_path: Path) -> TrainConfig:
    """The tiny VAE of ``tiny_train_config``, on the synthetic digits, into tmp_path/run."""
    return tiny_train_config(mnist_root, tmp_path / "run")
