"""latentlab: convolutional AE and VAE on MNIST with 2-D and 32-D latent spaces."""

from .core.config import TrainConfig
from .experiments import EXPERIMENTS

__all__ = ["load_model", "load_config", "TrainConfig", "EXPERIMENTS", "Autoencoder", "VariationalAutoencoder"]


def __getattr__(name: str):
    # The torch-backed names load on first use, so that the scripts answer --help and
    # reject a bad flag at once instead of after importing torch (seconds).
    if name in ("load_model", "load_config"):
        from .core import finished

        return getattr(finished, name)
    if name in ("Autoencoder", "VariationalAutoencoder"):
        from .core.kinds import ae, vae

        return getattr(ae if name == "Autoencoder" else vae, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
