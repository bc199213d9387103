"""Loss terms: per-image values as documented, the closed-form KL, and the models' reductions."""

import torch
from torch import nn
from torch.distributions import Normal, kl_divergence as torch_kl

from latentlab.core import losses


def test_squared_error_is_summed_over_the_pixels_of_each_image():
    x, x_hat = torch.rand(6, 1, 28, 28), torch.rand(6, 1, 28, 28)
    expected = torch.stack([nn.MSELoss(reduction="sum")(x_hat[i], x[i]) for i in range(6)])
    assert torch.allclose(losses.squared_error_per_image(x_hat, x), expected)


def test_bernoulli_reconstruction_is_the_summed_binary_cross_entropy_in_nats():
    x = torch.bernoulli(torch.full((3, 1, 28, 28), 0.3))
    x_hat = torch.rand(3, 1, 28, 28) * 0.98 + 0.01
    expected = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).sum((1, 2, 3))
    assert torch.allclose(losses.bernoulli_nll_per_image(x_hat, x), expected, rtol=1e-5)


def test_kl_is_zero_when_the_posterior_is_the_prior():
    assert losses.kl_per_image(torch.zeros(4, 3), torch.zeros(4, 3)).abs().max().item() == 0.0


def test_kl_matches_the_closed_form_of_torch_distributions():
    torch.manual_seed(0)
    mean, log_var = torch.randn(8, 5), torch.randn(8, 5)
    q = Normal(mean, torch.exp(0.5 * log_var))
    expected = torch_kl(q, Normal(torch.zeros(5), torch.ones(5))).sum(1)
    assert torch.allclose(losses.kl_per_image(mean, log_var), expected, atol=1e-5)


def test_kl_of_a_hand_computed_case():
    # One dimension, mean 1, variance e: KL = 0.5 * (e + 1 - 1 - 1) = (e - 1) / 2.
    kl = losses.kl_per_image(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
    assert torch.allclose(kl, torch.tensor([(torch.e - 1) / 2]))
