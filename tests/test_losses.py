"""Loss terms: reductions as documented and the closed-form KL."""

import torch
from torch import nn
from torch.distributions import Normal, kl_divergence as torch_kl

from latentlab import losses


def test_reconstruction_is_summed_over_pixels_and_averaged_over_the_batch():
    x, x_hat = torch.rand(6, 1, 28, 28), torch.rand(6, 1, 28, 28)
    expected = nn.MSELoss(reduction="sum")(x_hat, x) / 6
    assert torch.allclose(losses.reconstruction_loss(x_hat, x), expected)


def test_kl_is_zero_when_the_posterior_is_the_prior():
    assert losses.kl_divergence(torch.zeros(4, 3), torch.zeros(4, 3)).item() == 0.0


def test_kl_matches_the_closed_form_of_torch_distributions():
    torch.manual_seed(0)
    mean, log_var = torch.randn(8, 5), torch.randn(8, 5)
    q = Normal(mean, torch.exp(0.5 * log_var))
    expected = torch_kl(q, Normal(torch.zeros(5), torch.ones(5))).sum(1).mean()
    assert torch.allclose(losses.kl_divergence(mean, log_var), expected, atol=1e-5)


def test_kl_of_a_hand_computed_case():
    # One dimension, mean 1, variance e: KL = 0.5 * (e + 1 - 1 - 1) = (e - 1) / 2.
    kl = losses.kl_per_image(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
    assert torch.allclose(kl, torch.tensor([(torch.e - 1) / 2]))


def test_elbo_is_minus_reconstruction_minus_kl_per_image():
    x, x_hat = torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    mean, log_var = torch.randn(3, 2), torch.randn(3, 2)
    expected = -(((x - x_hat) ** 2).sum((1, 2, 3)) + losses.kl_per_image(mean, log_var))
    assert torch.allclose(losses.elbo_per_image(x_hat, x, mean, log_var), expected)
