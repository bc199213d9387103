"""IWAE training and the bound-versus-k figure, on tiny runs."""

import dataclasses
import json

import pytest
from PIL import Image

from latentlab.cli import main
from latentlab.core.errors import LatentlabError
from latentlab.core.training import train
from latentlab.workflow import run


def test_an_iwae_run_trains_and_its_test_elbo_rises(tiny_config):
    config = dataclasses.replace(tiny_config, likelihood="bernoulli", objective="iwae", iw_samples=3, epochs=4)
    history = train(config).state["history"]
    assert history[-1]["test_recon"] + history[-1]["test_kl"] < 0.9 * (history[0]["test_recon"] + history[0]["test_kl"])


def test_iwae_for_an_autoencoder_is_refused_before_anything_is_written(tiny_config, tmp_path):
    config = dataclasses.replace(tiny_config, model="ae", objective="iwae", out_dir=str(tmp_path / "ae"))
    with pytest.raises(LatentlabError, match="--model ae has none"):
        train(config)
    assert not (tmp_path / "ae").exists()


def test_bound_vs_k_writes_the_bounds_with_standard_errors_and_the_figure(tiny_config, tmp_path):
    elbo_run = dataclasses.replace(tiny_config, latent_dim=32, likelihood="bernoulli", out_dir=str(tmp_path / "elbo"))
    iwae_run = dataclasses.replace(elbo_run, objective="iwae", iw_samples=3, out_dir=str(tmp_path / "iwae"))
    for config in (elbo_run, iwae_run):
        run(config)
    folders = [elbo_run.out_dir, iwae_run.out_dir]
    assert (
        main(
            [
                "bound-vs-k",
                *folders,
                "--ks",
                "1",
                "10",
                "--n-test",
                "20",
                "--data-root",
                tiny_config.data_root,
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    for folder in folders:
        result = json.loads((tmp_path / folder / "bound_vs_k.json").read_text())
        assert [b["k"] for b in result["bounds"]] == [1, 10] and result["n_test"] == 20
        assert all(b["se"] > 0 for b in result["bounds"]) and result["elbo"]["se"] > 0
        with Image.open(tmp_path / folder / "bound_vs_k.png") as image:
            assert image.width >= 600


def test_bound_vs_k_reuses_a_folders_bounds_only_for_the_same_model_and_settings(tiny_config, tmp_path, capsys):
    config = dataclasses.replace(tiny_config, latent_dim=32, likelihood="bernoulli", out_dir=str(tmp_path / "vae"))
    run(config)
    command = [
        "bound-vs-k",
        config.out_dir,
        "--ks",
        "1",
        "3",
        "--n-test",
        "10",
        "--data-root",
        tiny_config.data_root,
        "--device",
        "cpu",
    ]
    assert main(command) == 0
    bounds = tmp_path / "vae" / "bound_vs_k.json"
    first = json.loads(bounds.read_text())
    first["bounds"][0]["mean"] = 123.0  # a value no model gives: seen again only if the file is reused
    bounds.write_text(json.dumps(first))
    capsys.readouterr()
    assert main(command) == 0
    assert "taken from bound_vs_k.json" in capsys.readouterr().out
    assert json.loads(bounds.read_text())["bounds"][0]["mean"] == 123.0
    assert main(command[:4] + ["5"] + command[5:]) == 0  # other k: computed again
    assert [b["k"] for b in json.loads(bounds.read_text())["bounds"]] == [1, 5]
    run(dataclasses.replace(config, seed=1, retrain=True))  # another model.pt: computed again
    capsys.readouterr()
    assert main(command[:4] + ["5"] + command[5:]) == 0
    assert "taken from" not in capsys.readouterr().out


def test_bound_vs_k_refuses_an_autoencoder_and_writes_nothing(tiny_config, tmp_path, capsys):
    ae = dataclasses.replace(tiny_config, model="ae", latent_dim=32, out_dir=str(tmp_path / "ae"))
    train(ae)
    before = sorted(p.name for p in (tmp_path / "ae").iterdir())
    assert main(["bound-vs-k", ae.out_dir, "--data-root", tiny_config.data_root, "--device", "cpu"]) == 1
    assert "an AE has no posterior" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "ae").iterdir()) == before


def test_binarization_spread_scores_each_draw_of_the_test_set_and_the_published_draw_is_the_bound_itself(
    tiny_config, tmp_path
):
    config = dataclasses.replace(tiny_config, latent_dim=32, likelihood="bernoulli", out_dir=str(tmp_path / "vae"))
    run(config)
    flags = ["--n-test", "20", "--data-root", tiny_config.data_root, "--device", "cpu"]
    assert main(["bound-vs-k", config.out_dir, "--ks", "3", *flags]) == 0
    assert main(["binarization-spread", config.out_dir, "--seeds", "1234", "7", "--k", "3", *flags]) == 0
    spread = json.loads((tmp_path / "vae" / "binarization_spread.json").read_text())
    bound = json.loads((tmp_path / "vae" / "bound_vs_k.json").read_text())["bounds"][0]
    assert [draw["seed"] for draw in spread["draws"]] == [1234, 7] and (spread["k"], spread["n_test"]) == (3, 20)
    assert spread["draws"][0]["mean"] == pytest.approx(bound["mean"], abs=1e-4)  # the test set everything else uses
    assert spread["draws"][1]["mean"] != pytest.approx(bound["mean"], abs=1e-4)  # other pixels, another bound


def test_binarization_spread_refuses_a_gaussian_vae_and_writes_nothing(tiny_config, tmp_path, capsys):
    run(tiny_config)
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert (
        main(["binarization-spread", tiny_config.out_dir, "--data-root", tiny_config.data_root, "--device", "cpu"]) == 1
    )
    assert "no VAE with a Bernoulli decoder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before
