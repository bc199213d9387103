"""Two toy model kinds, as a researcher would add them (README: Add a model kind), for tests/test_terms.py:
one with a loss term the package does not know, one with a mixture prior."""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from latentlab import VariationalAutoencoder


class SpreadVAE(VariationalAutoencoder):
    """The VAE with a third term, the squared length of the posterior mean, weighed by beta like the KL."""

    terms = {"reconstruction": None, "kl": "beta", "spread": "beta"}

    def loss_per_image(self, x, y=None):
        return {**super().loss_per_image(x, y), "spread": self.encode(x, y)[0].pow(2).sum(1)}

    def point_pass(self, x, y=None):
        code, x_hat, terms = super().point_pass(x, y)
        return code, x_hat, {**terms, "spread": code.pow(2).sum(1)}


class UndeclaredTermVAE(SpreadVAE):
    """Returns the spread term without declaring it: it must be refused, not dropped."""

    terms = {"reconstruction": None, "kl": "beta"}


class TwoBumps(nn.Module):
    """A mixture prior: half N((-1, 0), 0.5² I) and half N((1, 0), 0.5² I); torch has no closed-form KL to it."""

    name = "two bumps"
    reach = 0.0

    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.latent_dim = latent_dim
        centres = torch.zeros(2, latent_dim)
        centres[:, 0] = torch.tensor([-1.0, 1.0])
        self.register_buffer("centres", centres, persistent=False)

    def distribution(self):
        return MixtureSameFamily(
            Categorical(logits=torch.zeros(2, device=self.centres.device)), Independent(Normal(self.centres, 0.5), 1)
        )

    def log_prob(self, z):
        return self.distribution().log_prob(z)

    def mixture(self):
        return self.centres, torch.full_like(self.centres, 2 * torch.log(torch.tensor(0.5)).item())

    def sample(self, n, generator=None):
        which = torch.randint(2, (n,), generator=generator)
        return self.centres.cpu()[which] + 0.5 * torch.randn(n, self.latent_dim, generator=generator)

    def grid_log_prob(self, axis):
        grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).double()
        return Independent(Normal(self.centres.double().cpu(), 0.5), 1).log_prob(grid[..., None, :]).logsumexp(
            -1
        ) - torch.log(torch.tensor(2.0, dtype=torch.float64))


class TwoBumpsVAE(VariationalAutoencoder):
    """The VAE with the two-bump mixture as its prior."""

    def make_prior(self):
        return TwoBumps(self.latent_dim)
