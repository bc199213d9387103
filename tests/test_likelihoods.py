"""The decoder's likelihood: what each one trains on, is tested on, reports, and compares with."""

import pytest
import torch

from conftest import TINY_WIDTHS
from latentlab import Autoencoder, VariationalAutoencoder
from latentlab.commands import check_bounds_comparable
from latentlab.core import losses
from latentlab.core.errors import LatentlabError
from latentlab.core.likelihoods import LIKELIHOODS, Bernoulli, Gaussian
from latentlab.publish.literature import PUBLISHED_NLL

GREY = torch.rand(4, 1, 28, 28)


def test_both_likelihoods_answer_every_question_the_package_asks():
    asked = {name for name in vars(Gaussian) if not name.startswith("_")}
    assert asked == {name for name in vars(Bernoulli) if not name.startswith("_")}
    assert set(LIKELIHOODS) == {"gaussian", "bernoulli"}


def test_a_gaussian_decoder_trains_and_is_tested_on_the_grey_pixels_themselves():
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    assert Gaussian.training_pixels(GREY) is GREY
    assert Gaussian.test_pixels(images) is images


def test_a_bernoulli_decoder_sees_fresh_binary_pixels_in_every_training_batch():
    first, second = Bernoulli.training_pixels(GREY), Bernoulli.training_pixels(GREY)
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(first, second)


def test_a_bernoulli_decoders_test_images_are_binarized_once_the_same_every_time():
    images = torch.randint(0, 256, (50, 28, 28), dtype=torch.uint8)
    once = Bernoulli.test_pixels(images)
    assert set(once.unique().tolist()) <= {0, 255}
    assert torch.equal(once, Bernoulli.test_pixels(images))


def test_each_likelihood_scores_a_reconstruction_with_its_own_formula():
    x_hat = torch.rand(4, 1, 28, 28) * 0.98 + 0.01
    x = torch.bernoulli(GREY)
    assert torch.equal(Gaussian.reconstruction_per_image(x_hat, x), losses.squared_error_per_image(x_hat, x))
    assert torch.equal(Bernoulli.reconstruction_per_image(x_hat, x), losses.bernoulli_nll_per_image(x_hat, x))


def test_only_the_exact_bernoulli_bound_is_reported_and_compared_as_an_nll():
    assert Bernoulli.nll_metrics(-84.5) == {"test_nll_nats": 84.5}
    assert Gaussian.nll_metrics(-30.0) == {}  # a constant is dropped: minus the bound is no NLL
    assert PUBLISHED_NLL["bernoulli"] and "gaussian" not in PUBLISHED_NLL


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_a_models_loss_is_read_in_its_objectives_units(likelihood):
    ae = Autoencoder(2, likelihood=likelihood, **TINY_WIDTHS)
    vae = VariationalAutoencoder(2, likelihood=likelihood, **TINY_WIDTHS)
    assert ae.loss_units == LIKELIHOODS[likelihood].reconstruction_units
    assert vae.loss_units == LIKELIHOODS[likelihood].elbo_units


def test_likelihood_bounds_are_compared_only_between_vaes_with_one_decoder():
    gaussian, bernoulli = (
        VariationalAutoencoder(2, likelihood=name, **TINY_WIDTHS) for name in ("gaussian", "bernoulli")
    )
    check_bounds_comparable([bernoulli, VariationalAutoencoder(2, likelihood="bernoulli", **TINY_WIDTHS)])
    for models in ([gaussian, bernoulli], [Autoencoder(2, **TINY_WIDTHS)]):
        with pytest.raises(LatentlabError, match="same decoder"):
            check_bounds_comparable(models)
