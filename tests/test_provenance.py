"""Each trained model says what made it: the code's commit, the versions, the device and the date, recorded
once at training; evaluation never changes it, and a model trained before says so instead of guessing."""

import json
import platform
import subprocess
from pathlib import Path

import torch

from latentlab.cli import main
from latentlab.core.checkpoint_file import MODEL_FILE, read_checkpoint
from latentlab.core.training import train

REPO = Path(__file__).resolve().parents[1]


def test_model_pt_and_config_json_record_the_code_the_versions_the_device_and_the_date(tiny_config):
    state = train(tiny_config).state
    record = state["provenance"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert record["git_commit"] == head and isinstance(record["git_dirty"], bool)
    assert (record["python"], record["torch"], record["cuda"]) == (
        platform.python_version(),
        torch.__version__,
        torch.version.cuda,
    )
    assert record["device"] and record["date"].startswith(("20", "21"))
    folder = Path(tiny_config.out_dir)
    assert read_checkpoint(folder / MODEL_FILE)["provenance"] == record
    assert json.loads((folder / "config.json").read_text())["provenance"] == record


def test_evaluating_a_model_leaves_its_provenance_and_model_pt_as_they_were(tiny_config):
    train(tiny_config)
    folder = Path(tiny_config.out_dir)
    before = (folder / MODEL_FILE).read_bytes(), (folder / "config.json").read_bytes()
    assert main(["evaluate", str(folder), "--data-root", tiny_config.data_root, "--device", "cpu"]) == 0
    assert ((folder / MODEL_FILE).read_bytes(), (folder / "config.json").read_bytes()) == before


def test_info_prints_the_provenance_and_the_recipe(tiny_config, capsys):
    train(tiny_config)
    capsys.readouterr()
    assert main(["info", tiny_config.out_dir]) == 0
    out = capsys.readouterr().out
    assert "code:" in out and f"torch {torch.__version__}" in out and "latent_dim: 2" in out


def test_a_model_trained_before_provenance_was_kept_says_so(capsys):
    assert main(["info", str(REPO / "Kết_quả_huấn_luyện_Autoencoder" / "2D_latent_AE")]) == 0
    assert "provenance: not recorded" in capsys.readouterr().out
