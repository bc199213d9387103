"""One run of a recipe measured, the road every caller takes: the model trained (or the finished one
reused), then metrics.json written, with the model and the data splits in hand passed on and the test split
encoded once (``train_and_measure``). A script in Models/, ``python -m latentlab train`` and ``reproduce`` go
on to draw its figures from the same hands (``workflow.run``); a study's job keeps its record
(``studies.study.run_job``); ``evaluate`` measures a finished folder again (``write_metrics``).

metrics.json holds how the model was trained and every number the evaluation gives (``evaluation.evaluate``),
on the data set it was trained on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import posterior
from .checkpoint import finished_with_recipe
from .checkpoint_file import MODEL_FILE
from .config import QUICK_BOUND_IMAGES, QUICK_TSNE_POINTS, TrainConfig
from .display import shown
from .evaluation import evaluate
from .files import write_json_atomic
from .finished import Finished, from_checkpoint
from .kept import KEPT, saved_entry
from .models import count_parameters
from .passes import Coded, losses_and_codes
from .progress import status
from .training import train


@dataclass(frozen=True)
class Measured:
    """A finished model with its metrics.json and the codes of its test split, for the figures."""

    finished: Finished
    metrics: dict
    coded: Coded  # the test split's codes and point losses, for the figures and the page


def train_and_measure(config: TrainConfig, reuse_from: Path | None = None) -> Measured:
    """Train ``config``'s model in config.out_dir, or reuse the finished one there, and write its metrics.json
    there. ``reuse_from``: a folder whose finished model is measured instead when it was trained with exactly
    this recipe (a study's job takes the experiment's committed model for the seed that made it)."""
    state = finished_with_recipe(reuse_from, config) if reuse_from is not None else None
    if state is not None:
        path = Path(reuse_from) / MODEL_FILE
        print(f"The finished {path} has this recipe: measuring it, not training")
        finished = from_checkpoint(state, config.device, config.data_root, path=path)
    else:
        finished = train(config)
    metrics, coded = write_metrics(
        finished, Path(config.out_dir), config.bound_samples, config.bound_test_images, quick=config.quick()
    )
    return Measured(finished, metrics, coded)


REPORTED = (
    "test_mse",
    "test_recon_sse",
    "test_kl",
    "test_elbo",
    "test_log_likelihood_is",
    "test_nll_nats",
    "knn5_accuracy",
    "linear_probe_accuracy",
    "active_units",
    "pca_test_mse",
    "label_accuracy_prior",
    "label_accuracy_test_codes",
)
# What a seed's record keeps besides: a conditional model's label check class by class, and its classifier's accuracy.
RECORDED = (
    *REPORTED,
    "label_accuracy_prior_per_class",
    "label_accuracy_test_codes_per_class",
    "label_classifier_test_accuracy",
)


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


def write_metrics(finished: Finished, folder: Path, k: int, n_test: int, quick: bool = False) -> tuple[dict, Coded]:
    """Evaluate a finished model and write metrics.json into ``folder``; returns the metrics and the test
    split's codes and point losses, for the figures and the page: the test split is encoded once. ``quick``: the bound on
    at most QUICK_BOUND_IMAGES test images, said on screen and in metrics.json."""
    model, state, trained_with = finished.model, finished.state, finished.config
    train_split, test = finished.train, finished.test
    if quick and model.traits.likelihood_bound and n_test > QUICK_BOUND_IMAGES:
        print(
            f"Quick evaluation: the likelihood bound averages over {QUICK_BOUND_IMAGES} test images, not "
            f"{n_test:,} (--evaluation full for all of them)."
        )
        n_test = QUICK_BOUND_IMAGES
    # The posterior command's summary (issue 41), kept while model.pt is: read before minutes of evaluation, so
    # that a damaged posterior_gaps.json is refused before them.
    carried = posterior.saved_summary(folder)
    metrics = run_facts(model, state)
    with status(f"test losses and codes of the {len(test):,} test images"):
        measured, coded = losses_and_codes(model, test, seed=trained_with.seed)
    metrics.update(
        evaluate(model, trained_with, train_split, test, k=k, n_test=n_test, measured=measured, test_codes=coded.codes)
    )
    if quick:  # absent from a full evaluation's file, so that published metrics.json files keep their bytes
        metrics["evaluation"] = (
            f"quick: bound on at most {QUICK_BOUND_IMAGES} test images, t-SNE of at most {QUICK_TSNE_POINTS} codes"
        )
    metrics["config"], metrics["history"] = state["config"], state["history"]
    if carried is not None:
        metrics[posterior.METRICS_KEY] = carried
    for key in KEPT:  # the surgery's split and a conditional model's log p(x) (issue 48), kept on the same terms
        kept = saved_entry(folder, key)
        if kept is not None:
            metrics[key] = kept
    write_json_atomic(metrics, Path(folder) / "metrics.json")
    print(f"{shown(folder)}: " + ", ".join(f"{key} {metrics[key]:.5g}" for key in REPORTED if key in metrics))
    print(shown(class_balance_line(metrics)))  # class names from the user's folders
    return metrics, coded


ACCURACIES = (
    ("5-NN", "knn5"),
    ("linear probe", "linear_probe"),
    ("PCA 5-NN", "pca_knn5"),
    ("PCA linear probe", "pca_linear_probe"),
)


def class_balance_line(metrics: dict) -> str:
    """Each accuracy with its balanced accuracy, the majority-class rate, and the images per class: what an
    accuracy must be read against when the classes are unequal."""
    accuracies = ", ".join(
        f"{name} {metrics[f'{key}_accuracy']:.3f} (balanced {metrics[f'{key}_balanced_accuracy']:.3f})"
        for name, key in ACCURACIES
        if f"{key}_balanced_accuracy" in metrics
    )
    counts = "; ".join(
        f"{split} " + ", ".join(f"{name} {count}" for name, count in per_class.items())
        for split, per_class in metrics["images_per_class"].items()
    )
    return (
        f"Accuracy: {accuracies}; majority-class rate {metrics['majority_class_rate']:.3f} (answering the "
        f"largest training class every time). Images per class: {counts}."
    )
