"""The three distributions of a VAE as objects, as torch.distributions and Pyro have them:

    q(z|x)   the encoder's approximate posterior   model.posterior(x)  an Independent(Normal(mean, sigma), 1)
    p(z)     the prior                             model.prior         log_prob(z), sample(n), its name
    p(x|z)   the decoder's likelihood              model.likelihood    likelihoods.py

Every bound is written once from them: the KL term (``kl_divergence``), the importance weights
(``log_importance_weight``), the ELBO estimate and the quadrature of ``posterior``. A kind chooses its
prior by building another object with the same three members; ``StandardNormal`` is the one every kind
had until priors were objects, and the only place N(0, I) is written.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from torch import nn
from torch.distributions import Independent, Normal
from torch.distributions import kl_divergence as closed_form_kl

LOG_2PI = math.log(2 * math.pi)

CLOSED_FORM, SAMPLED = "closed form", "one-sample estimate log q(z|x) - log p(z) at z ~ q(z|x)"


def diagonal_normal(mean: torch.Tensor, log_var: torch.Tensor) -> Independent:
    """q(z|x) = N(mean, diag(exp(log_var))) of a batch, one distribution over D dimensions per image:
    batch shape (B,), event shape (D,). Its arguments are not validated: a diverging run's nan must reach the
    loss, where training stops naming the epoch and step, not raise inside torch.distributions."""
    return Independent(Normal(mean, torch.exp(0.5 * log_var), validate_args=False), 1, validate_args=False)


class StandardNormal(nn.Module):
    """p(z) = N(0, I), the prior of Kingma & Welling (2014). No parameters: a model's state dict is unchanged
    by it (the buffer that follows the model's device is not saved)."""

    name = "N(0, I)"
    reach = 2.2  # how far from 0, in sd, a plane of the latent should show the prior (explorer.py)
    kl_per_dimension_name = "average KL per dimension (nats)"
    marginal_name = "N(0, 1)"

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.register_buffer("zero", torch.zeros(latent_dim), persistent=False)

    def distribution(self) -> Independent:
        return Independent(Normal(self.zero, torch.ones_like(self.zero)), 1)

    def mixture(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The prior as a mixture of diagonal Gaussians, (mean, log_var) of its components (K, D) each, for the
        explorer page, which computes log p(z) and the KL from them: one component, at 0, of variance 1."""
        return self.zero[None], self.zero[None]

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; 0, I) summed over latent dimensions: (..., D) -> (...)."""
        return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws (n, D), on the generator's device (the CPU by default), as torch.randn makes them."""
        return torch.randn(n, self.latent_dim, generator=generator)

    def marginal_pdf(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(t, density) of one dimension's marginal, N(0, 1), on [-4, 4]."""
        t = np.linspace(-4, 4, 200)
        return t, np.exp(-(t**2) / 2) / np.sqrt(2 * np.pi)

    def kl_per_dimension(self, q: Independent) -> torch.Tensor:
        """KL of each latent dimension in closed form, (B, D): the prior factorises over them."""
        return closed_form_kl(q.base_dist, self.distribution().base_dist)

    def quantile_axes(self, points: int) -> tuple[np.ndarray, str]:
        """An even grid of probabilities 0.05…0.95 through the inverse CDF of each dimension, (points, D), and
        its name: Kingma & Welling (2014), fig. 4, a plane that covers the prior evenly in mass."""
        axis = Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, points)).numpy()
        return np.repeat(axis[:, None], self.latent_dim, axis=1), "N(0, 1) quantiles 0.05…0.95"

    def walk(self, frames: int, seed: int = 0, harmonics: int = 4) -> np.ndarray:
        """A smooth closed random walk (frames, D) whose every point is an exact draw from N(0, I).

        z(t) = sum_k a_k cos(2 pi k t) + b_k sin(2 pi k t) with a_k, b_k ~ N(0, s_k^2) and
        sum_k s_k^2 = 1, so z(t) ~ N(0, 1) at every t, and the loop closes without a jump.
        Higher harmonics get less weight (s_k^2 proportional to 1/k^2) to keep it smooth.
        """
        rng = np.random.default_rng(seed)
        k = np.arange(1, harmonics + 1)
        scale = np.sqrt((1 / k**2) / np.sum(1 / k**2))  # (harmonics,)
        a, b = (rng.standard_normal((harmonics, self.latent_dim)) * scale[:, None] for _ in range(2))
        t = np.linspace(0, 1, frames, endpoint=False)[:, None]
        return np.cos(2 * np.pi * t * k) @ a + np.sin(2 * np.pi * t * k) @ b

    def grid_log_prob(self, axis: torch.Tensor) -> torch.Tensor:
        """log p(z) at every point of the square grid axis × axis of a 2-D latent, (G, G), in the axis's dtype."""
        one = -0.5 * (axis.pow(2) + LOG_2PI)
        return one[:, None] + one[None, :]


def kl_divergence(q: Independent, prior, z: torch.Tensor | None = None) -> torch.Tensor:
    """KL(q(z|x) ‖ p(z)) of each image, (B,): in closed form where torch.distributions has one (for N(0, I),
    Kingma & Welling 2014, appendix B), else estimated by log q(z|x) - log p(z) at ``z`` ~ q(z|x), one
    draw per image (unbiased; drawn here, reparameterised, when not given)."""
    if has_closed_form(prior):
        return closed_form_kl(q, prior.distribution())
    if z is None:
        z = q.rsample()
    return q.log_prob(z) - prior.log_prob(z)


def device_of(prior) -> torch.device:
    """Where a prior's tensors are (the model's device): its parameters' or buffers' (the CPU if it has none)."""
    return next(itertools.chain(prior.parameters(), prior.buffers()), torch.zeros(())).device


_HAS_CLOSED_FORM: dict[type, bool] = {}


@torch.no_grad()
def has_closed_form(prior) -> bool:
    """Whether torch.distributions has KL(diagonal Gaussian ‖ prior) in closed form: asked once per kind of
    prior, so that a prior without one (a mixture, whose ``distribution()`` costs an encoder pass) is not
    built only to fail at every step."""
    kind = type(prior)
    if kind not in _HAS_CLOSED_FORM:
        latent = torch.zeros(1, prior.latent_dim, device=device_of(prior))
        try:
            closed_form_kl(diagonal_normal(latent, latent), prior.distribution())
            _HAS_CLOSED_FORM[kind] = True
        except NotImplementedError:
            _HAS_CLOSED_FORM[kind] = False
    return _HAS_CLOSED_FORM[kind]


def kl_method(prior) -> str:
    """How ``kl_divergence`` computes the KL to ``prior`` (what metrics.json records beside it)."""
    return CLOSED_FORM if has_closed_form(prior) else SAMPLED


def log_importance_weight(log_likelihood: torch.Tensor, z: torch.Tensor, q: Independent, prior) -> torch.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) of samples z (S, B, D) from q: (S, B). The importance-weighted
    bound of Burda et al. (2015), eq. 8, is L_k = log_mean_exp over k of log w."""
    return log_likelihood + prior.log_prob(z) - q.log_prob(z)
