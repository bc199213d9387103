"""The convolutional encoder and decoder of the reference design, shared by every model kind.

Encoder (``encoder_conv``):
    ConvolutionalBlock -> MaxPool2d -> DenseBlock -> Conv2d 1x1 -> MaxPool2d -> flatten
Decoder (``decoder_conv``):
    Linear -> unflatten -> TransposeConvolutionalBlock x (k + 1) -> ConvTranspose2d -> Sigmoid

Shapes (B images; s = ``stem_channels``, g = ``growth``, n = ``dense_layers``,
r = ``reduce_channels``, d = ``decoder_channels``, k = ``decoder_blocks``,
u = ``upsample_channels``):
    x (B, 1, 28, 28) -> conv (B, s, 28, 28) -> pool (B, s, 14, 14)
    -> dense (B, s + n*g, 14, 14) -> 1x1 (B, r, 14, 14) -> pool (B, r, 7, 7)
    -> flatten (B, r*49) -> Linear -> z (B, latent_dim)
    z -> Linear, unflatten (B, d, 7, 7) -> k blocks (B, d, 7, 7) -> block (B, u, 14, 14)
    -> ConvTranspose2d (B, 1, 28, 28) -> Sigmoid.

The blocks and the base class every model kind shares; each kind (its heads, its loss terms, what its
figures compute) is one module of ``kinds/``. A model's ``loss(x)`` returns the terms of its objective
by name, as the PyTorch VAE example's ``loss_function`` does, and its class declares each term with its
weight (``terms``); ``losses.py`` and ``distributions.py`` hold the formulas and ``training_loss``
minimises the weighted sum, ``reconstruction + beta * kl`` for the VAE.

Why these widths: on a CPU the 28x28 layers cost most per channel (their ReLU,
BatchNorm and pooling are memory-bound), so the stem is narrow; at the decoder's 7x7
end a channel costs a sixteenth as much, so it is wide (benchmarks/train_throughput.py
measures the speed).
"""

from __future__ import annotations

import torch
from torch import nn

from .distributions import diagonal_normal, log_importance_weight
from .kinds import traits
from .likelihoods import LIKELIHOODS


class ConvolutionalBlock(nn.Sequential):
    """Conv2d -> ReLU -> BatchNorm2d, spatial size kept (3x3, padding 1)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(out_channels),
        )


class DenseLayer(nn.Module):
    """A ConvolutionalBlock whose ``growth`` new channels are appended to its input."""

    def __init__(self, in_channels: int, growth: int):
        super().__init__()
        self.block = ConvolutionalBlock(in_channels, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.block(x)], dim=1)  # (B, in + growth, H, W)


class DenseBlock(nn.Sequential):
    """A chain of DenseLayers: layer i sees the block input and every earlier output."""

    def __init__(self, in_channels: int, growth: int, layers: int):
        super().__init__(*(DenseLayer(in_channels + i * growth, growth) for i in range(layers)))
        self.out_channels = in_channels + layers * growth


class TransposeConvolutionalBlock(nn.Sequential):
    """ConvTranspose2d -> ReLU -> BatchNorm2d, doubling height and width (stride 2) or keeping them (1)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2):
        kernel = 4 if stride == 2 else 3
        super().__init__(
            nn.ConvTranspose2d(in_channels, out_channels, kernel_size=kernel, stride=stride, padding=1),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(out_channels),
        )


def encoder_conv(stem_channels: int, growth: int, dense_layers: int, reduce_channels: int) -> nn.Sequential:
    """Image (B, 1, 28, 28) -> feature vector (B, reduce_channels * 7 * 7)."""
    dense = DenseBlock(stem_channels, growth, dense_layers)
    return nn.Sequential(
        ConvolutionalBlock(1, stem_channels),  # (B, s, 28, 28)
        nn.MaxPool2d(2),  # (B, s, 14, 14)
        dense,  # (B, s + layers * growth, 14, 14)
        nn.Conv2d(dense.out_channels, reduce_channels, kernel_size=1),  # (B, r, 14, 14)
        nn.MaxPool2d(2),  # (B, r, 7, 7): the Linear layers after it stay small
        nn.Flatten(),  # (B, r * 49)
    )


def decoder_conv(latent_dim: int, decoder_channels: int, decoder_blocks: int, upsample_channels: int) -> nn.Sequential:
    """Latent vector (B, latent_dim) -> image (B, 1, 28, 28) with pixels in (0, 1)."""
    return nn.Sequential(
        nn.Linear(latent_dim, decoder_channels * 7 * 7),
        nn.Unflatten(1, (decoder_channels, 7, 7)),
        # Blocks at 7x7 (stride 1) put nonlinearities between the Linear layer and the
        # upsampling. A 2-D code gets all its shape from them: with none, the 2-D VAE lost
        # about 3 nats of ELBO, so the 2-D experiments use two.
        *(
            TransposeConvolutionalBlock(decoder_channels, decoder_channels, stride=1)  # (B, d, 7, 7)
            for _ in range(decoder_blocks)
        ),
        TransposeConvolutionalBlock(decoder_channels, upsample_channels),  # (B, u, 14, 14)
        nn.ConvTranspose2d(upsample_channels, 1, kernel_size=4, stride=2, padding=1),  # (B, 1, 28, 28)
        nn.Sigmoid(),
    )


class ConvAutoencoderBase(nn.Module):
    """What the AE and the VAE share: ``encoder_conv``, ``decoder_conv``, the decoder's likelihood, and the
    loss as the batch mean of ``loss_per_image``. Each subclass adds its heads from the encoder's
    features to the latent (``latent_heads``) and says how a code and its loss are made."""

    kind: str  # what --model calls it: the name of its module in kinds/
    # The terms ``loss`` returns, in order, each with the TrainConfig setting that weighs it in the training loss
    # (None: weight 1). A term that ``loss`` returns and this does not name is refused before training.
    terms: dict[str, str | None] = {"reconstruction": None}

    def __init__(
        self,
        latent_dim: int,
        *,
        likelihood: str = "gaussian",
        stem_channels: int,
        growth: int,
        dense_layers: int,
        reduce_channels: int,
        decoder_channels: int,
        decoder_blocks: int,
        upsample_channels: int,
    ):  # defaults of the widths: TrainConfig, via build_model
        super().__init__()
        self.latent_dim = latent_dim
        self.likelihood = LIKELIHOODS[likelihood]  # the decoder's p(x|z): likelihoods.Gaussian or .Bernoulli
        self.encoder = encoder_conv(stem_channels, growth, dense_layers, reduce_channels)
        # The heads are made between the encoder and the decoder, in this order, so that a seed gives the
        # same initial weights as ever (the published models were trained that way).
        self.add_latent_heads(features=reduce_channels * 49)
        self.decoder = decoder_conv(self.decoder_inputs(), decoder_channels, decoder_blocks, upsample_channels)

    def add_latent_heads(self, features: int) -> None:
        raise NotImplementedError

    def decoder_inputs(self) -> int:
        """The width of what ``decode`` feeds decoder_conv: z alone here; z and the label for a conditional kind."""
        return self.latent_dim

    def latent_heads(self) -> dict[str, nn.Linear]:
        """The Linear layers from encoder_conv's features to what ``encode`` returns, by name."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, latent_dim) -> x_hat (B, 1, 28, 28). ``y``, the labels (B,), is read by a conditional kind
        only (``traits.conditional``); every method that takes it ignores it otherwise."""
        return self.decoder(z)  # (B, 1, 28, 28)

    def term_label(self, name: str) -> str:
        """How figures name a loss term."""
        return f"reconstruction ({self.likelihood.reconstruction_units})" if name == "reconstruction" else name

    @property
    def traits(self):
        """What the package reads of this model's kind (kinds.Traits)."""
        return traits(self.kind)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The terms of its objective by name ("reconstruction", and "kl" for a kind with a posterior):
        summed over pixels (latent dimensions), averaged over the batch."""
        return {name: term.mean() for name, term in self.loss_per_image(x, y).items()}


def reparameterization_trick(
    mean: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor | None = None
) -> torch.Tensor:
    """z = mean + sigma * eps with eps ~ N(0, I): the sample stays differentiable in mean, log_var.
    ``eps`` is drawn here unless given; (S, B, D) draws give S samples per image."""
    if eps is None:
        eps = torch.randn_like(mean)
    return mean + torch.exp(0.5 * log_var) * eps


def importance_log_weights(
    mean: torch.Tensor,
    log_var: torch.Tensor,
    prior,
    log_likelihood,
    k: int,
    generator: torch.Generator | None = None,
    chunk: int = 100,
) -> torch.Tensor:
    """log p(x|z_i) p(z_i) / q(z_i|x) of k draws z_i ~ q(z|x) = N(mean, exp(log_var)), p(z) the model's
    ``prior``: (k, B).

    ``log_likelihood(z)`` maps (S, B, D) samples to log p(x|z) of shape (S, B). Draws are made ``chunk`` at a
    time (vectorised within a chunk) to bound memory, in the same order whatever k: the first k of more
    draws are these."""
    q = diagonal_normal(mean, log_var)
    log_weights = []
    for start in range(0, k, chunk):
        s = min(chunk, k - start)
        eps = torch.randn((s, *mean.shape), generator=generator, device=mean.device)  # (S, B, D)
        z = reparameterization_trick(mean, log_var, eps)
        log_weights.append(log_importance_weight(log_likelihood(z), z, q, prior))
    return torch.cat(log_weights)


def repeat_labels(y: torch.Tensor | None, k: int) -> torch.Tensor | None:
    """The labels (B,) of a batch for its k samples stacked sample-major (k * B,), as ``z.flatten(0, 1)``."""
    return None if y is None else y.repeat(k)


def training_loss(
    model: nn.Module, x: torch.Tensor, config, y: torch.Tensor | None = None
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(loss, its terms by name) of a training step on a batch x (B, 1, 28, 28) in [0, 1] with labels y (B,)
    (read by a conditional kind only), each averaged over the batch; the terms are for the log.

    The loss is the sum of the terms ``model.loss`` returns, each times its weight (``weighted_sum``): for
    the VAE reconstruction + beta * KL, the negative ELBO for beta = 1 (beta != 1 weighs the KL as in
    beta-VAE). With ``objective="iwae"`` it is the negative importance-weighted bound with ``iw_samples``
    samples (``iwae_loss``), and the terms are the ELBO's from the same samples. A Bernoulli decoder sees
    fresh binary pixels every time (dynamic binarization).
    """
    x = model.likelihood.training_pixels(x)
    if config.objective == "iwae":
        return model.iwae_loss(x, config.iw_samples, y)
    terms = model.loss(x, y)
    return weighted_sum(terms, model.terms, config), terms


def weighted_sum(terms: dict[str, torch.Tensor], weights: dict[str, str | None], config) -> torch.Tensor:
    """sum over the terms of weight * term, each weight the TrainConfig setting ``weights`` names (None: 1)."""
    loss = None
    for name, value in terms.items():
        if weights[name] is not None:
            value = getattr(config, weights[name]) * value
        loss = value if loss is None else loss + value
    return loss


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
