"""The three distributions (core/distributions.py): the standard normal prior, the KL in closed form or by
sampling, and every bound written once from them, checked on a prior without a closed-form KL."""

from __future__ import annotations

import math

import torch
from torch.distributions import Independent, Normal

from conftest import TINY_WIDTHS
from latentlab import VariationalAutoencoder
from latentlab.core import distributions as d
from latentlab.core import posterior
from toy_kinds import TwoBumps, TwoBumpsVAE


def kingma_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) ‖ N(0, I)), Kingma & Welling (2014), appendix B."""
    return -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(-1)


def test_the_kl_to_the_standard_normal_is_the_closed_form_of_kingma_and_welling():
    torch.manual_seed(0)
    mean, log_var = torch.randn(8, 5), torch.randn(8, 5)
    prior = d.StandardNormal(5)
    assert torch.allclose(d.kl_divergence(d.diagonal_normal(mean, log_var), prior), kingma_kl(mean, log_var), atol=1e-5)
    assert d.kl_method(prior) == d.CLOSED_FORM


def test_the_kl_of_a_hand_computed_case():
    # One dimension, mean 1, variance e: KL = 0.5 * (e + 1 - 1 - 1) = (e - 1) / 2.
    kl = d.kl_divergence(d.diagonal_normal(torch.tensor([[1.0]]), torch.tensor([[1.0]])), d.StandardNormal(1))
    assert torch.allclose(kl, torch.tensor([(math.e - 1) / 2]))


def test_the_kl_to_a_prior_without_a_closed_form_is_log_q_minus_log_p_at_the_sample():
    q = d.diagonal_normal(torch.tensor([[0.3, -0.2]]), torch.tensor([[-1.0, 0.5]]))
    z = torch.tensor([[0.5, 0.1]])
    prior = TwoBumps()
    by_hand = Normal(torch.tensor([0.3, -0.2]), torch.exp(0.5 * torch.tensor([-1.0, 0.5]))).log_prob(
        z[0]
    ).sum() - math.log(
        0.5 * math.exp(Normal(torch.tensor([-1.0, 0.0]), 0.5).log_prob(z[0]).sum().item())
        + 0.5 * math.exp(Normal(torch.tensor([1.0, 0.0]), 0.5).log_prob(z[0]).sum().item())
    )
    assert torch.allclose(d.kl_divergence(q, prior, z), by_hand.reshape(1), atol=1e-6)
    assert d.kl_method(prior) == d.SAMPLED


def test_the_standard_normals_log_density_is_that_of_torch_distributions():
    z = torch.randn(3, 4, 2)
    assert torch.allclose(d.StandardNormal(2).log_prob(z), Independent(Normal(torch.zeros(2), 1.0), 1).log_prob(z))


def test_a_vaes_prior_adds_nothing_to_its_state_dict():
    model = VariationalAutoencoder(2, **TINY_WIDTHS)
    assert not any(name.startswith("prior") for name in model.state_dict())


def test_the_vaes_loss_and_bound_use_the_models_own_prior():
    torch.manual_seed(0)
    standard_vae = VariationalAutoencoder(2, **TINY_WIDTHS).eval()
    x = torch.rand(4, 1, 28, 28)
    standard = standard_vae.loss_per_image(x)["kl"]
    model = TwoBumpsVAE(2, **TINY_WIDTHS).eval()
    model.load_state_dict(standard_vae.state_dict())  # the same network: the prior alone differs
    torch.manual_seed(1)
    mixture = model.loss_per_image(x)["kl"]
    torch.manual_seed(1)
    mean, log_var = model.encode(x)
    z = model.reparameterization_trick(mean, log_var)
    expected = d.diagonal_normal(mean, log_var).log_prob(z) - TwoBumps().log_prob(z)
    assert torch.allclose(mixture, expected, atol=1e-5) and not torch.allclose(mixture, standard)


def test_the_quadrature_integrates_against_the_grids_prior():
    """log p(x) = log sum_g p(x|z_g) p(z_g) h², by hand on a tiny 5 x 5 grid with the mixture prior."""
    grid = posterior.Grid(0.5, 2, TwoBumps())
    log_lik = torch.randn(3, 5, 5)
    by_hand = torch.logsumexp((log_lik.double() + TwoBumps().grid_log_prob(grid.axis)).flatten(1), 1) + 2 * math.log(
        0.5
    )
    assert torch.allclose(posterior.log_marginal(log_lik, grid), by_hand)
    standard = posterior.Grid(0.5, 2)
    assert not torch.allclose(posterior.log_marginal(log_lik, standard), by_hand)


def test_the_grid_elbo_of_a_prior_without_a_closed_form_uses_its_density_on_the_grid():
    """ELBO(q) = E_q~[log p(x|z)] + H(q) + E_q~[log p(z)]: with a log-likelihood of zero, the KL on a fine grid."""
    grid = posterior.Grid(0.02, 300, TwoBumps())
    mean, log_var = torch.tensor([[0.2, -0.1]], dtype=torch.float64), torch.tensor([[-1.0, -0.5]], dtype=torch.float64)
    elbo = posterior.grid_elbo(torch.zeros(1, grid.size, grid.size), grid, mean, log_var)
    q = d.diagonal_normal(mean, log_var)
    z = q.sample((200_000,))
    monte_carlo = (q.log_prob(z) - TwoBumps().log_prob(z.float()).double()).mean()
    assert abs(-elbo.item() - monte_carlo.item()) < 0.01
