"""MNIST as whole tensors: read once from the IDX files, kept on the training device as uint8.

The four files are read from ``<root>/MNIST/raw/``, gzipped or not, with no network.
Only when none of them is there do we ask torchvision to download them. We read the
IDX format ourselves rather than through ``torchvision.datasets.MNIST`` because
torchvision verifies md5 sums and re-downloads on a mismatch (it would overwrite a
user's file, and the mirrors may be unreachable) and it cannot read the ``.gz``
files from a read-only folder; our reader also checks every header field so a
damaged file gets a message, not an assertion.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from .errors import LatentlabError

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_FILES = [name for pair in FILES.values() for name in pair]
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049  # IDX: 0x08 (uint8) then 3 or 1 dimensions


def raw_folder(root: Path) -> Path:
    return Path(root) / "MNIST" / "raw"


def _find(root: Path, name: str) -> Path | None:
    for candidate in (raw_folder(root) / name, raw_folder(root) / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _how_to_provide(root: Path) -> str:
    return (
        f"Put the four MNIST files ({', '.join(n + '.gz' for n in ALL_FILES)}; gzipped or not) "
        f"into {raw_folder(root)}/, or point the data root at a folder that holds MNIST/raw/ "
        "with --data-root PATH or the environment variable MNIST_ROOT."
    )


def ensure_files(root: Path) -> None:
    """Make sure all four files exist, downloading through torchvision only if none does."""
    present = [name for name in ALL_FILES if _find(root, name)]
    if len(present) == len(ALL_FILES):
        return
    if present:
        missing = [n for n in ALL_FILES if n not in present]
        raise LatentlabError(
            f"The MNIST folder {raw_folder(root)} is incomplete: {', '.join(missing)} "
            f"(or .gz) is missing. {_how_to_provide(root)} Nothing was downloaded, so "
            "that the files you have are not replaced."
        )
    from torchvision.datasets import MNIST

    print(f"MNIST not found under {raw_folder(root)}; downloading it with torchvision ...")
    try:
        for train in (True, False):
            MNIST(str(root), train=train, download=True)
    except Exception as error:  # any network or file failure ends in the same advice
        raise LatentlabError(
            f"MNIST is not in {raw_folder(root)} and the download failed ({error}). "
            f"{_how_to_provide(root)}"
        ) from None


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as error:
        raise LatentlabError(
            f"{path} is not a readable gzip file ({error}). Replace it with an intact copy "
            "of the MNIST file, or put the uncompressed file beside it without the .gz ending."
        ) from None


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (images: magic 2051, labels: magic 2049) with checks."""
    data = _read_bytes(path)
    dims = 3 if magic == IMAGE_MAGIC else 1
    header = 4 + 4 * dims
    if len(data) < header:
        raise LatentlabError(f"{path} is truncated: {len(data)} bytes, shorter than its header.")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise LatentlabError(
            f"{path} has the wrong magic number {found} (expected {magic}); it is not an MNIST "
            f"{'image' if magic == IMAGE_MAGIC else 'label'} file. Replace it with the right file."
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    if dims == 3 and shape[1:] != (28, 28):
        raise LatentlabError(f"{path} holds {shape[1]}x{shape[2]} images; MNIST images are 28x28.")
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise LatentlabError(
            f"{path} is truncated or padded: its header promises {shape[0]} items "
            f"({expected} bytes) but the file holds {len(data) - header} bytes after the header. "
            "Replace it with an intact copy."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_split(root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of the "train" or "test" split."""
    ensure_files(root)
    image_name, label_name = FILES[split]
    image_path, label_path = _find(root, image_name), _find(root, label_name)
    images = read_idx(image_path, IMAGE_MAGIC)
    labels = read_idx(label_path, LABEL_MAGIC)
    if len(images) != len(labels):
        raise LatentlabError(
            f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} labels; "
            "the two files of a split must match. Replace the odd one out."
        )
    if labels.size and labels.max() > 9:
        raise LatentlabError(f"{label_path} holds the label {labels.max()}; MNIST labels are 0-9.")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


TEST_BINARIZATION_SEED = 1234


def binarize_once(images: torch.Tensor, seed: int = TEST_BINARIZATION_SEED) -> torch.Tensor:
    """Each pixel drawn once as Bernoulli(intensity), with a fixed seed: uint8 0 or 255.

    The test set of binarized-MNIST likelihood tables is fixed like this; the
    training set is binarized anew for every batch instead (dynamic binarization).
    """
    generator = torch.Generator().manual_seed(seed)
    return (torch.bernoulli(images.float() / 255, generator=generator) * 255).to(torch.uint8)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 28, 28) -> float (B, 1, 28, 28) in [0, 1], converted where the batch lives."""
    return images.unsqueeze(1).float().div_(255.0)


class DeviceSplit:
    """A split held as one tensor on the training device and served in shuffled batches."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, device: torch.device):
        self.images = images.to(device)  # (N, 28, 28) uint8: a quarter of the float32 memory
        self.labels = labels.to(device)
        self.device = device

    def __len__(self) -> int:
        return len(self.images)

    def batch_indices(self, batch_size: int, generator: torch.Generator | None = None):
        """Yield index tensors (B,) on the device; shuffled when a generator is given, else in order."""
        n = len(self.images)
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        yield from order.to(self.device).split(batch_size)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        """Yield float batches (B, 1, 28, 28) in the order of ``batch_indices``."""
        for index in self.batch_indices(batch_size, generator):
            yield to_float(self.images[index])


def load_splits(config, device: torch.device) -> tuple[DeviceSplit, DeviceSplit]:
    """The training split (its first ``config.train_limit`` images, if set) and the test split of
    a TrainConfig, on ``device``."""
    images, labels = load_split(config.resolved_data_root(), "train")
    if config.train_limit is not None:
        images, labels = images[: config.train_limit], labels[: config.train_limit]
    return DeviceSplit(images, labels, device), load_test_split(config, device)


def load_test_split(config, device: torch.device) -> DeviceSplit:
    """The test split as the model sees it: binarized once (fixed seed) for a Bernoulli decoder."""
    images, labels = load_split(config.resolved_data_root(), "test")
    if config.likelihood == "bernoulli":
        images = binarize_once(images)
    return DeviceSplit(images, labels, device)
