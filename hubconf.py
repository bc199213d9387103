"""The trained models of this repository through torch.hub, one entry per result folder:

    import torch
    model = torch.hub.load("OWNER/REPOSITORY", "vae_2d")        # from the hosted repository
    model = torch.hub.load("path/to/clone", "vae_2d", source="local")   # from a clone, offline
    mean, log_var = model.encode(x)   # x: (B, 1, 28, 28) in [0, 1]
    x_hat = model.decode(z)           # z: (B, latent_dim)
    z = model.code(x)                 # the point code: the AE's z, the VAE's posterior mean
    x_hat = model.decode(z, y)        # the conditional VAE (cvae_2d) is given the labels y (B,) as well:
    mean, log_var = model.encode(x, y)  # encode(x, y), decode(z, y), code(x, y)

Each entry returns the committed model.pt in eval mode, loaded weights-only; its docstring says what
it is and gives its headline numbers, read from its folder's metrics.json, so they are always the
committed ones. Reading the entries and their docstrings:

    torch.hub.list("OWNER/REPOSITORY")                 # hosted only: torch.hub.list and torch.hub.help
    print(torch.hub.help("OWNER/REPOSITORY", "vae_2d"))  # read GitHub, never a folder on disk
    python -m pydoc hubconf                            # from a clone, offline: run in its root folder
    import hubconf; help(hubconf.vae_2d)               # the same in Python started in the clone's root
"""

# Imported under private names: torch.hub.list lists every public callable of this file as an entry.
import json as _json
from pathlib import Path as _Path

from latentlab.experiments import EXPERIMENTS as _EXPERIMENTS  # torch.hub puts this folder on the path
from latentlab.publish.names import experiment_label as _experiment_label

dependencies = ["torch", "numpy"]

_ROOT = _Path(__file__).resolve().parent
_HEADLINE = (
    ("test_mse", "test MSE per pixel", 4),
    ("test_elbo", "test ELBO", 2),
    ("test_nll_nats", "test NLL (nats)", 2),
    ("knn5_accuracy", "5-NN accuracy of the codes", 3),
)


def _headline(folder: _Path) -> str:
    metrics = _json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    numbers = [f"{name} {metrics[key]:.{digits}f}" for key, name, digits in _HEADLINE if metrics.get(key) is not None]
    return (
        f"{metrics['parameters']:,} parameters, {metrics['epochs']} epochs; on the 10,000 test images: "
        + ", ".join(numbers)
        + "."
    )


def _entry(experiment, name: str):
    folder = _ROOT / experiment.out_dir

    def load(device: str = "cpu"):
        from latentlab import load_model

        return load_model(folder / "model.pt", device)

    load.__name__ = name
    load.__doc__ = (
        f"{_experiment_label(experiment)}: the committed model of the experiment {experiment.name}.\n\n"
        f"{_headline(folder)}\nResult folder: {experiment.out_dir}/. "
        "Returns the model in eval mode; ``device`` places it (default cpu)."
    )
    return load


# One entry per experiment of the registry whose trained model is committed: ae_2d, vae_2d, cvae_2d, ae_32d,
# vae_32d, vae_32d_bernoulli, vae_32d_bernoulli_iwae5, vae_2d_fashion_mnist.
for _experiment in _EXPERIMENTS.values():
    if (_ROOT / _experiment.out_dir / "model.pt").is_file():
        _name = _experiment.name.replace("-", "_")
        globals()[_name] = _entry(_experiment, _name)
