"""The Variational Autoencoder (Kingma & Welling 2014): its three distributions (``distributions.py``) are a
diagonal Gaussian posterior q(z|x) = N(mean, exp(log_var)) (``posterior``), the standard normal prior p(z)
(``prior``; a kind with another prior builds its own in ``make_prior``), and the decoder's likelihood p(x|z);
trained on the negative ELBO, or on the importance-weighted bound of Burda et al. (2015) with
``--objective iwae``.

Its figures draw the interpolation's end points with the reparameterization trick and score a
decoded image by its ELBO, as the reference experiment does, and sample from the prior.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..data import DeviceSplit
from ..distributions import StandardNormal, diagonal_normal, kl_divergence, log_importance_weight
from ..evaluation import elbo_estimate
from ..losses import log_mean_exp
from ..models import ConvAutoencoderBase, reparameterization_trick, repeat_labels
from ..passes import seeded
from . import Traits


class VariationalAutoencoder(ConvAutoencoderBase):
    """VAE with a diagonal Gaussian posterior q(z|x) = N(mean, exp(log_var)) and the prior ``make_prior`` builds.

    The AE's encoder_conv and decoder_conv; its ``to_latent`` becomes the two heads
    ``mean`` and ``log_var``, and a sample z ~ q(z|x) replaces the deterministic code. Its methods take a
    batch's labels ``y`` and pass them on without reading them: the conditional VAE (cvae.py) reads them.
    """

    kind = "vae"
    terms = {"reconstruction": None, "kl": "beta"}
    given = ""  # what q(z|x) is conditioned on besides x, in the figures' names: ", y" for the conditional VAE
    reparameterization_trick = staticmethod(reparameterization_trick)

    def add_latent_heads(self, features: int) -> None:
        self.mean = nn.Linear(features, self.latent_dim)
        self.log_var = nn.Linear(features, self.latent_dim)
        self.prior = self.make_prior()

    def make_prior(self) -> nn.Module:
        """p(z): the standard normal. A kind with another prior returns it here (its parameters train with the
        model), an object with ``log_prob``, ``sample`` and ``name`` as ``distributions.StandardNormal``."""
        return StandardNormal(self.latent_dim)

    @property
    def kl_name(self) -> str:
        """How figures name its KL term."""
        return f"KL(q(z|x{self.given}) ‖ {self.prior.name})"

    def term_label(self, name: str) -> str:
        return f"{self.kl_name} per image, nats" if name == "kl" else super().term_label(name)

    def posterior(self, x: torch.Tensor, y: torch.Tensor | None = None):
        """q(z|x) of each image, a batch (B,) of diagonal Gaussians over the latent's D dimensions."""
        return diagonal_normal(*self.encode(x, y))

    def latent_heads(self) -> dict[str, nn.Linear]:
        return {"mean": self.mean, "log_var": self.log_var}

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)  # (B, reduce_channels * 49)
        return self.mean(h), self.log_var(h)  # (B, latent_dim) each

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_var = self.encode(x, y)
        z = self.reparameterization_trick(mean, log_var)
        return self.decode(z, y), mean, log_var

    def code(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The point code that figures and probes use: the posterior mean. (B, latent_dim)"""
        return self.encode(x, y)[0]

    def loss_per_image(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The negative ELBO's two terms for each image, (B,) each, with one sample z ~ q(z|x):
        -log p(x|z) and KL(q(z|x) || p(z)) (Kingma & Welling 2014, eq. 10), the KL in closed form where
        it has one, else at that z. The training objective is their sum, the negative ELBO (beta = 1)."""
        mean, log_var = self.encode(x, y)
        z = self.reparameterization_trick(mean, log_var)
        return {
            "reconstruction": self.likelihood.reconstruction_per_image(self.decode(z, y), x),
            "kl": kl_divergence(diagonal_normal(mean, log_var), self.prior, z),
        }

    def point_pass(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """The point code (the posterior mean, (B, latent_dim)), its decoding x_hat (B, 1, 28, 28), and the
        loss terms there without sampling noise, (B,) each: -log p(x|z) at z = the mean, and the KL in closed
        form. One encode for the codes, the MSE and the explorer page's losses of the test images."""
        mean, log_var = self.encode(x, y)
        x_hat = self.decode(mean, y)
        return (
            mean,
            x_hat,
            {
                "reconstruction": self.likelihood.reconstruction_per_image(x_hat, x),
                "kl": kl_divergence(diagonal_normal(mean, log_var), self.prior, mean),
            },
        )

    def point_loss_per_image(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``point_pass``'s terms: what the explorer page computes for a drawn digit, to rank it among the
        test images'."""
        return self.point_pass(x, y)[2]

    @property
    def loss_units(self) -> str:
        """What its loss per image, the negative ELBO, is read in."""
        return self.likelihood.elbo_units

    def fit_for_figures(self, batches) -> dict:
        """Nothing: samples.png draws from the prior."""
        return {}

    def iwae_loss(
        self, x: torch.Tensor, k: int, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(-L_k, {reconstruction, kl}), each averaged over the batch, for the k-sample importance-weighted
        bound L_k of Burda et al. (2015), eq. 8 (see losses.py). reconstruction and kl are the ELBO's
        terms estimated from the same k samples (the KL by sampling, not in closed form), for the log."""
        mean, log_var = self.encode(x, y)  # (B, D) each
        eps = torch.randn((k, *mean.shape), device=x.device, dtype=mean.dtype)  # (k, B, D)
        z = self.reparameterization_trick(mean, log_var, eps)
        x_hat = self.decode(z.flatten(0, 1), repeat_labels(y, k))  # (k * B, 1, 28, 28), sample-major
        log_likelihood = -self.likelihood.reconstruction_per_image(x_hat, x.repeat(k, 1, 1, 1)).view(k, -1)
        log_weight = log_importance_weight(log_likelihood, z, diagonal_normal(mean, log_var), self.prior)  # (k, B)
        bound = log_mean_exp(log_weight, dim=0)  # (B,)
        return -bound.mean(), {"reconstruction": -log_likelihood.mean(), "kl": (log_likelihood - log_weight).mean()}

    # --- What its figures compute -------------------------------------------------------------
    interpolation_note = "; latent_i drawn with the reparameterization trick, seed fixed."
    code_note = " (posterior means)"

    @property
    def score_name(self) -> str:
        return f"ELBO of each decoded image passed back through the VAE\n({self.loss_units}; 100 posterior samples)"

    def interpolation_latents(self, x: torch.Tensor, seed: int, y: torch.Tensor | None = None) -> torch.Tensor:
        """latent_1, latent_2 (2, D) drawn with the reparameterization trick, as the reference does."""
        mean, log_var = self.encode(x, y)
        with seeded(seed, x.device):
            return self.reparameterization_trick(mean, log_var)

    def score(self, decoded: torch.Tensor, seed: int, y: torch.Tensor | None = None) -> torch.Tensor:
        """(N,) ELBO of each decoded image, from 100 posterior samples."""
        return elbo_estimate(self, decoded, samples=100, seed=seed, y=y)

    def sample_latents(self, generator: torch.Generator, n: int, state: dict) -> tuple[torch.Tensor, str]:
        return self.prior.sample(n, generator), f"z ~ {self.prior.name}"

    def manifold_axes(self, codes: np.ndarray, points: int = 20) -> tuple[np.ndarray, np.ndarray, str]:
        axes, name = self.prior.quantile_axes(points)
        return axes[:, 0], axes[:, 1], name

    @torch.no_grad()
    def per_dimension(self, codes: torch.Tensor, test: DeviceSplit) -> tuple[np.ndarray, str]:
        kl = torch.cat(
            [self.prior.kl_per_dimension(self.posterior(x, y)).float().cpu() for x, y in test.labelled_batches(1000)]
        )
        return kl.mean(0).double().numpy(), self.prior.kl_per_dimension_name


def headline(likelihood: str) -> list:
    """A Bernoulli decoder's bound is an NLL in nats, the number the literature ranks by."""
    knn = ("knn5_accuracy", "5-NN acc.", True, 3)
    if likelihood == "bernoulli":
        return [("test_nll_nats", "NLL (nats)", False, 2), ("test_elbo", "ELBO", True, 2), knn]
    return [("test_elbo", "ELBO", True, 2), ("test_mse", "test MSE", False, 4), knn]


TRAITS = Traits(
    name="vae",
    model=VariationalAutoencoder,
    encoder_distribution=True,
    prior=True,
    likelihood_bound=True,
    point_code="posterior mean",
    headline=headline,
)
