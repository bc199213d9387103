"""A model kind is one module of latentlab/core/kinds/: found there by its name, described by its traits,
and never named alike with another recipe."""

from pathlib import Path

import pytest

from conftest import TINY_WIDTHS
from latentlab.core.config import TrainConfig
from latentlab.core.errors import LatentlabError
from latentlab.core.kinds import NAMES, traits
from latentlab.experiments import Experiment, named


def test_each_module_of_the_kinds_folder_is_a_model_choice_named_as_its_module():
    modules = sorted(p.stem for p in Path(traits.__code__.co_filename).parent.glob("*.py") if p.stem != "__init__")
    choices = next(f for f in TrainConfig.__dataclass_fields__.values() if f.name == "model").metadata["choices"]
    assert list(NAMES) == modules == list(choices)
    assert all(traits(name).name == name == traits(name).model.kind for name in NAMES)


def test_an_unknown_kind_is_refused_naming_the_kinds():
    with pytest.raises(ValueError, match="the kinds are ae, cvae, vae"):
        traits("vq-vae")


def test_a_models_traits_are_its_kinds():
    from latentlab import Autoencoder, VariationalAutoencoder

    assert VariationalAutoencoder(2, **TINY_WIDTHS).traits.likelihood_bound
    assert not Autoencoder(2, **TINY_WIDTHS).traits.likelihood_bound


def test_every_setting_that_changes_the_objective_shows_in_the_name():
    assert TrainConfig(model="vae", latent_dim=2).name() == "vae-2d"
    assert TrainConfig(model="vae", latent_dim=2, beta=4).name() == "vae-2d-beta4"
    assert TrainConfig(model="vae", latent_dim=2, beta=0.5, likelihood="bernoulli").name() == "vae-2d-bernoulli-beta0.5"
    assert TrainConfig(model="vae", latent_dim=32, objective="iwae", iw_samples=5).name() == "vae-32d-iwae5"


def test_the_registry_refuses_two_experiments_of_one_name_naming_both_files():
    hyp = dict(model="vae", latent_dim=2, out_dir="x")
    with pytest.raises(LatentlabError, match=r"both named vae-2d: Models/a\.py and Models/b\.py"):
        named([Experiment(hyp, Path("Models/a.py")), Experiment({**hyp, "epochs": 3}, Path("Models/b.py"))])


def test_a_beta_vae_script_beside_the_2d_vae_keeps_its_own_name():
    hyp = dict(model="vae", latent_dim=2, out_dir="x")
    found = named([Experiment(hyp, Path("Models/a.py")), Experiment({**hyp, "beta": 4.0}, Path("Models/b.py"))])
    assert list(found) == ["vae-2d", "vae-2d-beta4"]
