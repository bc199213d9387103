"""The conditional VAE (Sohn, Lee & Yan 2015; Kingma, Rezende, Mohamed & Welling 2014, model M2 with the
label observed): the VAE of ``vae.py`` given each image's label y, q(z|x, y) = N(mean, exp(log_var)) and
p(x|z, y), with the VAE's prior on z. Since the decoder is told which digit to write, z is left to
carry how it is written (slant, width, thickness); its loss is the VAE's, -ELBO(x|y) =
-E_q[log p(x|z, y)] + KL(q(z|x, y) || p(z)), a bound on log p(x|y).

Where the label goes in, as a one-hot vector of the classes: beside the encoder's features, just before
the ``mean`` and ``log_var`` heads, and beside z at the decoder's first Linear layer. The convolutions
stay those of the VAE and see the image only: what they extract is shared by all labels, and the heads
and the decoder, which see the label, decide what is style given it. Everything else (the likelihood,
the ELBO, the importance-weighted bound, the figures' scores) is the VAE's, with y passed on.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data import dataset_classes
from ..errors import LatentlabError
from . import Traits
from .vae import VariationalAutoencoder, headline


class ConditionalVariationalAutoencoder(VariationalAutoencoder):
    """The VAE with the label y (B,) as a one-hot input to its two heads and to its decoder."""

    kind = "cvae"
    given = ", y"

    def __init__(self, latent_dim: int, *, classes: int, **options):
        self.classes = classes  # read while the base class makes the heads and the decoder
        super().__init__(latent_dim, **options)

    def add_latent_heads(self, features: int) -> None:
        super().add_latent_heads(features + self.classes)

    def decoder_inputs(self) -> int:
        return self.latent_dim + self.classes

    def one_hot(self, y: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """(B,) labels -> (B, classes) in the dtype of ``like``."""
        if y is None:
            raise LatentlabError(
                "The conditional VAE is given each image's label as well: encode(x, y), decode(z, y), "
                "code(x, y), with y the labels (B,) as integers 0.."
                f"{self.classes - 1}. Pass the labels."
            )
        return nn.functional.one_hot(y, self.classes).to(like.dtype)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)  # (B, reduce_channels * 49)
        h = torch.cat([h, self.one_hot(y, h)], dim=1)  # (B, reduce_channels * 49 + classes)
        return self.mean(h), self.log_var(h)  # (B, latent_dim) each

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(torch.cat([z, self.one_hot(y, z)], dim=1))  # (B, latent_dim + classes) -> (B, 1, 28, 28)

    # --- What its figures compute -------------------------------------------------------------
    code_note = " (posterior means given the label)"

    @property
    def score_name(self) -> str:
        return (
            f"ELBO of each decoded image given its label, passed back through the CVAE\n"
            f"({self.loss_units}; 100 posterior samples)"
        )


def model_options(config) -> dict:
    """The network's one-hot inputs are as wide as the data set has classes."""
    return {"classes": len(dataset_classes(config.dataset))}


TRAITS = Traits(
    name="cvae",
    model=ConditionalVariationalAutoencoder,
    encoder_distribution=True,
    prior=True,
    likelihood_bound=True,
    point_code="posterior mean given the label",
    headline=headline,
    conditional=True,
    model_options=model_options,
)
