"""The VAE with a VampPrior (Tomczak & Welling 2018): the VAE of ``vae.py`` with one distribution changed,
the prior. p(z) = (1/K) sum_k q(z|u_k), the mean of the encoder's own posteriors at K pseudo-inputs u_k,
images that are learned with the rest of the model. The prior the encoder's codes would like best is their
aggregate posterior, the mean of q(z|x) over the data; the VampPrior is that mean over K learned images, so
that it can follow where the codes go instead of pulling them towards N(0, I).

Everything else is the VAE's, written once from the three distributions: the KL term has no closed form
against a mixture, so it is the one-sample estimate log q(z|x) - log p(z) at the z the reconstruction
uses (``distributions.kl_divergence``); the importance-sampled bound, the IWAE objective, the samples and
the true posterior of a 2-D latent all read ``model.prior``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from ..distributions import StandardNormal, diagonal_normal
from . import Traits
from .vae import VariationalAutoencoder, headline

COMPONENTS = 100  # K pseudo-inputs (the paper's MNIST runs used 500; each is encoded at every training step)


class VampPrior(nn.Module):
    """p(z) = (1/K) sum_k N(z; mean(u_k), exp(log_var(u_k))), u_k = sigmoid(pseudo_inputs_k), (K, 1, 28, 28).

    ``encode`` is the owning model's (not a submodule here, or the model would contain itself). The encoder
    runs on the pseudo-inputs with its BatchNorm layers in eval mode: the prior is then one density, the
    same at every step and in evaluation, and the pseudo-inputs never enter the running statistics that the
    data sets."""

    name = "VampPrior"
    reach = 0.0  # the test codes show where it puts its mass (explorer.py)
    kl_per_dimension_name = "KL to the prior's marginal (nats, estimated)"
    marginal_name = "VampPrior marginal"

    def __init__(self, encode, encoder: nn.Module, latent_dim: int, components: int = COMPONENTS):
        super().__init__()
        self.latent_dim = latent_dim
        # Faint grey images with a little noise, so that the K components start apart but near the data's range.
        self.pseudo_inputs = nn.Parameter(torch.randn(components, 1, 28, 28) * 0.1 - 1.5)
        object.__setattr__(self, "_encode", encode)
        object.__setattr__(self, "_encoder", encoder)

    def images(self) -> torch.Tensor:
        """The pseudo-inputs u_k as images in [0, 1], (K, 1, 28, 28)."""
        return torch.sigmoid(self.pseudo_inputs)

    def components(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log_var) of the K mixture components, (K, D) each."""
        batch_norms = [m for m in self._encoder.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        modes = [m.training for m in batch_norms]
        for m in batch_norms:
            m.eval()
        try:
            return self._encode(self.images())
        finally:
            for m, mode in zip(batch_norms, modes, strict=True):
                m.train(mode)

    def mixture(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log_var) of the K components, (K, D) each, for the explorer page (``components``)."""
        return self.components()

    def distribution(self) -> MixtureSameFamily:
        mean, log_var = self.components()
        return MixtureSameFamily(
            Categorical(logits=torch.zeros(len(mean), device=mean.device)), diagonal_normal(mean, log_var)
        )

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) = logsumexp_k log q(z|u_k) - log K: (..., D) -> (...)."""
        mean, log_var = self.components()
        per_component = diagonal_normal(mean, log_var).log_prob(z.unsqueeze(-2))  # (..., K)
        return torch.logsumexp(per_component, dim=-1) - math.log(len(mean))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws (n, D) on the generator's device (the CPU by default): a component, then a point of it."""
        mean, log_var = (t.to(generator.device if generator is not None else "cpu") for t in self.components())
        which = torch.randint(len(mean), (n,), generator=generator, device=mean.device)
        eps = torch.randn(n, self.latent_dim, generator=generator, device=mean.device)
        return mean[which] + torch.exp(0.5 * log_var[which]) * eps

    @torch.no_grad()
    def marginal_quantiles(self, probabilities: np.ndarray) -> np.ndarray:
        """The quantiles of each dimension's marginal, a 1-D mixture: (P,) -> (P, D), by the CDF on a fine
        axis (its error below a thousandth of the axis's width)."""
        mean, log_var = (t.double().cpu() for t in self.components())
        sd = torch.exp(0.5 * log_var)
        low, high = (mean - 6 * sd).min(0).values, (mean + 6 * sd).max(0).values
        out = []
        for j in range(self.latent_dim):
            axis = torch.linspace(low[j].item(), high[j].item(), 20001, dtype=torch.float64)
            cdf = Normal(mean[:, j, None], sd[:, j, None]).cdf(axis).mean(0)
            out.append(np.interp(probabilities, cdf.numpy(), axis.numpy()))
        return np.stack(out, axis=1)

    @torch.no_grad()
    def marginal_pdf(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(t, density) of dimension ``dim``'s marginal, a 1-D mixture, over its components' 4 sd."""
        mean, log_var = (v[:, dim].double().cpu() for v in self.components())
        sd = torch.exp(0.5 * log_var)
        t = torch.linspace((mean - 4 * sd).min().item(), (mean + 4 * sd).max().item(), 400, dtype=torch.float64)
        return t.numpy(), Normal(mean[:, None], sd[:, None]).log_prob(t).exp().mean(0).numpy()

    def quantile_axes(self, points: int) -> tuple[np.ndarray, str]:
        """Each dimension's marginal quantiles at the probabilities 0.05…0.95, (points, D), and their name: a
        decoded plane that covers the prior evenly in mass along each axis."""
        return self.marginal_quantiles(np.linspace(0.05, 0.95, points)), "VampPrior marginal quantiles 0.05…0.95"

    def walk(self, frames: int, seed: int = 0, harmonics: int = 4) -> np.ndarray:
        """A smooth closed walk (frames, D) each of whose points has the prior's marginal in every dimension:
        the standard normal's walk (every point N(0, I)) through Phi, then each marginal's quantile function."""
        normal = StandardNormal(self.latent_dim).walk(frames, seed, harmonics)
        probabilities = Normal(0.0, 1.0).cdf(torch.from_numpy(normal)).numpy()
        return np.stack([self.marginal_quantiles(probabilities[:, j])[:, j] for j in range(self.latent_dim)], 1)

    @torch.no_grad()
    def grid_log_prob(self, axis: torch.Tensor) -> torch.Tensor:
        """log p(z) at every point of the grid axis × axis of a 2-D latent, (G, G) float64."""
        mean, log_var = (t.double().cpu() for t in self.components())
        components = Independent(Normal(mean, torch.exp(0.5 * log_var)), 1)
        points = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2).double()
        values = torch.cat(
            [torch.logsumexp(components.log_prob(chunk[:, None, :]), dim=1) for chunk in points.split(65536)]
        ) - math.log(len(mean))
        return values.view(len(axis), len(axis))

    def kl_per_dimension(self, q: Independent, samples: int = 16) -> torch.Tensor:
        """KL of each dimension's posterior to the prior's marginal in it, (B, D): no closed form for a
        mixture, so a ``samples``-draw estimate, its draws seeded so that a figure redraws the same."""
        mean, log_var = self.components()
        generator = torch.Generator(device=q.base_dist.loc.device).manual_seed(0)
        eps = torch.randn((samples, *q.base_dist.loc.shape), generator=generator, device=q.base_dist.loc.device)
        z = q.base_dist.loc + q.base_dist.scale * eps  # (S, B, D)
        marginals = Normal(mean, torch.exp(0.5 * log_var))  # (K, D)
        log_p = torch.logsumexp(marginals.log_prob(z[..., None, :]), dim=-2) - math.log(len(mean))  # (S, B, D)
        return (q.base_dist.log_prob(z) - log_p).mean(0)


class VampPriorVAE(VariationalAutoencoder):
    """The VAE with the VampPrior in place of N(0, I); its pseudo-inputs are parameters of the model."""

    kind = "vampprior"

    def make_prior(self) -> nn.Module:
        return VampPrior(self.encode, self.encoder, self.latent_dim)


TRAITS = Traits(
    name="vampprior",
    model=VampPriorVAE,
    encoder_distribution=True,
    prior=True,
    likelihood_bound=True,
    point_code="posterior mean",
    headline=headline,
)
