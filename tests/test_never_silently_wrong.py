"""Runs that would finish with a wrong result, or crash after minutes of work, stop at once with one
clear message instead; a smoke run evaluates quickly and says so."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import TINY_WIDTHS, as_flags, write_mnist
from latentlab.cli import main
from latentlab.experiments import EXPERIMENTS

REPO = Path(__file__).resolve().parents[1]
TINY = [
    *as_flags(TINY_WIDTHS),
    "--epochs",
    "1",
    "--batch-size",
    "32",
    "--bound-samples",
    "2",
    "--bound-test-images",
    "8",
    "--device",
    "cpu",
]


def _files(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def finished(tmp_path, mnist_root):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--model",
                "vae",
                "--latent-dim",
                "2",
                *TINY,
                "--data-root",
                str(mnist_root),
                "--out-dir",
                str(out),
            ]
        )
        == 0
    )
    return out, mnist_root


def test_a_finished_folder_asked_for_other_settings_stops_naming_each_difference_and_changes_nothing(finished, capsys):
    out, data = finished
    before = _files(out)
    assert (
        main(
            [
                "train",
                "--model",
                "vae",
                "--latent-dim",
                "2",
                *TINY,
                "--epochs",
                "2",
                "--lr",
                "0.01",
                "--data-root",
                str(data),
                "--out-dir",
                str(out),
            ]
        )
        == 1
    )
    error = capsys.readouterr().err
    assert "epochs: asked 2, found 1" in error and "lr: asked 0.01, found 0.002" in error
    assert "--retrain" in error and "--out-dir" in error
    assert _files(out) == before


def test_the_same_settings_reuse_the_finished_model(finished, capsys):
    out, data = finished
    assert (
        main(["train", "--model", "vae", "--latent-dim", "2", *TINY, "--data-root", str(data), "--out-dir", str(out)])
        == 0
    )
    assert "not retraining" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_each_committed_model_has_its_experiments_recipe_so_a_run_without_flags_reuses_it(name):
    from latentlab.core.checkpoint import differences
    from latentlab.core.checkpoint_file import read_checkpoint

    path = REPO / EXPERIMENTS[name].out_dir / "model.pt"
    if not path.is_file():
        pytest.skip(f"{path} is not committed")
    assert differences(EXPERIMENTS[name].config(), read_checkpoint(path)["config"]) == ""


def test_mnist_with_a_train_limit_of_one_is_refused_before_training_and_leaves_no_folder(tmp_path, mnist_root, capsys):
    out = tmp_path / "new" / "run"
    assert main(["train", *TINY, "--train-limit", "1", "--data-root", str(mnist_root), "--out-dir", str(out)]) == 1
    assert "--train-limit 10 or more" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def _one_class_test_split(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for split, classes in (("train", ("a", "b")), ("test", ("a",))):
        for name in classes:
            (root / split / name).mkdir(parents=True)
            for k in range(4):
                Image.fromarray(rng.integers(0, 255, (28, 28)).astype(np.uint8)).save(root / split / name / f"{k}.png")
    return root


def test_a_test_split_of_one_class_is_refused_before_training(tmp_path, capsys):
    root = _one_class_test_split(tmp_path / "mine")
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(root), *TINY, "--out-dir", str(out)]) == 1
    assert "test images hold one class only" in capsys.readouterr().err
    assert not out.exists()


def test_an_unknown_data_set_is_refused_with_the_flags_before_torch_is_imported(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            str(REPO / "Models" / "Auto_enoder_MNIST.py"),
            "--dataset",
            "nonsense",
            "--out-dir",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2 and "'nonsense' is neither mnist nor fashion-mnist" in done.stderr
    assert "| torch" not in done.stderr  # no line of -X importtime names torch: it was never imported
    assert not (tmp_path / "x").exists()


def test_a_relative_image_folder_is_stored_resolved_and_the_model_is_redrawn_from_elsewhere(tmp_path, monkeypatch):
    from test_datasets import write_image_folder

    write_image_folder(tmp_path / "work" / "mine")
    monkeypatch.chdir(tmp_path / "work")
    assert main(["train", "--dataset", "mine", "--latent-dim", "32", *TINY, "--out-dir", "run"]) == 0
    assert json.loads((tmp_path / "work" / "run" / "config.json").read_text())["dataset"] == str(
        tmp_path / "work" / "mine"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "work/run", "--device", "cpu"]) == 0


def test_a_moved_image_folder_is_given_with_dataset_and_mnist_is_never_swapped_for_another(tmp_path, capsys):
    from test_datasets import write_image_folder

    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--dataset",
                str(write_image_folder(tmp_path / "mine")),
                "--latent-dim",
                "32",
                *TINY,
                "--out-dir",
                str(out),
            ]
        )
        == 0
    )
    (tmp_path / "mine").rename(tmp_path / "moved")
    assert main(["evaluate", str(out), "--dataset", str(tmp_path / "moved"), "--device", "cpu"]) == 0
    assert main(["evaluate", str(out), "--dataset", "mnist", "--device", "cpu"]) == 1
    assert "evaluated and drawn on that data set only" in capsys.readouterr().err


def test_train_without_out_dir_names_its_folder_after_the_model(tmp_path, mnist_root, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--model", "ae", "--latent-dim", "3", *TINY, "--data-root", str(mnist_root)]) == 0
    assert (tmp_path / "runs" / "ae-3d" / "model.pt").is_file()


def test_a_run_with_a_train_limit_gets_the_quick_evaluation_and_says_so(tmp_path, capsys):
    data = write_mnist(tmp_path / "data", n_train=128, n_test=300)  # more test images than the quick bound takes
    out = tmp_path / "run"
    flags = [*as_flags(TINY_WIDTHS), "--epochs", "1", "--batch-size", "32", "--bound-samples", "2", "--device", "cpu"]
    assert (
        main(
            [
                "train",
                "--latent-dim",
                "4",
                *flags,
                "--train-limit",
                "64",
                "--data-root",
                str(data),
                "--out-dir",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["evaluation"].startswith("quick") and metrics["bound_test_images"] == 200
    assert "Quick evaluation: the likelihood bound averages over 200 test images" in capsys.readouterr().out


def test_a_full_evaluation_records_no_evaluation_key(finished):
    out, _ = finished
    assert "evaluation" not in json.loads((out / "metrics.json").read_text())


def test_report_outside_the_repository_root_refuses_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 1
    assert "repository root" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_smoke_seed_study_leaves_the_published_seeds_json_as_it_was(tmp_path, monkeypatch):
    data = write_mnist(tmp_path / "data")
    folder = tmp_path / EXPERIMENTS["ae-2d"].out_dir
    folder.mkdir(parents=True)
    published = '{"experiment": "ae-2d", "runs": []}\n'
    (folder / "seeds.json").write_text(published)
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "seeds",
                "--only",
                "ae-2d",
                "--seeds",
                "1",
                "--epochs",
                "1",
                "--train-limit",
                "64",
                "--device",
                "cpu",
                "--data-root",
                str(data),
            ]
        )
        == 0
    )
    assert (folder / "seeds.json").read_text() == published
    record = tmp_path / "runs" / "seeds" / "ae-2d" / "epochs1-train_limit64" / "seeds.json"
    assert [run["seed"] for run in json.loads(record.read_text())["runs"]] == [1]


def test_the_readmes_python_example_runs_as_written():
    text = (REPO / "README.en.md").read_text(encoding="utf-8")
    assert "latentlab.load_config(path)" in text
    path = "Kết_quả_huấn_luyện_Variational_Autoecoder/2D_latent_VAE/model.pt"
    code = f"import latentlab\nm = latentlab.load_model({path!r})\nc = latentlab.load_config({path!r})\nprint(c.latent_dim, m.kind)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "vae"]
