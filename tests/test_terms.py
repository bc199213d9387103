"""A kind's loss terms by name (issue 47): each declared with its weight, every one trained, recorded and
drawn; one the kind does not declare is refused before training, never dropped."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from conftest import TINY_WIDTHS
from latentlab.core import training
from latentlab.core.data import to_float
from latentlab.core.errors import LatentlabError
from latentlab.core.models import training_loss
from toy_kinds import SpreadVAE, TwoBumpsVAE, UndeclaredTermVAE


def built_as(monkeypatch, kind):
    """``train`` builds ``kind`` for the VAE's configuration (as if it were registered)."""
    monkeypatch.setattr(training, "build_model", lambda config: kind(config.latent_dim, **TINY_WIDTHS))


def test_the_training_loss_is_each_term_times_the_setting_its_kind_names():
    torch.manual_seed(0)
    model = SpreadVAE(2, **TINY_WIDTHS)
    config = type("Config", (), {"beta": 0.25, "objective": "elbo"})()
    x = torch.rand(6, 1, 28, 28)
    torch.manual_seed(1)
    loss, terms = training_loss(model, x, config)
    assert list(terms) == ["reconstruction", "kl", "spread"]
    assert torch.allclose(loss, terms["reconstruction"] + 0.25 * terms["kl"] + 0.25 * terms["spread"])


def test_a_term_the_kind_does_not_declare_is_refused_before_training_naming_it(monkeypatch, tiny_config):
    built_as(monkeypatch, UndeclaredTermVAE)
    with pytest.raises(LatentlabError, match=r"spread \(returned by UndeclaredTermVAE.loss, not declared"):
        training.train(tiny_config)
    assert not (Path(tiny_config.out_dir) / "model.pt").exists()


def test_a_term_weighed_by_no_setting_is_refused_naming_it(monkeypatch, tiny_config):
    class Unweighed(SpreadVAE):
        terms = {"reconstruction": None, "kl": "beta", "spread": "lambda_spread"}

    built_as(monkeypatch, Unweighed)
    with pytest.raises(LatentlabError, match=r"spread \(weighed by --lambda-spread, which is no setting\)"):
        training.train(tiny_config)


def test_every_declared_term_is_recorded_each_epoch_and_kept_in_metrics_json(monkeypatch, tiny_config, capsys):
    from latentlab.core.measure import write_metrics

    built_as(monkeypatch, SpreadVAE)
    finished = training.train(tiny_config)
    history = finished.state["history"]
    assert all({"train_spread", "test_spread", "train_kl", "test_kl"} <= set(epoch) for epoch in history)
    assert "spread" in capsys.readouterr().out
    metrics, _ = write_metrics(finished, Path(tiny_config.out_dir), k=2, n_test=8)
    assert metrics["test_spread"] == pytest.approx(history[-1]["test_spread"])


def test_the_spread_term_is_trained(monkeypatch, tiny_config):
    """With the term weighed heavily, the codes are pulled towards 0 compared with the plain VAE."""
    config = dataclasses.replace(tiny_config, beta=4.0)
    built_as(monkeypatch, SpreadVAE)
    spread = training.train(config).state["history"][-1]["test_spread"]
    monkeypatch.undo()
    plain = training.train(dataclasses.replace(config, out_dir=config.out_dir + "-plain"))
    with torch.no_grad():
        plain_codes = plain.model.code(to_float(plain.test.images))
    assert spread < plain_codes.pow(2).sum(1).mean().item()


def test_the_loss_curves_draw_a_panel_per_term(monkeypatch, tiny_config, tmp_path):
    from latentlab.publish import figures

    drawn = {}
    monkeypatch.setattr(figures, "loss_curves", lambda history, title, path, terms: drawn.update(terms=terms))
    built_as(monkeypatch, SpreadVAE)
    finished = training.train(tiny_config)
    from latentlab.publish.shared_figures import write_loss_curves

    write_loss_curves(finished.model, "VAE, 2-D latent", finished.state, tmp_path)
    assert [key for key, _ in drawn["terms"]] == ["recon", "kl", "spread"]


def test_a_mixture_prior_is_trained_with_the_sampled_kl_and_recorded_so(monkeypatch, tiny_config):
    from latentlab.core.measure import write_metrics

    built_as(monkeypatch, TwoBumpsVAE)
    finished = training.train(tiny_config)
    metrics, _ = write_metrics(finished, Path(tiny_config.out_dir), k=2, n_test=8)
    assert metrics["test_kl_method"].startswith("one-sample estimate")
    saved = json.loads((Path(tiny_config.out_dir) / "metrics.json").read_text(encoding="utf-8"))
    assert saved["test_kl_method"] == metrics["test_kl_method"]


def test_the_check_of_the_terms_leaves_the_random_state_and_the_model_as_they_were(tiny_config):
    from latentlab.core.data import load_splits
    from latentlab.core.likelihoods import Bernoulli

    model = SpreadVAE(2, likelihood="bernoulli", **TINY_WIDTHS).train()  # its pixels are drawn afresh
    train_split, _ = load_splits(tiny_config, torch.device("cpu"), Bernoulli)
    weights = {name: value.clone() for name, value in model.state_dict().items()}
    state = torch.get_rng_state()
    training.check_terms(model, train_split, tiny_config)
    assert torch.equal(state, torch.get_rng_state()) and model.training
    assert all(torch.equal(weights[name], value) for name, value in model.state_dict().items())
