"""The deterministic Autoencoder: x -> z = encode(x) -> x_hat = decode(z), trained on the reconstruction.

The paper's contrast to the VAE: no posterior and no prior, so no ELBO and no likelihood bound; its
codes go wherever reconstruction is best. Its figures sample from a Gaussian fitted to the training
codes (there is no prior to sample from) and score a decoded image by passing it back through the AE.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..data import DeviceSplit
from ..models import ConvAutoencoderBase
from ..passes import active_units
from . import Traits


class Autoencoder(ConvAutoencoderBase):
    """Deterministic autoencoder: x -> z -> x_hat, trained on the reconstruction alone."""

    kind = "ae"

    def add_latent_heads(self, features: int) -> None:
        self.to_latent = nn.Linear(features, self.latent_dim)

    def latent_heads(self) -> dict[str, nn.Linear]:
        return {"z": self.to_latent}

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.to_latent(self.encoder(x))  # (B, latent_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x))

    def code(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The point code that figures and probes use: here z itself. (B, latent_dim)"""
        return self.encode(x)

    def loss_per_image(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The one term of its loss for each image, (B,): the reconstruction -log p(x|z) at z = encode(x)."""
        return {"reconstruction": self.likelihood.reconstruction_per_image(self(x), x)}

    def point_pass(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """The code z (B, latent_dim), its decoding x_hat (B, 1, 28, 28) and the loss there (B,): for an AE,
        whose loss draws nothing, its loss_per_image."""
        z = self.encode(x)
        x_hat = self.decode(z)
        return z, x_hat, {"reconstruction": self.likelihood.reconstruction_per_image(x_hat, x)}

    def point_loss_per_image(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """loss_per_image without sampling: for an AE the same."""
        return self.point_pass(x, y)[2]

    @property
    def loss_units(self) -> str:
        """What its loss per image is read in: its reconstruction term's units."""
        return self.likelihood.reconstruction_units

    @torch.no_grad()
    def fit_for_figures(self, batches) -> dict:
        """An AE has no prior to sample from: samples.png draws from this Gaussian fit of the training
        codes instead, stored in model.pt so that figures need no training data. ``batches``: the
        training images as float batches (B, 1, 28, 28)."""
        self.eval()
        z = torch.cat([self.code(x).float().cpu() for x in batches]).double()  # (N, latent_dim)
        return {"latent_fit": {"mean": z.mean(0).float(), "cov": torch.cov(z.T).float().reshape(z.shape[1], -1)}}

    # --- What its figures compute -------------------------------------------------------------
    interpolation_note = "; latent_i = encode(x_i)."
    code_note = ""

    @property
    def score_name(self) -> str:
        return f"{self.likelihood.reconstruction_name} of each decoded image passed back through the AE"

    def interpolation_latents(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        """The two interpolation end points (2, D): the codes themselves."""
        return self.encode(x)

    def score(self, decoded: torch.Tensor, seed: int) -> torch.Tensor:
        """(N,) reconstruction error of each decoded image passed back through the AE."""
        return self.loss_per_image(decoded)["reconstruction"]

    def sample_latents(self, generator: torch.Generator, n: int, state: dict) -> tuple[torch.Tensor, str]:
        """An AE has no prior: n draws z (n, D) from a Gaussian fitted to the training codes (stored at training),
        mean + L eps with L its Cholesky factor."""
        fit, d = state["latent_fit"], self.latent_dim
        normal = torch.randn(n, d, generator=generator)  # eps
        # A small jitter keeps the Cholesky factor defined if a code dimension is constant.
        cholesky = torch.linalg.cholesky(fit["cov"].double() + 1e-6 * torch.eye(d, dtype=torch.float64))
        z = (fit["mean"].double() + normal.double() @ cholesky.T).float()
        return z, "z ~ Gaussian fitted to the training codes"

    def manifold_axes(self, codes: np.ndarray, points: int = 20) -> tuple[np.ndarray, np.ndarray, str]:
        lo, hi = np.percentile(codes, [1, 99], axis=0)
        return (
            np.linspace(lo[0], hi[0], points),
            np.linspace(lo[1], hi[1], points),
            "1st–99th percentile box of the test codes",
        )

    def per_dimension(self, codes: torch.Tensor, test: DeviceSplit) -> tuple[np.ndarray, str]:
        return active_units(codes)[1].numpy(), "variance of the code across the test set"


def headline(likelihood: str) -> list:
    return [("test_mse", "test MSE", False, 4), ("knn5_accuracy", "5-NN acc.", True, 3)]


TRAITS = Traits(
    name="ae",
    model=Autoencoder,
    encoder_distribution=False,
    prior=False,
    likelihood_bound=False,
    point_code="code",
    headline=headline,
)
