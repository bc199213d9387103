"""One run from start to finish: configuration -> trained model -> metrics.json -> figures."""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack
from pathlib import Path

import torch

from .checkpoint import MODEL_FILE, read_checkpoint
from .config import EXPERIMENTS, TrainConfig
from .data import load_splits, load_test_split, to_float
from .errors import LatentlabError
from .evaluation import bound_versus_k, evaluate
from .explorer import write_explorer
from .figures import bound_vs_k
from .files import hold_folder, write_json_atomic
from .gallery import model_name, write_gallery
from .metrics import encode_split
from .models import count_parameters
from .progress import status
from .training import check_writable, pick_device, train, trained_model

REPORTED = ("test_mse", "test_recon_sse", "test_kl", "test_elbo", "test_log_likelihood_is", "test_nll_nats",
            "knn5_accuracy", "linear_probe_accuracy", "active_units", "pca_test_mse")


def run_facts(model, state: dict) -> dict:
    """What metrics.json says about how a model was trained (the measurements come from evaluation)."""
    config = state["config"]
    return {
        "model": config["model"],
        "latent_dim": config["latent_dim"],
        "likelihood": config.get("likelihood", "gaussian"),
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
    train_split, test = load_splits(dataclasses.replace(trained_with, data_root=data_root), device)
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


def run(config: TrainConfig) -> dict:
    """Train (or reuse) the model of ``config``, evaluate it and draw its figures."""
    print("Configuration:\n" + config.to_json())
    out = Path(config.out_dir)
    pick_device(config.device)  # an unusable --device fails before anything is written
    with hold_folder(out):
        state = train(config)  # writes config.json only if it trains, and only with the finished model
        return measure(state, out, config.data_root, config.device, config.is_samples, config.is_test_images)


def evaluate_folder(folder: Path, data_root: str | None, device_name: str, k: int | None, n_test: int | None) -> dict:
    """Recompute every number of a result folder's metrics.json from its model.pt; the likelihood bound
    with ``k`` samples on ``n_test`` images, by default the run's own settings."""
    state = read_checkpoint(Path(folder) / MODEL_FILE)
    trained_with = TrainConfig.from_dict(state["config"])
    check_writable(Path(folder))
    with hold_folder(folder):
        return measure(state, folder, data_root, device_name, k=k or trained_with.is_samples,
                       n_test=n_test or trained_with.is_test_images, figures=False)


def _finished(folder: Path, data_root: str | None, device_name: str):
    """A result folder's checkpoint, its model on the device and the test split, for redrawing."""
    state = read_checkpoint(folder / MODEL_FILE)
    check_writable(folder)
    device = pick_device(device_name)
    config = dataclasses.replace(TrainConfig.from_dict(state["config"]), data_root=data_root)
    return state, trained_model(state, device), load_test_split(config, device)


def rebuild_figures(folder: Path, data_root: str | None, device_name: str = "auto") -> None:
    """Redraw every figure of a result folder, and its explorer page, from its model.pt and the test split."""
    folder = Path(folder)
    state, model, test = _finished(folder, data_root, device_name)
    with hold_folder(folder):
        draw(model, state, test, folder)


def explore(folder: Path, data_root: str | None, device_name: str = "auto", screenshot: bool = False) -> Path:
    """Write a result folder's explorer.html from its model.pt and the test split, and with
    ``screenshot`` its explorer.png: the page with the first test digit picked."""
    from . import browser

    folder = Path(folder)
    if screenshot and browser.missing():
        raise LatentlabError(f"--screenshot needs a headless browser: {browser.missing()}.")
    _, model, test = _finished(folder, data_root, device_name)
    with hold_folder(folder):
        page = write_explorer(model, test, encode_test(model, test), model_name(model), folder)
        if screenshot:
            with torch.no_grad():
                point = model.code(to_float(test.images[:1]))[0].tolist()
            two_d = model.latent_dim == 2  # a larger latent's page shows a projection: a click there would choose A
            browser.screenshot(page, folder / "explorer.png", tuple(point) if two_d else None, click=two_d)
    return page


# Published log-likelihoods (minus the NLL in nats) on dynamically binarized MNIST, for bound_vs_k.png.
PUBLISHED_LOG_LIKELIHOODS = [
    ("VAE, Burda et al. 2015", -86.76),
    ("IWAE k=50, Burda et al. 2015", -84.78),
    ("IWAE, 2 layers, Burda et al. 2015", -82.90),
    ("ResNet VAE, Kingma et al. 2016", -81.08),
]
BOUND_FILE = "bound_vs_k"


def bound_figure(folders: list[Path], ks: list[int], n_test: int, data_root: str | None, device_name: str) -> None:
    """The ELBO and the importance-sampled bound against k of each folder's VAE: bound_vs_k.json in
    each folder, and bound_vs_k.png with every folder's curve in each."""
    folders = list(dict.fromkeys(Path(folder) for folder in folders))  # a folder named twice is one curve
    runs = [(folder, *_finished(folder, data_root, device_name)) for folder in folders]  # every folder checked first
    if any(model.kind != "vae" for _, _, model, _ in runs) or len({model.likelihood for _, _, model, _ in runs}) > 1:
        raise LatentlabError("bound-vs-k compares VAEs with the same decoder: an AE has no posterior to sample, "
                             "and a Gaussian and a Bernoulli decoder measure in different units. Name result "
                             "folders of VAEs of one kind.")
    labels = []
    for folder, state, model, _ in runs:
        config = TrainConfig.from_dict(state["config"])
        trained_on = "ELBO" if config.objective == "elbo" else f"IWAE, K={config.iw_samples}"
        labels.append(f"{model_name(model)}, trained on the {trained_on}")
    # Two folders of the same kind of model would share a label, and one curve would replace the other.
    labels = [f"{label} ({folder})" if labels.count(label) > 1 else label for label, folder in zip(labels, folders)]
    curves = {}
    with ExitStack() as held:
        for folder in folders:
            held.enter_context(hold_folder(folder))
        for label, (folder, state, model, test) in zip(labels, runs):
            with status(f"{folder}: bounds for k = {', '.join(map(str, ks))} on {min(n_test, len(test)):,} images"):
                result = bound_versus_k(model, test, ks, n_test, seed=state["config"]["seed"])
            write_json_atomic(result, folder / f"{BOUND_FILE}.json")
            curves[label] = result
        bernoulli = runs[0][2].likelihood == "bernoulli"
        for folder in folders:
            bound_vs_k(curves, PUBLISHED_LOG_LIKELIHOODS if bernoulli else [],
                       "nats" if bernoulli else "nats, up to the constant 392·log π",
                       "How the importance-weighted bound tightens with k", folder / f"{BOUND_FILE}.png")
            print(f"Wrote {folder / BOUND_FILE}.png")


def reproduce(names: list[str], retrain: bool, device: str, data_root: str | None) -> None:
    """Run the named experiments with their default settings in one process, then write RESULTS.md.

    One process, not one per script: importing the libraries and starting a GPU cost
    several seconds each time, more than a GPU needs to train one of these models.
    """
    from .report import write_report

    for name in names:
        run(EXPERIMENTS[name].config(retrain=retrain, device=device, data_root=data_root))
    write_report("RESULTS.md")
