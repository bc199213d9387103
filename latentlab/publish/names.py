"""How models are named where readers see them: tables "VAE, 32-D, Bernoulli decoder (binarized MNIST)",
figure titles "VAE, 2-D latent, Bernoulli decoder"; either with ", IWAE K=5" for a model trained on that bound."""

from __future__ import annotations

from pathlib import Path

from ..core.config import DATASET_TITLES
from ..core.kinds import title


def model_label(kind: str, latent_dim: int, likelihood: str, dataset: str | None = "mnist") -> str:
    """How a model is named: in tables "VAE, 32-D, Bernoulli decoder (binarized MNIST)" or "VAE, 2-D,
    Fashion-MNIST"; in figure titles (``dataset=None``: the legend names the classes) "VAE, 2-D latent,
    Bernoulli decoder"."""
    if dataset is None:
        decoder = ", Bernoulli decoder" if likelihood == "bernoulli" else ""
        return f"{title(kind)}, {latent_dim}-D latent{decoder}"
    decoder = ", Bernoulli decoder (binarized MNIST)" if likelihood == "bernoulli" else ""
    data = "" if dataset == "mnist" else f", {DATASET_TITLES.get(dataset, dataset)}"
    return f"{title(kind)}, {latent_dim}-D{decoder}{data}"


def objective_label(config) -> str:
    """What a name adds for a model trained on another objective than the ELBO: ", IWAE K=5" for the IWAE bound,
    ", β=4" for a KL weighted by beta (as ``TrainConfig.name`` does); "" for the ELBO."""
    bound = "" if config.objective == "elbo" else f", {config.objective.upper()} K={config.iw_samples}"
    return bound + ("" if config.beta == 1 else f", β={config.beta:g}")


def experiment_label(experiment) -> str:
    """How tables name an experiment: "VAE, 2-D", "VAE, 32-D, Bernoulli decoder (binarized MNIST)", "VAE, 2-D,
    Fashion-MNIST"; a model trained on the IWAE bound adds ", IWAE K=5"."""
    config = experiment.config()
    return model_label(config.model, config.latent_dim, config.likelihood, config.dataset) + objective_label(config)


def figure_name(config) -> str:
    """How figure titles and explorer pages name a run's model: "VAE, 2-D latent", "VAE, 2-D latent, IWAE K=5",
    so that two models of one kind trained on different objectives are told apart in their pictures too."""
    return model_label(config.model, config.latent_dim, config.likelihood, dataset=None) + objective_label(config)


def dataset_name(dataset: str) -> str:
    """ "MNIST", "Fashion-MNIST", or an image folder's own name (its path says where it was on one machine)."""
    return DATASET_TITLES.get(dataset) or Path(dataset).name


def run_label(experiment, changes: dict) -> str:
    """How tables name the run a result folder holds: its experiment's label, or, where the run changed the
    experiment's recipe (``records.recipe_changes``), what it holds: "AE, 32-D, retrained in this folder with
    dataset mine, epochs 3 (not this experiment's recipe)"."""
    if not changes:
        return experiment_label(experiment)
    changed = ", ".join(f"{key} {dataset_name(value) if key == 'dataset' else value}" for key, value in changes.items())
    config = experiment.config()
    model, latent_dim = changes.get("model", config.model), changes.get("latent_dim", config.latent_dim)
    return f"{title(model)}, {latent_dim}-D, retrained in this folder with {changed} (not this experiment's recipe)"
