"""One run from start to finish: configuration -> trained model -> metrics.json -> figures.

It knows nothing of other runs: the commands on finished folders and on all experiments
(``commands``), the cross-run documents (``report``, ``site``) and the seed study (``seeds``) sit
above it.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from pathlib import Path

from .core.config import QUICK_BOUND_IMAGES, QUICK_TSNE_POINTS, TrainConfig
from .core.data import DATASETS, load_splits
from .core.evaluation import evaluate
from .publish.explorer import write_explorer
from .core.files import hold_folder, write_json_atomic
from .core.errors import LatentlabError
from .publish.gallery import TSNE_POINTS, model_name, write_gallery
from .core.metrics import encode_split
from .core.models import count_parameters
from .core.progress import status
from .core.trained import trained_model
from .core.devices import pick_device
from .core.training import train

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
            figures: bool = True, quick: bool = False, dataset: str | None = None) -> dict:
    """Evaluate a finished checkpoint, write metrics.json (and the figures) into ``folder``. ``quick``: the
    bound on at most QUICK_BOUND_IMAGES test images, said on screen and in metrics.json. ``dataset``: where
    an image folder the model was trained on lives now (``trained_on``)."""
    trained_with = trained_on(TrainConfig.from_dict(state["config"]), data_root, dataset)
    device = pick_device(device_name)
    model = trained_model(state, device)
    train_split, test = load_splits(trained_with, device, model.likelihood)
    if quick and model.kind == "vae" and n_test > QUICK_BOUND_IMAGES:
        print(f"Quick evaluation: the likelihood bound averages over {QUICK_BOUND_IMAGES} test images, not "
              f"{n_test:,} (--evaluation full for all of them).")
        n_test = QUICK_BOUND_IMAGES
    metrics = run_facts(model, state)
    metrics.update(evaluate(model, trained_with, train_split, test, k=k, n_test=n_test))
    if quick:  # absent from a full evaluation's file, so that published metrics.json files keep their bytes
        metrics["evaluation"] = (f"quick: bound on at most {QUICK_BOUND_IMAGES} test images, t-SNE of at most "
                                 f"{QUICK_TSNE_POINTS} codes")
    metrics["config"], metrics["history"] = state["config"], state["history"]
    write_json_atomic(metrics, Path(folder) / "metrics.json")
    print(f"{folder}: " + ", ".join(f"{key} {metrics[key]:.5g}" for key in REPORTED if key in metrics))
    if figures:
        draw(model, state, test, Path(folder), quick)
    return metrics


def trained_on(config: TrainConfig, data_root: str | None, dataset: str | None = None) -> TrainConfig:
    """The configuration a finished model was trained with, reading its data from ``data_root``, and for a
    model of an image folder from ``dataset`` if given (the folder moved): never another data set."""
    if dataset is not None and dataset != config.dataset:
        if config.dataset in DATASETS or dataset in DATASETS:
            raise LatentlabError(f"This model was trained on {config.dataset}; it is evaluated and drawn on that "
                                 f"data set only, not on {dataset}. --dataset here only says where a moved image "
                                 "folder now lives.")
        return dataclasses.replace(config, data_root=data_root, dataset=dataset)
    return dataclasses.replace(config, data_root=data_root)


def draw(model, state: dict, test, folder: Path, quick: bool = False) -> None:
    """Every figure and GIF of a result folder, and its explorer page, from one encoding of the test split."""
    encoded = encode_test(model, test)
    write_gallery(model, state, test, encoded, folder, tsne_points=QUICK_TSNE_POINTS if quick else TSNE_POINTS)
    write_explorer(model, test, encoded, model_name(model), folder)


def encode_test(model, test):
    """``encode_split`` of the test split in eval mode, with a status line: (N, latent_dim) on the CPU."""
    model.eval()
    with status("encoding the test split"):
        return encode_split(model, test)


@contextmanager
def result_folder(config: TrainConfig):
    """Print the configuration, refuse an unusable --device before anything is written, and hold the
    result folder for this run alone. A run that fails removes the folders it made, if they are empty."""
    print("Configuration:\n" + config.to_json())
    pick_device(config.device)
    made = _first_missing(Path(config.out_dir))
    try:
        with hold_folder(config.out_dir):
            yield
    except BaseException:
        if made is not None:
            _remove_empty(Path(config.out_dir), made)
        raise


def _first_missing(folder: Path) -> Path | None:
    """The outermost folder of ``folder``'s path that does not exist yet (the first a run would make)."""
    missing = None
    for path in (folder, *folder.parents):
        if path.exists():
            break
        missing = path
    return missing


def _remove_empty(folder: Path, up_to: Path) -> None:
    """Remove ``folder`` and its parents up to ``up_to`` as long as each is empty."""
    for path in (folder, *folder.parents):
        try:
            path.rmdir()  # only an empty folder goes
        except OSError:
            return
        if path == up_to:
            return


def evaluate_and_draw(state: dict, config: TrainConfig) -> dict:
    """metrics.json, every figure and GIF, and explorer.html of a finished checkpoint, in ``config.out_dir``."""
    return measure(state, Path(config.out_dir), config.data_root, config.device, config.bound_samples,
                   config.bound_test_images, quick=config.quick())


def run(config: TrainConfig) -> dict:
    """What each script does: train (or reuse) the model of ``config``, evaluate it and draw its figures."""
    with result_folder(config):
        state = train(config)  # writes config.json only if it trains, and only with the finished model
        return evaluate_and_draw(state, config)
