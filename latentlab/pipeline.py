"""One run from start to finish: configuration -> trained model -> metrics.json -> figures.

It knows nothing of other runs: the commands on finished folders and on all experiments
(``commands``), the cross-run documents (``report``, ``site``) and the seed study (``seeds``) sit
above it.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from pathlib import Path

from .config import TrainConfig
from .data import load_splits
from .evaluation import evaluate
from .explorer import write_explorer
from .files import hold_folder, write_json_atomic
from .gallery import model_name, write_gallery
from .metrics import encode_split
from .models import count_parameters
from .progress import status
from .checkpoint import trained_model
from .devices import pick_device
from .training import train

REPORTED = ("test_mse", "test_recon_sse", "test_kl", "test_elbo", "test_log_likelihood_is", "test_nll_nats",
            "knn5_accuracy", "linear_probe_accuracy", "active_units", "pca_test_mse")


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


def measure(state: dict, folder: Path, data_root: str | None, device_name: str, k: int, n_test: int,
            figures: bool = True) -> dict:
    """Evaluate a finished checkpoint, write metrics.json (and the figures) into ``folder``."""
    trained_with = TrainConfig.from_dict(state["config"])
    device = pick_device(device_name)
    model = trained_model(state, device)
    train_split, test = load_splits(dataclasses.replace(trained_with, data_root=data_root), device, model.likelihood)
    metrics = run_facts(model, state)
    metrics.update(evaluate(model, trained_with, train_split, test, k=k, n_test=n_test))
    metrics["config"], metrics["history"] = state["config"], state["history"]
    write_json_atomic(metrics, Path(folder) / "metrics.json")
    print(f"{folder}: " + ", ".join(f"{key} {metrics[key]:.5g}" for key in REPORTED if key in metrics))
    if figures:
        draw(model, state, test, Path(folder))
    return metrics


def draw(model, state: dict, test, folder: Path) -> None:
    """Every figure and GIF of a result folder, and its explorer page, from one encoding of the test split."""
    encoded = encode_test(model, test)
    write_gallery(model, state, test, encoded, folder)
    write_explorer(model, test, encoded, model_name(model), folder)


def encode_test(model, test):
    """``encode_split`` of the test split in eval mode, with a status line: (N, latent_dim) on the CPU."""
    model.eval()
    with status("encoding the test split"):
        return encode_split(model, test)


@contextmanager
def result_folder(config: TrainConfig):
    """Print the configuration, refuse an unusable --device before anything is written, and hold the
    result folder for this run alone."""
    print("Configuration:\n" + config.to_json())
    pick_device(config.device)
    with hold_folder(config.out_dir):
        yield


def evaluate_and_draw(state: dict, config: TrainConfig) -> dict:
    """metrics.json, every figure and GIF, and explorer.html of a finished checkpoint, in ``config.out_dir``."""
    return measure(state, Path(config.out_dir), config.data_root, config.device, config.bound_samples,
                   config.bound_test_images)


def run(config: TrainConfig) -> dict:
    """What each script does: train (or reuse) the model of ``config``, evaluate it and draw its figures."""
    with result_folder(config):
        state = train(config)  # writes config.json only if it trains, and only with the finished model
        return evaluate_and_draw(state, config)
