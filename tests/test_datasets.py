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
from latentlab.cli import main
from latentlab.core import data
from latentlab.core.config import TrainConfig
from latentlab.core.data import DATASETS, load_image_folder, load_split, to_28x28_grey
from latentlab.core.errors import DataSetMissing, LatentlabError

FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def write_idx_set(raw: Path, n_train: int = 64, n_test: int = 32) -> Path:
    """Four gzipped IDX files in ``raw`` (synthetic images, labels 0-9)."""
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, (images, labels) in {
        "train": synthetic_digits(n_train, 1),
        "t10k": synthetic_digits(n_test, 2),
    }.items():
        (raw / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (raw / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    return raw


@pytest.fixture
def no_system_fashion(monkeypatch, tmp_path):
    """As on a machine without Debian's package."""
    monkeypatch.setitem(
        DATASETS,
        "fashion-mnist",
        dataclasses.replace(DATASETS["fashion-mnist"], system_folder=tmp_path / "not-installed"),
    )


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
    train, test = (
        load_split(Path("/nonexistent"), "train", "fashion-mnist"),
        load_split(Path("/nonexistent"), "test", "fashion-mnist"),
    )
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


def test_an_empty_class_folder_is_named(tmp_path):
    root = write_image_folder(tmp_path / "mine")
    for path in (root / "test" / "square").rglob("*.*"):
        path.unlink()
    with pytest.raises(LatentlabError, match="holds no images") as error:
        load_image_folder(root, "test")
    assert str(root / "test" / "square") in str(error.value)


def _strokes(ink_rgb: tuple[int, int, int]) -> Image.Image:
    """A 28x28 RGBA image: a plus sign of the given colour, fully opaque, on a fully transparent background."""
    pixels = np.zeros((28, 28, 4), np.uint8)
    pixels[12:16, 4:24, :3] = pixels[4:24, 12:16, :3] = ink_rgb
    pixels[12:16, 4:24, 3] = pixels[4:24, 12:16, 3] = 255
    return Image.fromarray(pixels, "RGBA")


@pytest.mark.parametrize("ink", [(0, 0, 0), (255, 255, 255), (200, 30, 30)])
def test_strokes_on_a_transparent_background_become_white_ink_on_black_whatever_their_colour(ink):
    grey = to_28x28_grey(_strokes(ink))
    assert grey[14, 14] == 255 and grey[0, 0] == 0 and grey[2, 2] == 0


def test_an_opaque_image_with_an_alpha_channel_is_read_by_its_colours():
    pixels = np.zeros((28, 28, 4), np.uint8)
    pixels[..., 3] = 255
    pixels[10:18, 10:18, :3] = 255
    grey = to_28x28_grey(Image.fromarray(pixels, "RGBA"))
    assert grey[14, 14] == 255 and grey[0, 0] == 0


def test_an_image_that_converts_to_a_blank_image_stops_the_run_naming_the_file(tmp_path):
    root = write_image_folder(tmp_path / "mine")
    blank = root / "train" / "circle" / "blank.png"
    Image.fromarray(np.zeros((28, 28, 4), np.uint8), "RGBA").save(blank)  # transparent everywhere
    with pytest.raises(LatentlabError, match="blank image") as error:
        load_image_folder(root, "train")
    assert str(blank) in str(error.value)


def test_a_link_out_of_its_class_folder_is_skipped_with_a_line_and_each_image_is_read_once(tmp_path, capsys):
    root = write_image_folder(tmp_path / "mine")
    circle = root / "train" / "circle"
    (circle / "loop").symlink_to("..")  # back up: would read every class again, labelled circle
    (circle / "other.png").symlink_to(root / "train" / "square" / "0.png")  # another class's image
    (circle / "again.png").symlink_to(circle / "0.png")  # the same image under a second name
    images, labels = load_image_folder(root, "train")
    assert sorted(labels.tolist()) == [0] * 6 + [1] * 6
    said = [line for line in capsys.readouterr().out.splitlines() if str(circle) in line]
    assert len(said) == 1 and all(name in said[0] for name in ("loop", "other.png", "again.png"))


def test_a_link_that_loops_is_skipped_as_leading_nowhere_not_a_traceback(tmp_path, capsys):
    root = write_image_folder(tmp_path / "mine")
    circle = root / "train" / "circle"
    (circle / "loop.png").symlink_to("loop.png")  # a link to itself: resolving it raises on Python < 3.13
    images, labels = load_image_folder(root, "train")
    assert sorted(labels.tolist()) == [0] * 6 + [1] * 6
    said = [line for line in capsys.readouterr().out.splitlines() if str(circle) in line]
    assert len(said) == 1 and "loop.png" in said[0] and "nowhere" in said[0]


def test_every_format_pillow_reads_is_an_image_gif_included(tmp_path):
    root = write_image_folder(tmp_path / "mine")
    Image.fromarray(np.arange(784, dtype=np.uint8).reshape(28, 28).T).save(root / "train" / "circle" / "g.gif")
    Image.fromarray(np.arange(784, dtype=np.uint8).reshape(28, 28)).save(root / "train" / "circle" / "b.bmp")
    (root / "train" / "circle" / "notes.txt").write_text("not an image")
    images, labels = load_image_folder(root, "train")
    assert len(images) == 14 and (labels == 0).sum() == 8


def test_an_image_too_small_to_hold_a_shape_is_refused_naming_it(tmp_path):
    root = write_image_folder(tmp_path / "mine")
    tiny = root / "train" / "square" / "dot.png"
    Image.fromarray(np.full((1, 1), 255, np.uint8)).save(tiny)
    with pytest.raises(LatentlabError, match="1x1 pixels") as error:
        load_image_folder(root, "train")
    assert str(tiny) in str(error.value)


def test_a_train_limit_keeps_every_class_of_a_folder_sorted_by_class():
    labels = torch.arange(10).repeat_interleave(100)  # sorted by class, as a folder listing is
    kept = labels[data.training_subset(labels, 150)]
    assert len(kept) == 150 and torch.bincount(kept).tolist() == [15] * 10
    assert torch.equal(data.training_subset(labels, 150), data.training_subset(labels, 150))  # seeded


def test_a_train_limit_below_the_number_of_classes_is_refused():
    with pytest.raises(LatentlabError, match="--train-limit 10 or more"):
        data.training_subset(torch.arange(10).repeat_interleave(5), 1)


def test_a_folder_that_does_not_exist_names_the_choices(tmp_path):
    with pytest.raises(LatentlabError, match="mnist, fashion-mnist"):
        load_image_folder(tmp_path / "nowhere", "train")


TINY = [
    *as_flags(TINY_WIDTHS),
    "--epochs",
    "1",
    "--batch-size",
    "4",
    "--bound-samples",
    "2",
    "--bound-test-images",
    "4",
    "--device",
    "cpu",
]


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
    from latentlab.core.data import Classes
    from latentlab.publish import figures

    drawn = []
    monkeypatch.setattr(figures, "save", lambda fig, path: drawn.append(fig))
    codes, labels = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 10
    figures.latent_scatter_2d(codes, labels, DATASETS["fashion-mnist"].classes, "title", tmp_path / "x.png")
    legend = drawn[0].axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == list(
        FASHION_NAMES
    ) and legend.get_title().get_text() == "class"
    figures.latent_scatter_2d(codes, labels, Classes(tuple("0123456789"), noun="digit"), "title", tmp_path / "x.png")
    assert drawn[1].axes[0].get_legend().get_title().get_text() == "digit"


def test_the_data_set_is_part_of_the_recipe():
    assert TrainConfig(dataset="fashion-mnist").recipe() != TrainConfig().recipe()
    assert TrainConfig.from_dict({"model": "vae"}).dataset == "mnist"  # checkpoints from before the choice
