"""The decoder's p(x|z), the one setting that changes what every number means (``--likelihood``).

    gaussian   N(x_hat, 1/2 I) on grey pixels: -log p(x|z) = squared error + 392·log π, the constant
               dropped, so ELBOs and bounds are "nats, up to the constant"
    bernoulli  Bernoulli(x_hat) on binary pixels: -log p(x|z) = binary cross-entropy in nats, exact, so
               minus the importance-sampled bound is the NLL of binarized-MNIST tables

Each is a class that says, side by side with the other: its -log p(x|z) (losses.py), the pixels it
models in training and in the test set, the units its numbers are read in, and what published
numbers they compare with. A model holds one (``model.likelihood``); the rest of the package asks
it rather than testing the decoder's name.
"""

from __future__ import annotations

import torch

from . import losses

TEST_BINARIZATION_SEED = 1234


def binarize(x: torch.Tensor) -> torch.Tensor:
    """Dynamic binarization of a float batch in [0, 1]: each pixel drawn as Bernoulli(intensity), anew
    every time, so the model never sees the same binary training image twice."""
    return torch.bernoulli(x)


def binarize_once(images: torch.Tensor, seed: int = TEST_BINARIZATION_SEED) -> torch.Tensor:
    """Each pixel drawn once as Bernoulli(intensity), with a fixed seed: uint8 0 or 255.

    The test set of binarized-MNIST likelihood tables is fixed like this; the
    training set is binarized anew for every batch instead (dynamic binarization).
    """
    generator = torch.Generator().manual_seed(seed)
    return (torch.bernoulli(images.float() / 255, generator=generator) * 255).to(torch.uint8)


class Gaussian:
    """N(x_hat, 1/2 I) on grey pixels in [0, 1]."""

    name = "gaussian"
    reconstruction_name = "squared error"
    reconstruction_units = "squared error per image"
    elbo_units = "nats, up to the constant 392·log π"

    @staticmethod
    def reconstruction_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per image, constant dropped: (B, 1, 28, 28) x 2 -> (B,)."""
        return losses.squared_error_per_image(x_hat, x)

    @staticmethod
    def training_pixels(x: torch.Tensor) -> torch.Tensor:
        """A training batch as this decoder models it: the grey pixels themselves."""
        return x

    @staticmethod
    def test_pixels(images: torch.Tensor) -> torch.Tensor:
        """The test images (uint8) as this decoder is judged on: as they are."""
        return images

    @staticmethod
    def nll_metrics(bound: float) -> dict:
        """Nothing: minus the bound is no NLL (a constant is dropped)."""
        return {}


class Bernoulli:
    """Bernoulli(x_hat) on binary pixels: the setting of the binarized-MNIST likelihood tables."""

    name = "bernoulli"
    reconstruction_name = "cross-entropy"
    reconstruction_units = "cross-entropy per image, nats"
    elbo_units = "nats"

    @staticmethod
    def reconstruction_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per image, exact: (B, 1, 28, 28) x 2 -> (B,)."""
        return losses.bernoulli_nll_per_image(x_hat, x)

    @staticmethod
    def training_pixels(x: torch.Tensor) -> torch.Tensor:
        """Fresh binary pixels every call (dynamic binarization), as the tables' models were trained."""
        return binarize(x)

    @staticmethod
    def test_pixels(images: torch.Tensor) -> torch.Tensor:
        """The test images binarized once, with a fixed seed, as the tables' test set is."""
        return binarize_once(images)

    @staticmethod
    def nll_metrics(bound: float) -> dict:
        """The NLL in nats, the number the tables report: minus the importance-sampled bound."""
        return {"test_nll_nats": -bound}


LIKELIHOODS = {likelihood.name: likelihood for likelihood in (Gaussian, Bernoulli)}
