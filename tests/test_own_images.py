"""Your own image folder as people really have them (issue 37, sections 2-4): images read as their files
mean them (16-bit scans, phone photos, huge images), folders with links, hidden entries and subfolders,
and classes of unequal size judged by more than the share of the largest."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import TINY_WIDTHS, as_flags
from latentlab.cli import main
from latentlab.core.data import dataset_classes, load_image_folder
from latentlab.core.errors import LatentlabError


def _plus(side: int = 28) -> np.ndarray:
    """A white plus sign on black, ``side`` pixels square."""
    pixels = np.zeros((side, side), np.uint8)
    third = side // 3
    pixels[third : 2 * third, 2:-2] = pixels[2:-2, third : 2 * third] = 255
    return pixels


def _class_folder(root: Path, split: str, name: str, count: int, seed: int = 0) -> Path:
    """``count`` random grey 28x28 PNGs in ``root/split/name/``."""
    folder = root / split / name
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for k in range(count):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / f"{k}.png")
    return folder


def _read_as_a_run_does(tmp_path: Path, image: Image.Image, name: str = "x.png", **save) -> np.ndarray:
    """``image`` saved as the one image of class "a" of a two-class folder, and read back as training reads it."""
    root = tmp_path / "mine"
    (root / "train" / "a").mkdir(parents=True)
    image.save(root / "train" / "a" / name, **save)
    _class_folder(root, "train", "b", 1)
    images, labels = load_image_folder(root, "train")
    return images[labels == 0][0].numpy()


# --- 2. Images as their files mean them --------------------------------------------------------------------


def test_a_16_bit_grey_png_is_scaled_by_its_bit_depth_so_mid_grey_stays_mid_grey(tmp_path):
    pixels = np.full((28, 28), 3000, np.uint16)  # a faint grey background: 3000 / 65535 of white
    pixels[_plus() > 0] = 65535  # a white stroke
    pixels[:4, :4] = 32768  # mid-grey
    assert Image.fromarray(pixels).mode == "I;16"
    grey = _read_as_a_run_does(tmp_path, Image.fromarray(pixels))
    assert grey[14, 14] == 255 and abs(int(grey[1, 1]) - 128) <= 1 and abs(int(grey[27, 27]) - 12) <= 1


def test_a_phone_photo_with_an_exif_orientation_is_read_as_an_image_viewer_shows_it(tmp_path):
    stored = np.zeros((200, 400), np.uint8)  # stored wide, its top half white
    stored[:100] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the viewer turns it 90 degrees clockwise, so it stands tall
    grey = _read_as_a_run_does(tmp_path, Image.fromarray(stored), "photo.jpg", format="JPEG", exif=exif.tobytes())
    # Standing tall, it is scaled to 14x28 and padded with black left and right, not above and below ...
    assert grey[:, :6].max() < 30 and grey[:, -6:].max() < 30 and grey[0, 7:21].max() > 200
    # ... and turned clockwise, its top half becomes its right half.
    assert grey[14, 17] > 200 and grey[14, 10] < 50


@pytest.mark.parametrize("side", [40, 50], ids=["over-the-limit", "over-twice-the-limit"])
def test_an_image_over_pillows_decompression_bomb_limit_is_refused_naming_the_file_the_limit_and_the_remedy(
    tmp_path, monkeypatch, side
):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # so that a tiny image stands for a huge one
    with pytest.raises(LatentlabError) as error:
        _read_as_a_run_does(tmp_path, Image.fromarray(_plus(side)), "huge.png")
    message = str(error.value)
    assert str(tmp_path / "mine" / "train" / "a" / "huge.png") in message
    assert "1,000 pixels" in message and "smaller" in message


# --- 3. Folders as people have them ---------------------------------------------------------------------


def test_a_class_folder_that_links_to_another_class_folder_is_skipped_with_one_line(tmp_path, capsys):
    root = tmp_path / "mine"
    for seed, name in enumerate("abc"):
        _class_folder(root, "train", name, 2 + seed, seed)
    (root / "train" / "d").symlink_to(root / "train" / "a")  # the same images under a second label
    assert dataset_classes(str(root)).names == ("a", "b", "c")
    images, labels = load_image_folder(root, "train")
    assert sorted(labels.tolist()) == [0] * 2 + [1] * 3 + [2] * 4
    said = [line for line in capsys.readouterr().out.splitlines() if str(root / "train" / "d") in line]
    assert len(said) == 1 and str(root / "train" / "a") in said[0]


def test_hidden_entries_and_subfolders_of_a_class_folder_are_not_read_and_are_said_in_one_line(tmp_path, capsys):
    root = tmp_path / "mine"
    a = _class_folder(root, "train", "a", 3)
    _class_folder(root, "train", "b", 2)
    (a / "._0.png").write_bytes(b"\x00\x05\x16\x07 macOS Finder metadata, not an image")
    (a / ".ipynb_checkpoints").mkdir()
    Image.fromarray(_plus()).save(a / ".ipynb_checkpoints" / "0-checkpoint.png")
    (a / "rejects").mkdir()
    Image.fromarray(_plus()).save(a / "rejects" / "blurred.png")
    (root / "train" / ".ipynb_checkpoints").mkdir()  # a hidden folder beside the classes is no class
    images, labels = load_image_folder(root, "train")
    assert sorted(labels.tolist()) == [0] * 3 + [1] * 2
    assert dataset_classes(str(root)).names == ("a", "b")
    said = [line for line in capsys.readouterr().out.splitlines() if str(a) in line]
    assert len(said) == 1 and all(name in said[0] for name in ("._0.png", ".ipynb_checkpoints", "rejects"))


TINY = [
    *as_flags(TINY_WIDTHS),
    "--latent-dim",
    "2",
    "--epochs",
    "1",
    "--batch-size",
    "16",
    "--bound-samples",
    "2",
    "--bound-test-images",
    "4",
    "--device",
    "cpu",
]


def test_what_is_skipped_is_said_once_in_a_run_that_trains_and_then_evaluates(tmp_path, capsys):
    root = tmp_path / "mine"
    _class_folder(root, "train", "a", 4)
    _class_folder(root, "train", "b", 4, 1)
    _class_folder(root, "test", "a", 2, 2)
    _class_folder(root, "test", "b", 2, 3)
    (root / "train" / "a" / "notes.txt").write_text("where these came from")
    assert main(["train", "--dataset", str(root), *TINY, "--out-dir", str(tmp_path / "run")]) == 0
    assert capsys.readouterr().out.count("notes.txt") == 1


# --- 4. Unequal classes ---------------------------------------------------------------------------------


def test_with_unequal_classes_every_accuracy_has_a_balanced_accuracy_and_the_majority_rate_beside_it(tmp_path, capsys):
    root = tmp_path / "mine"
    _class_folder(root, "train", "big", 30)
    _class_folder(root, "train", "small", 5, 1)
    _class_folder(root, "test", "big", 10, 2)
    _class_folder(root, "test", "small", 2, 3)
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(root), *TINY, "--out-dir", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["images_per_class"] == {"train": {"big": 30, "small": 5}, "test": {"big": 10, "small": 2}}
    assert metrics["majority_class_rate"] == pytest.approx(10 / 12)
    for accuracy in ("knn5_accuracy", "linear_probe_accuracy", "pca_knn5_accuracy", "pca_linear_probe_accuracy"):
        assert 0 <= metrics[accuracy.replace("accuracy", "balanced_accuracy")] <= 1
    said = capsys.readouterr().out
    warnings = [line for line in said.splitlines() if "unequal classes" in line.lower()]
    assert len(warnings) == 1 and "small" in warnings[0] and "a fifth" in warnings[0]
    assert "balanced" in said and "majority-class rate" in said and "big 30" in said


def test_classes_of_like_size_give_no_warning(tmp_path, capsys):
    root = tmp_path / "mine"
    _class_folder(root, "train", "a", 5)
    _class_folder(root, "train", "b", 3, 1)  # 3 of 5: smaller, not much smaller
    _class_folder(root, "test", "a", 2, 2)
    _class_folder(root, "test", "b", 1, 3)
    assert main(["train", "--dataset", str(root), *TINY, "--out-dir", str(tmp_path / "run")]) == 0
    assert "unequal classes" not in capsys.readouterr().out.lower()


def test_answering_the_largest_class_scores_its_share_as_accuracy_and_one_over_the_classes_as_balanced_accuracy():
    from latentlab.core.evaluation import classifier_scores

    rng = np.random.default_rng(0)
    train_labels, test_labels = np.repeat([0, 1], [300, 6]), np.repeat([0, 1], [20, 3])
    noise = rng.normal(size=(306, 2)), rng.normal(size=(23, 2))  # codes that say nothing of the class
    scores = classifier_scores(noise[0], train_labels, noise[1], test_labels)
    assert scores["knn5_accuracy"] == pytest.approx(20 / 23) and scores["knn5_balanced_accuracy"] == pytest.approx(0.5)


def test_the_results_tables_set_a_balanced_accuracy_beside_each_accuracy_only_where_the_classes_are_unequal(tmp_path):
    from latentlab.experiments import EXPERIMENTS
    from latentlab.publish.report import _model_row, _pca_row
    from latentlab.publish.summary_table import summary_rows

    facts = {"model": "ae", "latent_dim": 2, "epochs": 1, "train_seconds": 6.0, "device": "cpu", "dataset": "/d/mine"}
    scores = {
        "knn5_accuracy": 0.87,
        "linear_probe_accuracy": 0.87,
        "pca_knn5_accuracy": 0.87,
        "pca_linear_probe_accuracy": 0.87,
        "knn5_balanced_accuracy": 0.5,
        "linear_probe_balanced_accuracy": 0.5,
        "pca_knn5_balanced_accuracy": 0.5,
        "pca_linear_probe_balanced_accuracy": 0.5,
    }
    unequal = {**facts, **scores, "images_per_class": {"train": {"a": 300, "b": 6}, "test": {"a": 20, "b": 3}}}
    rows = _model_row("AE", unequal) + _pca_row("PCA", unequal)
    assert sum(cell == "0.870 (balanced 0.500)" for cell in rows) == 4
    alike = {**unequal, "images_per_class": {"train": {"a": 300, "b": 290}, "test": {"a": 20, "b": 21}}}
    published = {
        key: value
        for key, value in unequal.items()  # a committed metrics.json: no new keys
        if "balanced" not in key and key != "images_per_class"
    }
    for m in (alike, published):
        assert sum(cell == "0.870" for cell in _model_row("AE", m) + _pca_row("PCA", m)) == 4
    first = next(iter(EXPERIMENTS.values()))  # the short table of the READMEs and index.html
    committed = json.loads(
        (Path(__file__).resolve().parents[1] / first.out_dir / "metrics.json").read_text(encoding="utf-8")
    )  # a whole record, as the schema of metrics.json asks
    for m, cell in ((unequal, "0.870 (balanced 0.500)"), (alike, "0.870")):
        (tmp_path / first.out_dir).mkdir(parents=True, exist_ok=True)
        (tmp_path / first.out_dir / "metrics.json").write_text(json.dumps({**committed, **m, "parameters": 1000}))
        assert summary_rows(tmp_path)[0][0][5] == cell


# --- Issue 46: images read by their mode, each refusal with its real reason, names as one rule -----------------


def test_a_float_tiff_with_values_from_0_to_1_is_read_as_that_fraction_of_white(tmp_path):
    pixels = np.full((28, 28), 0.05, np.float32)  # a faint background
    pixels[_plus() > 0] = 1.0  # a white stroke
    pixels[:4, :4] = 0.5
    assert Image.fromarray(pixels).mode == "F"
    grey = _read_as_a_run_does(tmp_path, Image.fromarray(pixels), "x.tif")
    assert grey[14, 14] == 255 and abs(int(grey[1, 1]) - 128) <= 1 and abs(int(grey[27, 27]) - 13) <= 1


def test_a_float_tiff_beyond_0_to_1_is_stretched_from_its_least_to_its_greatest_value(tmp_path):
    pixels = np.full((28, 28), 1000.0, np.float32)  # a 12-bit scan stored as floats, its background 1000
    pixels[_plus() > 0] = 4095.0
    pixels[:4, :4] = 2547.5  # halfway
    grey = _read_as_a_run_does(tmp_path, Image.fromarray(pixels), "x.tif")
    assert grey[14, 14] == 255 and grey[27, 27] == 0 and abs(int(grey[1, 1]) - 128) <= 1


def test_a_10000_by_10_image_is_refused_naming_its_shape_not_called_blank(tmp_path):
    pixels = np.zeros((10, 10000), np.uint8)
    pixels[3:7] = 255  # a long white line: not blank
    with pytest.raises(LatentlabError, match="10000x10 pixels") as refused:
        _read_as_a_run_does(tmp_path, Image.fromarray(pixels))
    assert "blank" not in str(refused.value) and "less than one" in str(refused.value)


def test_a_file_among_the_class_folders_is_said_in_one_line_not_ignored_silently(tmp_path, capsys):
    root = tmp_path / "mine"
    _class_folder(root, "train", "a", 2)
    _class_folder(root, "train", "b", 2)
    Image.fromarray(_plus()).save(root / "train" / "stray.png")  # an image not in any class folder
    images, labels = load_image_folder(root, "train")
    assert len(images) == 4
    said = [line for line in capsys.readouterr().out.splitlines() if "stray.png" in line]
    assert len(said) == 1 and "not a folder" in said[0]


def test_class_folders_named_cafe_in_nfc_and_in_nfd_are_refused_naming_both(tmp_path):
    root = tmp_path / "mine"
    _class_folder(root, "train", "caf\u00e9", 2)
    _class_folder(root, "train", "cafe\u0301", 2)
    with pytest.raises(LatentlabError, match="NFC") as refused:
        load_image_folder(root, "train")
    assert "'caf\\xe9'" in str(refused.value) and "'cafe\\u0301'" in str(refused.value)


def test_a_class_in_nfc_in_train_and_in_nfd_in_test_is_one_class(tmp_path):
    root = tmp_path / "mine"
    _class_folder(root, "train", "caf\u00e9", 2)
    _class_folder(root, "train", "th\u00e9", 2)
    _class_folder(root, "test", "cafe\u0301", 3)
    _class_folder(root, "test", "the\u0301", 1)
    images, labels = load_image_folder(root, "test")
    assert sorted(labels.tolist()) == [0, 0, 0, 1]
    assert dataset_classes(str(root)).names == ("caf\u00e9", "th\u00e9")


def test_a_class_folder_whose_name_is_not_utf8_is_refused_before_training_with_its_bytes_shown(tmp_path, capsys):
    root = tmp_path / "mine"
    for split in ("train", "test"):
        _class_folder(root, split, "a", 4)
        _class_folder(root, split, os.fsdecode(b"caf\xe9"), 4, 1)
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(root), *TINY, "--out-dir", str(out)]) == 1
    error = capsys.readouterr().err
    assert "caf\\xe9" in error and "not UTF-8" in error and "Rename" in error
    assert not (out / "model.pt").exists() and not (out / "metrics.json").exists()


def test_a_dataset_path_that_is_not_utf8_is_refused_on_the_command_line_before_any_lock_is_taken(tmp_path, capsys):
    root = tmp_path / os.fsdecode(b"mes_images_\xe9")
    for split in ("train", "test"):
        _class_folder(root, split, "a", 4)
        _class_folder(root, split, "b", 4, 1)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as refused:
        main(["train", "--dataset", str(root), *TINY, "--out-dir", str(out)])
    assert refused.value.code == 2
    error = capsys.readouterr().err
    assert "mes_images_\\xe9" in error and "not UTF-8" in error and not out.exists()
