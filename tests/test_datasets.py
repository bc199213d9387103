"""The data set choice: Fashion-MNIST from either place it lives, your own image folder, the data set
recorded with the recipe, and class names in the figures."""

import dataclasses
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TINY_WIDTHS, as_flags, idx_bytes, synthetic_digits
from latentlab import data
from latentlab.cli import main
from latentlab.config import TrainConfig
from latentlab.data import DATASETS, load_image_folder, load_split, to_28x28_grey
from latentlab.errors import DataSetMissing, LatentlabError

FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot")
DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def write_idx_set(raw: Path, n_train: int = 64, n_test: int = 32) -> Path:
    """Four gzipped IDX files in ``raw`` (synthetic images, labels 0-9)."""
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, (images, labels) in {"train": synthetic_digits(n_train, 1), "t10k": synthetic_digits(n_test, 2)}.items():
        (raw / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (raw / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    return raw


@pytest.fixture
def no_system_fashion(monkeypatch, tmp_path):
    """As on a machine without Debian's package."""
    monkeypatch.setitem(DATASETS, "fashion-mnist",
                        dataclasses.replace(DATASETS["fashion-mnist"], system_folder=tmp_path / "not-installed"))


def test_fashion_mnist_is_read_from_torchvisions_layout_under_the_data_root(tmp_path, no_system_fashion):
    write_idx_set(tmp_path / "FashionMNIST" / "raw")
    images, labels = load_split(tmp_path, "train", "fashion-mnist")
    assert images.shape == (64, 28, 28) and labels.max() <= 9
    assert DATASETS["fashion-mnist"].classes.names == FASHION_NAMES


def test_fashion_mnist_is_read_from_the_system_packages_folder(tmp_path, monkeypatch):
    system = write_idx_set(tmp_path / "usr-share")
    monkeypatch.setitem(DATASETS, "fashion-mnist", dataclasses.replace(DATASETS["fashion-mnist"], system_folder=system))
    assert load_split(tmp_path / "empty-root", "test", "fashion-mnist")[0].shape == (32, 28, 28)


def test_missing_fashion_mnist_says_both_ways_to_get_it_and_downloads_nothing(tmp_path, no_system_fashion):
    with pytest.raises(DataSetMissing) as error:
        load_split(tmp_path, "train", "fashion-mnist")
    message = str(error.value)
    assert "apt-get install dataset-fashion-mnist" in message and str(tmp_path / "FashionMNIST" / "raw") in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_debians_recompressed_fashion_mnist_loads_in_full():
    train, test = load_split(Path("/nonexistent"), "train", "fashion-mnist"), load_split(Path("/nonexistent"), "test", "fashion-mnist")
    assert train[0].shape == (60000, 28, 28) and test[0].shape == (10000, 28, 28)
    assert sorted(torch.bincount(test[1]).tolist()) == [1000] * 10


def _save(path: Path, array: np.ndarray, mode: str = "L", format: str = "PNG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8), mode).save(path, format=format)


def write_image_folder(root: Path) -> Path:
    """Two classes: grey PNGs and colour JPEGs of two sizes, in train/ and test/."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 6), ("test", 3)):
        for k in range(count):
            _save(root / split / "circle" / f"{k}.png", rng.integers(0, 255, (28, 28)))
            _save(root / split / "square" / f"{k}.jpg", rng.integers(0, 255, (40, 60, 3)), mode="RGB", format="JPEG")
    return root


def test_an_image_folder_loads_as_28x28_grey_with_labels_from_the_folder_names(tmp_path):
    root = write_image_folder(tmp_path / "mine")
    images, labels = load_image_folder(root, "train")
    assert images.shape == (12, 28, 28) and images.dtype == torch.uint8
    assert sorted(labels.tolist()) == [0] * 6 + [1] * 6
    assert data.dataset_classes(str(root)).names == ("circle", "square")


def test_an_image_keeps_its_aspect_ratio_and_is_padded_with_black():
    wide = Image.fromarray(np.full((20, 40), 255, np.uint8))  # twice as wide as tall
    grey = to_28x28_grey(wide)
    assert grey.shape == (28, 28)
    assert grey[14, :].min() == 255 and grey[0, :].max() == 0 and grey[27, :].max() == 0  # a 28x14 band
    assert (grey[:, 14] > 128).sum() == 14


def test_an_unreadable_image_is_named(tmp_path):
    root = write_image_folder(tmp_path / "mine")
    bad = root / "train" / "circle" / "broken.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(LatentlabError, match="cannot be read") as error:
        load_image_folder(root, "train")
    assert str(bad) in str(error.value)


def test_a_test_class_missing_from_train_is_refused(tmp_path):
    root = write_image_folder(tmp_path / "mine")
    _save(root / "test" / "triangle" / "0.png", np.zeros((28, 28)))
    with pytest.raises(LatentlabError, match="triangle"):
        load_image_folder(root, "test")


def test_an_empty_split_is_refused(tmp_path):
    root = write_image_folder(tmp_path / "mine")
    for path in (root / "test").rglob("*.*"):
        path.unlink()
    with pytest.raises(LatentlabError, match="no usable images"):
        load_image_folder(root, "test")


def test_a_folder_that_does_not_exist_names_the_choices(tmp_path):
    with pytest.raises(LatentlabError, match="mnist, fashion-mnist"):
        load_image_folder(tmp_path / "nowhere", "train")


TINY = [*as_flags(TINY_WIDTHS), "--epochs", "1", "--batch-size", "4", "--bound-samples", "2", "--bound-test-images", "4",
        "--device", "cpu"]


def test_a_run_on_an_image_folder_records_its_data_set_and_is_never_evaluated_on_another(tmp_path, capsys):
    root = write_image_folder(tmp_path / "mine")
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(root), "--latent-dim", "32", *TINY, "--out-dir", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["dataset"] == str(root)
    assert json.loads((out / "metrics.json").read_text())["dataset"] == str(root)
    scatter = (out / "interpolation.txt").read_text()
    assert "# classes: 0 circle, 1 square" in scatter
    for path in sorted(root.rglob("*"), reverse=True):  # the data set it was trained on is gone
        path.unlink() if path.is_file() else path.rmdir()
    assert main(["evaluate", str(out), "--device", "cpu"]) == 1
    assert str(root) in capsys.readouterr().err


def test_the_scatter_legend_names_the_classes(monkeypatch, tmp_path):
    from latentlab import figures
    from latentlab.data import Classes

    drawn = []
    monkeypatch.setattr(figures, "save", lambda fig, path: drawn.append(fig))
    codes, labels = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 10
    figures.latent_scatter_2d(codes, labels, DATASETS["fashion-mnist"].classes, "title", tmp_path / "x.png")
    legend = drawn[0].axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == list(FASHION_NAMES) and legend.get_title().get_text() == "class"
    figures.latent_scatter_2d(codes, labels, Classes(tuple("0123456789"), noun="digit"), "title", tmp_path / "x.png")
    assert drawn[1].axes[0].get_legend().get_title().get_text() == "digit"


def test_the_data_set_is_part_of_the_recipe():
    assert TrainConfig(dataset="fashion-mnist").recipe() != TrainConfig().recipe()
    assert TrainConfig.from_dict({"model": "vae"}).dataset == "mnist"  # checkpoints from before the choice
