"""The convolutional Autoencoder and Variational Autoencoder of the reference design.

Encoder (``encoder_conv``):
    ConvolutionalBlock -> MaxPool2d -> DenseBlock -> Conv2d 1x1 -> MaxPool2d -> flatten
Decoder (``decoder_conv``):
    Linear -> unflatten -> TransposeConvolutionalBlock x 2 -> ConvTranspose2d -> Sigmoid

Shapes for the default widths (B images, c = ``channels``):
    x (B, 1, 28, 28) -> conv (B, c, 28, 28) -> pool (B, c, 14, 14)
    -> dense (B, c + n*g, 14, 14) -> 1x1 (B, c, 14, 14) -> pool (B, c, 7, 7)
    -> flatten (B, c*49) -> Linear -> z (B, latent_dim)
    z -> Linear, unflatten (B, c, 7, 7) -> block (B, c, 7, 7) -> block (B, c, 14, 14)
    -> ConvTranspose2d (B, 1, 28, 28) -> Sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn


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


def encoder_conv(channels: int, growth: int, dense_layers: int) -> nn.Sequential:
    """Image (B, 1, 28, 28) -> feature vector (B, channels * 7 * 7)."""
    dense = DenseBlock(channels, growth, dense_layers)
    return nn.Sequential(
        ConvolutionalBlock(1, channels),  # (B, c, 28, 28)
        nn.MaxPool2d(2),  # (B, c, 14, 14)
        dense,  # (B, c + layers * growth, 14, 14)
        nn.Conv2d(dense.out_channels, channels, kernel_size=1),  # (B, c, 14, 14)
        nn.MaxPool2d(2),  # (B, c, 7, 7): the Linear layers after it stay small
        nn.Flatten(),  # (B, c * 49)
    )


def decoder_conv(latent_dim: int, channels: int) -> nn.Sequential:
    """Latent vector (B, latent_dim) -> image (B, 1, 28, 28) with pixels in (0, 1)."""
    return nn.Sequential(
        nn.Linear(latent_dim, channels * 7 * 7),
        nn.Unflatten(1, (channels, 7, 7)),
        # A first block at 7x7 (stride 1) puts a nonlinearity between the Linear layer and
        # the upsampling: with one block only, a 2-D code reached the pixels through a
        # single ReLU, and the 2-D VAE lost about 3 nats of ELBO to it.
        TransposeConvolutionalBlock(channels, channels, stride=1),  # (B, c, 7, 7)
        TransposeConvolutionalBlock(channels, channels),  # (B, c, 14, 14)
        nn.ConvTranspose2d(channels, 1, kernel_size=4, stride=2, padding=1),  # (B, 1, 28, 28)
        nn.Sigmoid(),
    )


class Autoencoder(nn.Module):
    """Deterministic autoencoder: x -> z -> x_hat."""

    kind = "ae"
    likelihood = "gaussian"  # build_model sets it from the configuration

    def __init__(self, latent_dim: int, channels: int = 32, growth: int = 16, dense_layers: int = 2):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = encoder_conv(channels, growth, dense_layers)
        self.to_latent = nn.Linear(channels * 49, latent_dim)
        self.decoder = decoder_conv(latent_dim, channels)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_latent(self.encoder(x))  # (B, latent_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class VariationalAutoencoder(nn.Module):
    """VAE with a diagonal Gaussian posterior q(z|x) = N(mean, exp(log_var)) and prior N(0, I)."""

    kind = "vae"
    likelihood = "gaussian"

    def __init__(self, latent_dim: int, channels: int = 32, growth: int = 16, dense_layers: int = 2):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = encoder_conv(channels, growth, dense_layers)
        self.mean = nn.Linear(channels * 49, latent_dim)
        self.log_var = nn.Linear(channels * 49, latent_dim)
        self.decoder = decoder_conv(latent_dim, channels)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)  # (B, channels * 49)
        return self.mean(h), self.log_var(h)  # (B, latent_dim) each

    @staticmethod
    def reparameterization_trick(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """z = mean + sigma * eps with eps ~ N(0, I): the sample stays differentiable in mean, log_var."""
        eps = torch.randn_like(mean)
        return mean + torch.exp(0.5 * log_var) * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_var = self.encode(x)
        z = self.reparameterization_trick(mean, log_var)
        return self.decode(z), mean, log_var


MODELS = {"ae": Autoencoder, "vae": VariationalAutoencoder}


def build_model(config) -> nn.Module:
    """The model a TrainConfig describes. ``likelihood`` names the decoder distribution
    p(x|z) whose parameters x_hat are: Gaussian means or Bernoulli probabilities."""
    model = MODELS[config.model](config.latent_dim, channels=config.channels, growth=config.growth,
                                 dense_layers=config.dense_layers)
    model.likelihood = config.likelihood
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
