"""The trained models through torch.hub, offline from this folder: one entry per committed model, each the
committed model.pt in eval mode, with its headline numbers in its docstring."""

import importlib.util
import json
import os
from pathlib import Path

import pytest
import torch

from latentlab import load_model
from latentlab.core.config import TrainConfig
from latentlab.core.data import ALL_FILES, load_test_split, raw_folder
from latentlab.core.passes import split_losses
from latentlab.experiments import EXPERIMENTS

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MNIST_ROOT") or REPO.parent / "shared" / "data")
HAVE_MNIST = all((raw_folder(DATA) / n).exists() or (raw_folder(DATA) / f"{n}.gz").exists() for n in ALL_FILES)
ENTRIES = {
    name.replace("-", "_"): e.out_dir for name, e in EXPERIMENTS.items() if (REPO / e.out_dir / "model.pt").is_file()
}


def _hubconf():
    """hubconf.py as torch.hub imports it (torch 2.14's hub.list and hub.help read a hosted repository only)."""
    spec = importlib.util.spec_from_file_location("hubconf", REPO / "hubconf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hubconf_has_one_entry_per_committed_model():
    hub = _hubconf()
    listed = [
        name for name in dir(hub) if callable(getattr(hub, name)) and not name.startswith("_")
    ]  # torch.hub.list's rule
    assert sorted(listed) == sorted(ENTRIES)


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_each_entry_loads_its_committed_model_in_eval_mode_with_its_numbers_in_its_docstring(entry):
    model = torch.hub.load(str(REPO), entry, source="local", trust_repo=True)
    committed = load_model(REPO / ENTRIES[entry] / "model.pt")
    assert not model.training and model.kind == committed.kind and model.latent_dim == committed.latent_dim
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), committed.state_dict().values(), strict=True)
    )
    metrics = json.loads((REPO / ENTRIES[entry] / "metrics.json").read_text(encoding="utf-8"))
    assert f"test MSE per pixel {metrics['test_mse']:.4f}" in getattr(_hubconf(), entry).__doc__


@pytest.mark.skipif(not HAVE_MNIST, reason=f"MNIST files not found under {raw_folder(DATA)} (set MNIST_ROOT)")
@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_each_entrys_model_scores_a_few_test_images_as_its_folder_says(entry):
    """On the first 2,000 test images, the MSE is that of the whole test set (metrics.json) within 10 %."""
    model = torch.hub.load(str(REPO), entry, source="local", trust_repo=True)
    metrics = json.loads((REPO / ENTRIES[entry] / "metrics.json").read_text(encoding="utf-8"))
    config = TrainConfig.from_dict(metrics["config"])
    config.data_root = str(DATA)
    try:
        test = load_test_split(config, torch.device("cpu"), model.likelihood)
    except Exception as error:  # Fashion-MNIST is not on every machine
        pytest.skip(str(error))
    test.images, test.labels = test.images[:2000], test.labels[:2000]
    assert split_losses(model, test, seed=0)["mse"] == pytest.approx(metrics["test_mse"], rel=0.1)
