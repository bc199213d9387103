"""RESULTS.md's section on a conditional model (``traits.conditional``, the CVAE): its numbers beside those
of the unconditional model of the same recipe, how much class is left in its codes, and whether it writes
the label it is given, each as mean ± sd over the seeds recorded in its seeds.json."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

from ..core.conditioning import CODED_IMAGES, PRIOR_DRAWS
from ..core.kept import LOG_PX_KEY, saved_entry
from ..core.kinds import traits
from ..core.posterior import saved_summary
from ..core.recorded import read_json
from ..experiments import EXPERIMENTS
from ..studies.records import default_runs, recipe_changes
from .folder_labels import folder_label
from .tables import markdown_table, markdown_text, plus_minus, spread

ROWS = (
    ("test ELBO", "test_elbo", 2),
    ("importance-sampled bound", "test_log_likelihood_is", 2),
    ("test MSE", "test_mse", 4),
    ("5-NN accuracy of the codes", "knn5_accuracy", 3),
    ("linear-probe accuracy of the codes", "linear_probe_accuracy", 3),
    ("label read back: prior draws written as every label", "label_accuracy_prior", 3),
    ("label read back: test codes written as every label", "label_accuracy_test_codes", 3),
)


def unconditional_twin(experiment):
    """The experiment of the same recipe but for a model kind that is not given the label, if there is one."""
    recipe = {k: v for k, v in experiment.config().recipe().items() if k != "model"}
    for other in EXPERIMENTS.values():
        config = other.config()
        if (
            not traits(config.model).conditional
            and {k: v for k, v in config.recipe().items() if k != "model"} == recipe
        ):
            return other
    return None


def _value(runs: list[dict], metrics: dict, key: str, digits: int) -> str:
    """mean ± sd over the seeds (n), or the one committed model's number where fewer than two are recorded."""
    spread = plus_minus(runs, key, digits)
    if spread is not None:
        return f"{spread} (n={sum(run.get(key) is not None for run in runs)})"
    return "–" if metrics.get(key) is None else f"{metrics[key]:.{digits}f}"


def _mean(runs: list[dict], metrics: dict, key: str) -> float | None:
    """The mean over the recorded seeds, or the committed model's number where fewer than two are recorded."""
    found = spread(runs, key)
    return found[0] if found else metrics.get(key)


def _per_class(runs: list[dict], metrics: dict, key: str) -> dict[str, str]:
    """Each class's rate as mean ± sd over the seeds that recorded it (else the committed model's)."""
    recorded = [run for run in runs if key in run]
    if len(recorded) < 2:
        return {name: f"{rate:.3f}" for name, rate in metrics.get(key, {}).items()}
    return {name: plus_minus([{"rate": run[key][name]} for run in recorded], "rate", 3) for name in recorded[0][key]}


def _class_left(mean, twin_mean, classes: int) -> str:
    """What the probes say of the class information left in a conditional model's codes, in numbers: ``mean``
    and ``twin_mean`` give a metric's mean over the seeds of the model and of its unconditional twin."""
    chance = 1 / classes
    text = (
        f"Chance is 1/{classes}. A code that held style only would let the 5-NN and the linear probe do no "
        "better than chance; what they score above it is class information the encoder still puts in z (it "
        "sees the label, but nothing stops it from also coding the class). Its codes score "
        f"{mean('knn5_accuracy'):.3f} (5-NN) and {mean('linear_probe_accuracy'):.3f} (linear probe), means "
        "over the seeds"
    )
    if twin_mean("knn5_accuracy") is None:
        return text + "."
    kept = (mean("knn5_accuracy") - chance) / (twin_mean("knn5_accuracy") - chance)
    return (
        text + f"; the unconditional model's {twin_mean('knn5_accuracy'):.3f} and "
        f"{twin_mean('linear_probe_accuracy'):.3f}: given the label, z keeps {100 * kept:.0f} % of the 5-NN's "
        "accuracy above chance."
    )


def _comparison(difference: float, classes: int, exact: tuple[dict, float] | None) -> str:
    """What a bound of log p(x|y) minus a bound of log p(x) does and does not say; with ``exact`` (the conditional
    model's metrics.json "log_px_quadrature", and its twin's log p(x) on the same test images), what the two
    log-likelihoods themselves say."""
    label = math.log(classes)
    text = (
        "**What the comparison means.** log p(x|y) = log p(x) + log p(y|x) − log p(y). Where the image all "
        f"but fixes its label (p(y|x) ≈ 1) and the {classes} classes are about equally common (p(y) ≈ 1/{classes}), "
        f"a perfect model of each would put log p(x|y) about log {classes} = {label:.2f} nats above log p(x): "
        f"that much of any difference is the label's own information, not a better model. The two bounds differ "
        f"by {difference:.2f} (means over the seeds, in the units of the Gaussian decoder, whose dropped constant "
        f"392·log π is the same in both and cancels), {difference - label:.2f} beyond log {classes}"
    )
    if exact is None:
        return text + (
            ": the conditional model fitting better, as its 2-D z holds the style only where the unconditional one "
            "must hold the class too, but only up to how much tighter one bound is than the other (each falls short "
            "of its log-likelihood by its own amount; for the 2-D VAE, the true-posterior section above measures it). "
            "Neither number is an NLL a table could rank."
        )
    q, twin_log_px = exact
    given, marginal, information = q["given_y"], q["marginal"], q["label_information"]
    return text + (
        f". With a 2-D z the log-likelihoods themselves are computed (the section on every 2-D model's exact "
        f"log p(x)): on the first {marginal['images']} test images, the committed conditional model's log p(x|y) "
        f"is {given['mean']:.2f} and its log p(x) = log Σ_y p(y) p(x|y) {marginal['mean']:.2f}, so the label's "
        f"information under it is {information['mean']:.2f} ± {information['se']:.2f} nats, not log {classes}; "
        f"and its log p(x) is {marginal['mean'] - twin_log_px:+.2f} nats from the unconditional model's "
        f"{twin_log_px:.2f} on the same images: the difference between the two as models of the images alone (the "
        f"committed models, one seed each; each mean has a standard error of about {marginal['se']:.2f} over the "
        "images, much of it shared by two models measured on the same images)."
    )


def _obedience(m: dict, prior: dict, coded: dict) -> list[str]:
    """The label check: the classifier, what it read, and each label's rate."""
    return [
        f"**Whether the label is obeyed.** {m['label_classifier']} (its own accuracy on the "
        f"{m['evaluated_on']['test_images']:,} test images: {m['label_classifier_test_accuracy']:.3f}, the same "
        "classifier for every seed) reads each decoded image; the rate is how often it answers the label the image "
        f"was decoded with: {PRIOR_DRAWS} draws z ~ N(0, I) and the codes of the first {CODED_IMAGES} test images "
        "(the analogies), each decoded with every label. By label:",
        "",
        markdown_table(["label", "prior draws", "test codes"], [[c, prior[c], coded.get(c, "–")] for c in prior]),
        "",
    ]


def _commands(e) -> list[str]:
    script = (
        f"python {e.script.relative_to(e.script.parents[1]).as_posix()}   # trains (or reuses) seed 0, evaluates, draws"
        if e.script
        else f"python -m latentlab train --out-dir {e.out_dir}"
    )
    return [
        "```bash",
        script,
        f"python -m latentlab seeds --only {e.name} --seeds 0 1 2 3 4",
        "python -m latentlab report",
        "```",
        "",
    ]


def _exact(folder: Path, twin_folder: Path) -> tuple[dict, float] | None:
    """The conditional model's log p(x|y) and log p(x) by quadrature, and its twin's log p(x) on the same images
    (the posterior command's), each only where computed from its folder's present model.pt and on as many images."""
    q, twin = saved_entry(folder, LOG_PX_KEY), saved_summary(twin_folder)
    if q is None or twin is None or twin["images"] != q["marginal"]["images"]:
        return None
    return q, twin["log_px"]["mean"]


def conditional_section(root: Path = Path(".")) -> list[str]:
    parts = []
    for e in EXPERIMENTS.values():
        path = root / e.out_dir / "metrics.json"
        if not traits(e.config().model).conditional or not path.is_file():
            continue
        m = read_json(path, "metrics")
        retrained = bool(recipe_changes(e, m))  # another recipe than its experiment's: its seeds are not of this run
        runs = [] if retrained else default_runs(e, root / e.out_dir)
        twin = unconditional_twin(e)
        twin_path = None if twin is None else root / twin.out_dir / "metrics.json"
        twin_m = read_json(twin_path, "metrics") if twin_path and twin_path.is_file() else {}
        if twin_m and (retrained or recipe_changes(twin, twin_m)):
            twin_m = {}  # retrained with another recipe: no longer the same recipe but for the label
        twin_runs = default_runs(twin, root / twin.out_dir) if twin_m else []
        header = ["", folder_label(e, m) + " (of log p(x|y))"] + (
            [folder_label(twin, twin_m) + " (of log p(x))"] if twin_m else []
        )
        rows = [
            [name, _value(runs, m, key, digits)] + ([_value(twin_runs, twin_m, key, digits)] if twin_m else [])
            for name, key, digits in ROWS
        ]
        prior, coded = (_per_class(runs, m, f"label_accuracy_{source}_per_class") for source in ("prior", "test_codes"))
        mean = partial(_mean, runs, m)
        twin_mean = partial(_mean, twin_runs, twin_m)
        bound = "test_log_likelihood_is"
        parts += [
            f"## The conditional VAE: {markdown_text(folder_label(e, m))}",
            "",
            f"`{e.out_dir}`: q(z|x, y) and p(x|z, y), the label y given to both as a one-hot vector (Sohn, Lee & Yan "
            "2015; Kingma, Rezende, Mohamed & Welling 2014), the recipe of the model beside it in every other setting. "
            "Its ELBO and importance-sampled bound (k = "
            f"{m['bound_samples']} samples, the first {m['bound_test_images']:,} test images) are of log p(x|y), "
            "the other model's of log p(x). Mean ± sd over the seeds (n of them; seed 0 is the committed model).",
            "",
            markdown_table(header, rows),
            "",
        ]
        if twin_mean(bound) is not None:
            parts += [
                _comparison(mean(bound) - twin_mean(bound), len(prior), _exact(root / e.out_dir, root / twin.out_dir)),
                "",
            ]
        parts += ["**How much class is left in the code.** " + _class_left(mean, twin_mean, len(prior)), ""]
        parts += _obedience(m, prior, coded) + _commands(e)
    return parts
