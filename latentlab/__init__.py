"""latentlab: convolutional AE and VAE on MNIST with 2-D and 32-D latent spaces."""

from .checkpoint import load_model
from .config import EXPERIMENTS, TrainConfig
from .models import Autoencoder, VariationalAutoencoder

__all__ = ["load_model", "TrainConfig", "EXPERIMENTS", "Autoencoder", "VariationalAutoencoder"]
