"""The loss terms, each a small pure function with its reduction stated.

Units (used everywhere: training, metrics, figures, README):

    reconstruction(x, x_hat) = sum over the 784 pixels of (x - x_hat)^2      per image
    KL(q(z|x) || p(z))       = distributions.kl_divergence: for p(z) = N(0, I) in closed form,
                               -1/2 * sum_j (1 + log_var_j - mean_j^2 - exp(log_var_j))
                               (Kingma & Welling 2014, appendix B)          per image
    ELBO(x)                  = -(reconstruction + KL)                       per image

The squared error is -log p(x|z) of a Gaussian decoder N(x_hat, 1/2 I) with its
constant (392 * log pi) dropped, so the ELBO is a lower bound on log p(x) up to that
constant. Every function returns these per-image values, (B,); the models' ``loss``
averages them over the batch. The per-pixel mean of ``nn.MSELoss()`` would shrink the
reconstruction term 784-fold and let the KL term swamp it.

With ``likelihood="bernoulli"`` (binarized MNIST, comparable with published NLL
tables) the reconstruction is the exact -log p(x|z) of a Bernoulli decoder:
binary cross-entropy summed over pixels, in nats, with no constant dropped.
likelihoods.py says which decoder uses which.

The importance-weighted bound (Burda et al. 2015, eq. 8) needs the log densities of each sample
z = mean + exp(log_var / 2) * eps under the prior and the posterior (distributions.log_importance_weight):

    L_k(x) = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x),

which is the ELBO in expectation for k = 1 and rises towards log p(x) as k grows; ``log_mean_exp`` is
its average over the k samples.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def squared_error_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error summed over pixels: (B, 1, 28, 28) x 2 -> (B,)."""
    return (x_hat - x).pow(2).flatten(1).sum(dim=1)


def bernoulli_nll_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x | x_hat) summed over pixels, in nats: (B, 1, 28, 28) x 2 -> (B,).

    PyTorch clamps log(x_hat) at -100, so a saturated sigmoid cannot give an infinite loss.
    """
    return F.binary_cross_entropy(x_hat, x, reduction="none").flatten(1).sum(dim=1)


def term_key(name: str) -> str:
    """A loss term's name in the history, the test pass and metrics.json ("recon" for the reconstruction)."""
    return "recon" if name == "reconstruction" else name


def log_mean_exp(values: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log(mean(exp(values))) without overflow or underflow: logsumexp shifts by the maximum."""
    return torch.logsumexp(values, dim=dim) - math.log(values.shape[dim])
