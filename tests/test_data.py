"""The MNIST reader: gzipped and raw IDX files, and clear refusals of damaged ones."""

import gzip

import numpy as np
import pytest
import torch

from conftest import idx_bytes, write_mnist
from latentlab.core.data import DeviceSplit, load_split, to_float
from latentlab.core.errors import LatentlabError


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "raw"])
def test_reads_images_and_labels_of_both_splits(tmp_path, gz):
    root = write_mnist(tmp_path, n_train=30, n_test=12, gz=gz)
    images, labels = load_split(root, "train")
    assert images.shape == (30, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (30,) and labels.dtype == torch.int64
    assert load_split(root, "test")[0].shape == (12, 28, 28)


def test_pixel_values_survive_the_round_trip(tmp_path):
    root = write_mnist(tmp_path, n_train=5, n_test=5)
    raw = gzip.decompress((root / "MNIST/raw/train-images-idx3-ubyte.gz").read_bytes())
    expected = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(5, 28, 28)
    assert np.array_equal(load_split(root, "train")[0].numpy(), expected)


def test_to_float_scales_to_the_unit_interval_and_adds_a_channel():
    x = to_float(torch.tensor([[[0, 255]]], dtype=torch.uint8))
    assert x.shape == (1, 1, 1, 2) and x.tolist() == [[[[0.0, 1.0]]]]


def test_shuffled_batches_cover_every_image_once():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1).expand(10, 28, 28).contiguous()
    split = DeviceSplit(images, torch.zeros(10, dtype=torch.int64), torch.device("cpu"))
    seen = torch.cat([b[:, 0, 0, 0] for b in split.batches(3, torch.Generator().manual_seed(0))])
    assert sorted((seen * 255).round().int().tolist()) == list(range(10))


def _corrupt(root, name, data: bytes):
    path = root / "MNIST" / "raw" / name
    path.write_bytes(data)
    return path


def _assert_refused(root, path, words, split="train"):
    before = path.read_bytes()
    with pytest.raises(LatentlabError) as error:
        load_split(root, split)
    assert str(path) in str(error.value)
    assert words in str(error.value)
    assert path.read_bytes() == before  # the user's file is neither deleted nor replaced


def test_wrong_magic_number_is_refused(tmp_path):
    root = write_mnist(tmp_path)
    data = bytearray(idx_bytes(np.zeros((256, 28, 28), np.uint8)))
    data[3] = 1  # claims one dimension: magic 2049, the label format
    path = _corrupt(root, "train-images-idx3-ubyte.gz", gzip.compress(bytes(data)))
    _assert_refused(root, path, "wrong magic number")


def test_truncated_file_is_refused(tmp_path):
    root = write_mnist(tmp_path)
    path = _corrupt(
        root, "train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(np.zeros((256, 28, 28), np.uint8))[:9000])
    )
    _assert_refused(root, path, "truncated")


def test_header_promising_more_images_than_the_file_holds_is_refused(tmp_path):
    root = write_mnist(tmp_path)
    data = bytearray(idx_bytes(np.zeros((256, 28, 28), np.uint8)))
    data[4:8] = (1000).to_bytes(4, "big")
    path = _corrupt(root, "train-images-idx3-ubyte.gz", gzip.compress(bytes(data)))
    _assert_refused(root, path, "promises 1000")


def test_labels_outside_zero_to_nine_are_refused(tmp_path):
    root = write_mnist(tmp_path)
    path = _corrupt(root, "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(np.full(256, 12, np.uint8))))
    _assert_refused(root, path, "label 12")


def test_image_and_label_counts_that_differ_are_refused(tmp_path):
    root = write_mnist(tmp_path)
    path = _corrupt(root, "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(np.zeros(200, np.uint8))))
    _assert_refused(root, path, "200 labels")


def test_gz_file_that_is_not_gzip_is_refused(tmp_path):
    root = write_mnist(tmp_path)
    path = _corrupt(root, "t10k-images-idx3-ubyte.gz", b"this is not gzip at all")
    _assert_refused(root, path, "not a readable gzip file", split="test")


def test_incomplete_folder_names_the_missing_file_and_downloads_nothing(tmp_path):
    root = write_mnist(tmp_path)
    (root / "MNIST/raw/t10k-labels-idx1-ubyte.gz").unlink()
    before = sorted(p.name for p in (root / "MNIST/raw").iterdir())
    with pytest.raises(LatentlabError, match="t10k-labels-idx1-ubyte"):
        load_split(root, "train")
    assert sorted(p.name for p in (root / "MNIST/raw").iterdir()) == before


def test_a_failed_download_leaves_no_folder_behind_that_it_created(tmp_path, monkeypatch):
    import torchvision.datasets

    class Unreachable:
        """torchvision's MNIST as it behaves offline: it makes its raw folder, and the first file fails midway."""

        def __init__(self, root, train, download):
            raw = tmp_path / "data" / "MNIST" / "raw"
            raw.mkdir(parents=True, exist_ok=True)
            (raw / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b half a file")
            raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Unreachable)
    with pytest.raises(LatentlabError, match="download failed"):
        load_split(tmp_path / "data", "train")
    assert list(tmp_path.iterdir()) == []  # an empty or half-filled MNIST/raw would be taken for the user's own
    (tmp_path / "data").mkdir()  # a data root the user made is theirs: only what the attempt made goes
    with pytest.raises(LatentlabError, match="download failed"):
        load_split(tmp_path / "data", "train")
    assert list(tmp_path.iterdir()) == [tmp_path / "data"] and list((tmp_path / "data").iterdir()) == []
