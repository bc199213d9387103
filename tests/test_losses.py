"""Loss terms: per-image values as documented (the KL: test_distributions.py)."""

import torch
from torch import nn

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
