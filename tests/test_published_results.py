"""The committed results agree with the committed models, and the READMEs link only existing files."""

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
import torch

from latentlab import load_model
from latentlab.core.config import TrainConfig
from latentlab.core.data import ALL_FILES, load_test_split, raw_folder
from latentlab.core.passes import active_units, encode_split, split_losses
from latentlab.experiments import EXPERIMENTS
from latentlab.publish.names import experiment_label

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MNIST_ROOT") or REPO.parent / "shared" / "data")
HAVE_MNIST = all((raw_folder(DATA) / n).exists() or (raw_folder(DATA) / f"{n}.gz").exists() for n in ALL_FILES)
FOLDERS = [e.out_dir for e in EXPERIMENTS.values() if (REPO / e.out_dir / "model.pt").is_file()]


@pytest.mark.parametrize("readme", ["README.md", "README.en.md"])
def test_every_file_the_readme_links_exists(readme):
    text = (REPO / readme).read_text(encoding="utf-8")
    links = [
        unquote(target.split("#")[0])
        for target in re.findall(r"\]\(([^)\s]+)\)", text)
        if not target.startswith(("http", "#"))
    ]
    assert links, "the README links no files"
    missing = [link for link in links if not (REPO / link).exists()]
    assert not missing


@pytest.mark.skipif(not HAVE_MNIST, reason=f"MNIST files not found under {raw_folder(DATA)} (set MNIST_ROOT)")
@pytest.mark.parametrize("folder", FOLDERS, ids=[str(f.name) for f in FOLDERS])
def test_metrics_json_agrees_with_the_committed_model(folder):
    """Recomputes the test-split numbers (the kNN, probe and likelihood-bound numbers need the
    training split and minutes each: `python -m latentlab evaluate` recomputes those)."""
    metrics = json.loads((REPO / folder / "metrics.json").read_text(encoding="utf-8"))
    model = load_model(REPO / folder / "model.pt")
    config = TrainConfig.from_dict(metrics["config"])
    config.data_root = str(DATA)
    test = load_test_split(config, torch.device("cpu"), model.likelihood)
    measured = split_losses(model, test, seed=config.seed)
    assert measured["mse"] == pytest.approx(metrics["test_mse"], rel=1e-4)
    assert measured["recon_sse"] == pytest.approx(metrics["test_recon_sse"], rel=1e-4)
    if model.traits.likelihood_bound:
        assert measured["kl"] == pytest.approx(metrics["test_kl"], rel=1e-4)
        assert -(measured["recon"] + measured["kl"]) == pytest.approx(metrics["test_elbo"], rel=1e-4)
        assert active_units(encode_split(model, test))[0] == metrics["active_units"]


@pytest.mark.parametrize("folder", FOLDERS, ids=[str(f.name) for f in FOLDERS])
def test_every_result_folder_has_an_explorer_page_of_at_most_2_mb_plus_its_extra_weights(folder):
    """2 MB holds a model of up to 350,000 parameters (the encoder, decoder and test codes, float32 for
    exactness); a larger model's page may grow only by its extra weights, 4 bytes each as base64."""
    page = REPO / folder / "explorer.html"
    parameters = json.loads((REPO / folder / "metrics.json").read_text(encoding="utf-8"))["parameters"]
    assert page.is_file() and page.stat().st_size <= 2e6 + 4 * 4 / 3 * max(0, parameters - 350_000)


def test_the_summary_says_that_a_bernoulli_decoders_test_mse_is_on_binarized_images(tmp_path):
    from latentlab.experiments import EXPERIMENTS
    from latentlab.publish.summary_table import summary_rows

    folder = tmp_path / EXPERIMENTS["vae-32d-bernoulli"].out_dir
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(
        json.dumps(
            {
                "model": "vae",
                "latent_dim": 32,
                "parameters": 1,
                "epochs": 1,
                "train_seconds": 60.0,
                "device": "cpu",
                "likelihood": "bernoulli",
                "test_mse": 0.02,
            }
        ),
        encoding="utf-8",
    )
    _, note = summary_rows(tmp_path)
    assert "binarized test images" in note and experiment_label(EXPERIMENTS["vae-32d-bernoulli"]) in note


@pytest.mark.parametrize("folder", FOLDERS, ids=[str(f.name) for f in FOLDERS])
def test_a_committed_metrics_json_holds_exactly_the_fields_the_code_writes_for_its_recipe(folder, tmp_path):
    """The committed results are as current as the code (issue 50): a tiny model of the folder's recipe,
    measured as reproduce measures, writes the same fields; the posterior and surgery commands' summaries where
    they ran (each run by hand after training, each checked against its schema when read back)."""
    from conftest import TINY_WIDTHS, write_mnist
    from latentlab.core import posterior
    from latentlab.core.kept import KEPT
    from latentlab.core.measure import train_and_measure

    committed = json.loads((REPO / folder / "metrics.json").read_text(encoding="utf-8"))
    config = TrainConfig.from_dict(
        {
            **committed["config"],
            **TINY_WIDTHS,
            "epochs": 1,
            "dataset": "mnist",
            "data_root": str(write_mnist(tmp_path / "data")),
            "evaluation": "full",
            "bound_samples": 2,
            "bound_test_images": 8,
            "device": "cpu",
            "out_dir": str(tmp_path / "run"),
            "retrain": True,
        }
    )
    written = set(train_and_measure(config).metrics)
    if (REPO / folder / "posterior_gaps.json").is_file():
        written.add(posterior.METRICS_KEY)
    for key in KEPT:  # the surgery's split, a conditional model's log p(x): kept while model.pt is the same
        if key in committed:
            written.add(key)
    assert sorted(set(committed) - written) == [], "fields the code no longer writes"
    assert sorted(written - set(committed)) == [], "fields the code writes that the committed file lacks"


@pytest.mark.parametrize("folder", FOLDERS, ids=[str(f.name) for f in FOLDERS])
def test_a_committed_config_json_holds_every_setting_of_todays_configuration(folder):
    import dataclasses

    recorded = json.loads((REPO / folder / "config.json").read_text(encoding="utf-8"))
    assert set(recorded) - {"provenance"} == {f.name for f in dataclasses.fields(TrainConfig)}
