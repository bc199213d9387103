"""The trained models of this repository through torch.hub, one entry per result folder:

    import torch
    model = torch.hub.load("OWNER/REPOSITORY", "vae_2d")        # from the hosted repository
    model = torch.hub.load("path/to/clone", "vae_2d", source="local")   # from a clone, offline
    mean, log_var = model.encode(x)   # x: (B, 1, 28, 28) in [0, 1]
    x_hat = model.decode(z)           # z: (B, latent_dim)
    z = model.code(x)                 # the point code: the AE's z, the VAE's posterior mean

Each entry returns the committed model.pt in eval mode, loaded weights-only; its docstring
(``torch.hub.help``) says what it is and gives its headline numbers, read from its folder's
metrics.json, so they are always the committed ones.
"""

# Imported under private names: torch.hub.list lists every public callable of this file as an entry.
import json as _json
from pathlib import Path as _Path

dependencies = ["torch", "numpy"]

ROOT = _Path(__file__).resolve().parent
VAE = ROOT / "Kết_quả_huấn_luyện_Variational_Autoecoder"
AE = ROOT / "Kết_quả_huấn_luyện_Autoencoder"
FOLDERS = {  # entry -> (result folder, what it is)
    "ae_2d": (AE / "2D_latent_AE", "The convolutional AE with a 2-D latent space, trained on grey MNIST."),
    "vae_2d": (VAE / "2D_latent_VAE", "The convolutional VAE with a 2-D latent space, trained on grey MNIST."),
    "ae_32d": (AE / "32D_latent_AE", "The convolutional AE with a 32-D latent space, trained on grey MNIST."),
    "vae_32d": (VAE / "32D_latent_VAE", "The convolutional VAE with a 32-D latent space, trained on grey MNIST."),
    "vae_32d_bernoulli": (VAE / "32D_latent_VAE_bernoulli",
                          "The 32-D VAE with a Bernoulli decoder, trained on dynamically binarized MNIST (NLL in nats)."),
    "vae_32d_bernoulli_iwae5": (VAE / "32D_latent_VAE_bernoulli_iwae5",
                                "The wider 32-D Bernoulli VAE trained on the IWAE bound with K = 5 samples."),
    "vae_2d_fashion_mnist": (VAE / "2D_latent_VAE_fashion_mnist",
                             "The 2-D VAE's recipe trained on Fashion-MNIST."),
}
HEADLINE = (("test_mse", "test MSE per pixel", 4), ("test_elbo", "test ELBO", 2), ("test_nll_nats", "test NLL (nats)", 2),
            ("knn5_accuracy", "5-NN accuracy of the codes", 3))


def _headline(folder: _Path) -> str:
    path = folder / "metrics.json"
    if not path.is_file():
        return "Its metrics.json is not in this copy."
    metrics = _json.loads(path.read_text(encoding="utf-8"))
    numbers = [f"{name} {metrics[key]:.{digits}f}" for key, name, digits in HEADLINE if metrics.get(key) is not None]
    return (f"{metrics['parameters']:,} parameters, {metrics['epochs']} epochs; on the 10,000 test images: "
            + ", ".join(numbers) + ".")


def _entry(name: str):
    folder, what = FOLDERS[name]

    def load(device: str = "cpu"):
        from latentlab import load_model

        return load_model(folder / "model.pt", device)

    load.__name__ = name
    load.__doc__ = (f"{what}\n\n{_headline(folder)}\nResult folder: {folder.relative_to(ROOT)}/. "
                    "Returns the model in eval mode; ``device`` places it (default cpu).")
    return load


for _name in FOLDERS:
    globals()[_name] = _entry(_name)
