"""metrics.json of a finished checkpoint: how the model was trained and every number the evaluation gives
(``evaluation.evaluate``), on the data set it was trained on. What the scripts, ``evaluate`` and the seed
study's jobs write alike; the figures are drawn elsewhere (``workflow.draw``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from .config import QUICK_BOUND_IMAGES, QUICK_TSNE_POINTS, TrainConfig
from .data import DATASETS, DeviceSplit, load_splits
from .devices import pick_device
from .errors import LatentlabError
from .evaluation import evaluate
from .files import write_json_atomic
from . import posterior
from .metrics import losses_and_codes
from .models import count_parameters
from .progress import status
from .trained import trained_model

REPORTED = ("test_mse", "test_recon_sse", "test_kl", "test_elbo", "test_log_likelihood_is", "test_nll_nats",
            "knn5_accuracy", "linear_probe_accuracy", "active_units", "pca_test_mse", "label_accuracy_prior",
            "label_accuracy_test_codes")
# What a seed's record keeps besides: a conditional model's label check class by class, and its classifier's accuracy.
RECORDED = (*REPORTED, "label_accuracy_prior_per_class", "label_accuracy_test_codes_per_class",
            "label_classifier_test_accuracy")


def run_facts(model, state: dict) -> dict:
    """What metrics.json says about how a model was trained (the measurements come from evaluation)."""
    config = state["config"]
    return {
        "model": config["model"],
        "latent_dim": config["latent_dim"],
        "likelihood": config.get("likelihood", "gaussian"),
        "dataset": config.get("dataset", "mnist"),
        "epochs": state["epoch"],
        "seed": config["seed"],
        "device": state["device"],
        "train_seconds": round(state["train_seconds"], 1),
        "parameters": count_parameters(model),
    }


def write_metrics(state: dict, folder: Path, data_root: str | None, device_name: str, k: int, n_test: int,
                  quick: bool = False, dataset: str | None = None
                  ) -> tuple[dict, torch.nn.Module, DeviceSplit, torch.Tensor]:
    """Evaluate a finished checkpoint and write metrics.json into ``folder``; returns the metrics, the model,
    the test split and its codes (N, latent_dim), for the figures: the test split is encoded once. ``quick``:
    the bound on at most QUICK_BOUND_IMAGES test images, said on screen and in metrics.json. ``dataset``: where
    an image folder the model was trained on lives now (``trained_on``)."""
    trained_with = trained_on(TrainConfig.from_dict(state["config"]), data_root, dataset)
    device = pick_device(device_name)
    model = trained_model(state, device)
    train_split, test = load_splits(trained_with, device, model.likelihood)
    if quick and model.traits.posterior and n_test > QUICK_BOUND_IMAGES:
        print(f"Quick evaluation: the likelihood bound averages over {QUICK_BOUND_IMAGES} test images, not "
              f"{n_test:,} (--evaluation full for all of them).")
        n_test = QUICK_BOUND_IMAGES
    metrics = run_facts(model, state)
    with status(f"test losses and codes of the {len(test):,} test images"):
        measured, test_codes = losses_and_codes(model, test, seed=trained_with.seed)
    metrics.update(evaluate(model, trained_with, train_split, test, k=k, n_test=n_test, measured=measured,
                            test_codes=test_codes))
    if quick:  # absent from a full evaluation's file, so that published metrics.json files keep their bytes
        metrics["evaluation"] = (f"quick: bound on at most {QUICK_BOUND_IMAGES} test images, t-SNE of at most "
                                 f"{QUICK_TSNE_POINTS} codes")
    metrics["config"], metrics["history"] = state["config"], state["history"]
    carried = posterior.saved_summary(folder)  # the posterior command's summary (issue 41), kept while model.pt is
    if carried is not None:
        metrics[posterior.METRICS_KEY] = carried
    write_json_atomic(metrics, Path(folder) / "metrics.json")
    print(f"{folder}: " + ", ".join(f"{key} {metrics[key]:.5g}" for key in REPORTED if key in metrics))
    print(class_balance_line(metrics))
    return metrics, model, test, test_codes


ACCURACIES = (("5-NN", "knn5"), ("linear probe", "linear_probe"), ("PCA 5-NN", "pca_knn5"),
              ("PCA linear probe", "pca_linear_probe"))


def class_balance_line(metrics: dict) -> str:
    """Each accuracy with its balanced accuracy, the majority-class rate, and the images per class: what an
    accuracy must be read against when the classes are unequal."""
    accuracies = ", ".join(f"{name} {metrics[f'{key}_accuracy']:.3f} (balanced {metrics[f'{key}_balanced_accuracy']:.3f})"
                           for name, key in ACCURACIES if f"{key}_balanced_accuracy" in metrics)
    counts = "; ".join(f"{split} " + ", ".join(f"{name} {count}" for name, count in per_class.items())
                       for split, per_class in metrics["images_per_class"].items())
    return (f"Accuracy: {accuracies}; majority-class rate {metrics['majority_class_rate']:.3f} (answering the "
            f"largest training class every time). Images per class: {counts}.")


def trained_on(config: TrainConfig, data_root: str | None, dataset: str | None = None) -> TrainConfig:
    """The configuration a finished model was trained with, reading its data from ``data_root`` (when None,
    from the data root it was trained with if that folder is still there, else as a run would: $MNIST_ROOT,
    else data/), and for a model of an image folder from ``dataset`` if given (the folder moved): never
    another data set."""
    if data_root is None and config.data_root is not None and Path(config.data_root).is_dir():
        data_root = config.data_root
    if dataset is not None and dataset != config.dataset:
        if config.dataset in DATASETS or dataset in DATASETS:
            raise LatentlabError(f"This model was trained on {config.dataset}; it is evaluated and drawn on that "
                                 f"data set only, not on {dataset}. --dataset here only says where a moved image "
                                 "folder now lives.")
        return dataclasses.replace(config, data_root=data_root, dataset=dataset)
    return dataclasses.replace(config, data_root=data_root)
