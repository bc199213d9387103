"""The commands on finished result folders and on every experiment: ``reproduce``, ``evaluate``,
``figures``, ``explore``, ``bound-vs-k``, ``binarization-spread``, ``posterior`` and ``report``'s documents. Each is built
from one run's steps (``workflow``) and the cross-run documents (``report``, ``front_pages``)."""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

import torch

from .core import kinds, log_likelihood, surgery
from .core.checkpoint_file import MODEL_FILE, read_checkpoint
from .core.config import TrainConfig
from .core.data import DeviceSplit, dataset_classes, read_split, to_float
from .core.display import shown, terminal_text
from .core.errors import DataSetMissing, LatentlabError, PublishedNumbersDiffer, SomeSkipped
from .core.evaluation import bounds_for_each_k, mean_and_se, per_image_bounds
from .core.files import check_writable, file_sha256, hold_folder, write_json_atomic, write_text_atomic
from .core.finished import Finished, open_finished
from .core.kept import LOG_PX_KEY, saved_entry
from .core.likelihoods import TEST_BINARIZATION_SEED, Bernoulli, binarize_once
from .core.measure import write_metrics
from .core.models import count_parameters
from .core.progress import plural
from .core.recorded import read_json
from .experiments import EXPERIMENTS
from .publish import verdict
from .publish.explorer import EXPLORER_FILE, refill_explorer, write_explorer
from .publish.figures import bound_vs_k
from .publish.literature import PUBLISHED_NLL
from .publish.names import figure_name, model_label
from .publish.posterior_gaps import IS_IMAGES, N_IMAGES, write_posterior_gaps
from .publish.surgery import write_surgery
from .workflow import code_test, draw, run


def evaluate_folder(
    folder: Path, data_root: str | None, device_name: str, k: int | None, n_test: int | None, dataset: str | None = None
) -> dict:
    """Recompute every number of a result folder's metrics.json from its model.pt; the likelihood bound
    with ``k`` samples on ``n_test`` images, by default the run's own settings (a smoke run's quick
    evaluation unless ``n_test`` is given)."""
    finished = _open(folder, data_root, device_name, dataset)
    trained_with = finished.config
    with hold_folder(folder):
        return write_metrics(
            finished,
            Path(folder),
            k=k or trained_with.bound_samples,
            n_test=n_test or trained_with.bound_test_images,
            quick=trained_with.quick() and n_test is None,
        )[0]


def _open(folder: Path, data_root: str | None, device_name: str, dataset: str | None = None) -> Finished:
    """A result folder's finished model (``open_finished``), refused at once if the folder cannot be written."""
    finished = open_finished(Path(folder) / MODEL_FILE, device_name, data_root, dataset)
    check_writable(Path(folder))
    return finished


def rebuild_figures(folder: Path, data_root: str | None, device_name: str = "auto", dataset: str | None = None) -> None:
    """Redraw every figure of a result folder, and its explorer page, from its model.pt and the test split."""
    folder = Path(folder)
    finished = _open(folder, data_root, device_name, dataset)
    with hold_folder(folder):
        draw(finished, folder, finished.config.quick())


def explore(
    folder: Path, data_root: str | None, device_name: str = "auto", screenshot: bool = False, dataset: str | None = None
) -> Path:
    """Write a result folder's explorer.html from its model.pt and the test split, and with
    ``screenshot`` its explorer.png: the page with the first test digit picked."""
    from .publish import browser

    folder = Path(folder)
    if screenshot and browser.missing():
        raise LatentlabError(f"--screenshot needs a headless browser: {browser.missing()}.")
    finished = _open(folder, data_root, device_name, dataset)
    model, test = finished.model, finished.test
    with hold_folder(folder):
        coded = code_test(finished)
        page = write_explorer(model, test, coded.codes, figure_name(finished.config), folder, coded.point_losses)
        if screenshot:
            with torch.no_grad():
                point = model.code(to_float(test.images[:1]), test.labels[:1])[0].tolist()
            two_d = model.latent_dim == 2  # a larger latent's page shows a projection: a click there would choose A
            browser.screenshot(page, folder / "explorer.png", tuple(point) if two_d else None, click=two_d)
    return page


def refill(folder: Path) -> Path:
    """``explore --template-only``: the page rewritten around its data, the folder held as by every command."""
    with hold_folder(Path(folder)):
        return refill_explorer(Path(folder))


def check_bounds_comparable(models) -> None:
    """bound-vs-k's refusal to set models' likelihood bounds side by side unless they measure the same thing."""
    if not all(model.traits.likelihood_bound for model in models) or len({model.likelihood for model in models}) > 1:
        raise LatentlabError(
            "bound-vs-k compares VAEs with the same decoder: an AE has no posterior to sample, "
            "and a Gaussian and a Bernoulli decoder measure in different units. Name result "
            "folders of VAEs of one kind."
        )


BOUND_FILE = "bound_vs_k"
VERDICT_FILE = Path("runs") / "reproduce-verdict.txt"  # outside the tracked tree (runs/ is ignored)


def write_bound_vs_k(folders: list[Path], ks: list[int], n_test: int, data_root: str | None, device_name: str) -> None:
    """The ELBO and the importance-sampled bound against k of each folder's VAE: bound_vs_k.json in
    each folder, and bound_vs_k.png with every folder's curve in each."""
    folders = list(dict.fromkeys(Path(folder) for folder in folders))  # a folder named twice is one curve
    opened = [_open(folder, data_root, device_name) for folder in folders]
    check_bounds_comparable([finished.model for finished in opened])
    tests = [finished.test for finished in opened]  # every folder's data read before anything is written
    labels = []
    for finished in opened:
        config = finished.config
        objective = "the ELBO" if config.objective == "elbo" else f"the IWAE bound, K={config.iw_samples}"
        labels.append(
            f"{model_label(config.model, config.latent_dim, config.likelihood, dataset=None)}, "
            f"{count_parameters(finished.model) / 1e6:.2f} M parameters, "
            f"trained on {objective}"
        )
    # Two folders of the same kind of model would share a label, and one curve would replace the other.
    labels = [
        f"{label} ({folder})" if labels.count(label) > 1 else label
        for label, folder in zip(labels, folders, strict=True)
    ]
    curves = {}
    with ExitStack() as held:
        for folder in folders:
            held.enter_context(hold_folder(folder))
        for label, folder, finished, test in zip(labels, folders, opened, tests, strict=True):
            model = finished.model
            n = min(n_test, len(test))
            settings = {"ks": ks, "n_test": n, "model_sha256": file_sha256(folder / MODEL_FILE)}
            result = _earlier_bounds(folder, settings)
            if result is not None:
                print(
                    f"{shown(folder)}: bounds for k = {', '.join(map(str, ks))} on {n:,} images taken from "
                    f"{BOUND_FILE}.json (same model.pt, same settings)"
                )
            else:
                # a line of its own: the progress bar below would overwrite a status line
                print(f"{shown(folder)}: bounds for k = {', '.join(map(str, ks))} on {n:,} images")
                result = {
                    **bounds_for_each_k(model, test, ks, n_test, seed=finished.config.seed),
                    "model_sha256": settings["model_sha256"],
                    "device": test.device.type,
                }
                write_json_atomic(result, folder / f"{BOUND_FILE}.json")
            curves[label] = result
        first = opened[0].model  # every folder's model has its decoder (checked above)
        references = [(label, -nll) for label, _, nll, _ in PUBLISHED_NLL.get(first.likelihood.name, ())]
        for folder in folders:
            bound_vs_k(
                curves,
                references,
                first.loss_units,
                "How the importance-weighted bound tightens with k",
                folder / f"{BOUND_FILE}.png",
            )
            print(f"Wrote {shown(folder / BOUND_FILE)}.png")


def _earlier_bounds(folder: Path, settings: dict) -> dict | None:
    """The folder's bound_vs_k.json if it was computed from this very model.pt with these k and images:
    k = 5000 on the full test set takes hours on a CPU, so adding a curve must not redo the others."""
    path = folder / f"{BOUND_FILE}.json"
    if not path.is_file():
        return None
    earlier = read_json(path, "bound_vs_k")
    same = (
        earlier.get("model_sha256") == settings["model_sha256"]
        and earlier.get("n_test") == settings["n_test"]
        and [bound["k"] for bound in earlier.get("bounds", [])] == settings["ks"]
    )
    return earlier if same else None


BINARIZATION_FILE = "binarization_spread.json"


def write_binarization_spread(
    folder: Path, seeds: list[int], k: int, n_test: int, data_root: str | None, device_name: str
) -> dict:
    """The importance-sampled bound of a Bernoulli VAE on the test set binarized once with each of ``seeds``:
    how far an NLL moves with the draw of the binary test set alone (the published one uses
    TEST_BINARIZATION_SEED; other papers drew theirs otherwise). Written to binarization_spread.json.

    Every draw is scored with the same posterior noise (the run's seed), so that two draws differ only in
    their pixels."""
    folder = Path(folder)
    finished = _open(folder, data_root, device_name)
    model, config = finished.model, finished.config
    if not model.traits.likelihood_bound or model.likelihood is not Bernoulli:
        raise LatentlabError(
            f"{folder} holds no VAE with a Bernoulli decoder: only its test set is binarized, "
            "and only a VAE has a likelihood bound. Name a folder such as "
            "Kết_quả_huấn_luyện_Variational_Autoecoder/32D_latent_VAE_bernoulli."
        )
    images, labels = read_split(config, "test")  # read once; each seed binarizes it anew
    device, n = next(model.parameters()).device, min(n_test, len(images))
    draws = []
    with hold_folder(folder):
        for seed in dict.fromkeys(seeds):
            print(f"{shown(folder)}: bound with k = {k} on {n:,} test images binarized with seed {seed}")
            test = DeviceSplit(binarize_once(images, seed), labels, device, dataset_classes(config.dataset))
            bounds = torch.cat(per_image_bounds(model, test, k, n, seed=config.seed))  # (n,)
            draws.append({"seed": seed, **mean_and_se(bounds)})
        result = {
            "k": k,
            "n_test": n,
            "published_seed": TEST_BINARIZATION_SEED,
            "draws": draws,
            "model_sha256": file_sha256(folder / MODEL_FILE),
            "device": device.type,
        }
        write_json_atomic(result, folder / BINARIZATION_FILE)
    means = torch.tensor([draw["mean"] for draw in draws], dtype=torch.float64)
    spread = f", sd {means.std().item():.3f} nats over the draws" if len(draws) > 1 else ""
    print(f"Wrote {shown(folder / BINARIZATION_FILE)}: bounds {', '.join(f'{m:.3f}' for m in means.tolist())}{spread}")
    return result


def reproduce(names: list[str], retrain: bool, device: str, data_root: str | None, check: bool = False) -> None:
    """Run the named experiments with their default settings in one process, write RESULTS.md and the
    documents, then judge every committed file that changed (``publish/verdict.py``): on screen and in
    runs/reproduce-verdict.txt, exit status 4 when a published number moved. With ``check``, all of it in a
    clean clone of HEAD in a temporary folder, so that this tree is left as it is.

    An experiment whose data set is not on this machine (Fashion-MNIST is never downloaded) is skipped with
    the way to get it; the others go on, and the exit status says something was skipped.

    One process, not one per script: importing the libraries and starting a GPU cost several seconds each
    time, more than a GPU needs to train one of these models.
    """
    root = Path(".").resolve()
    if not check:
        before = verdict.untracked(root) if verdict.is_checkout(root) else None
        skipped = _reproduce_here(names, retrain, device, data_root)
        _judge(root, root, before, skipped, len(names))
        return
    verdict.git(root, "rev-parse", "HEAD")  # refused at once, with the reason, outside a checkout
    data_root = str(
        TrainConfig(data_root=data_root).resolved_data_root().resolve()
    )  # the clone has no data/ of its own
    with tempfile.TemporaryDirectory(prefix="latentlab-check-") as folder:
        clone = Path(folder) / "clone"
        verdict.git(root, "clone", "--quiet", "--shared", str(root), str(clone))
        print(f"Reproducing in a clean clone of HEAD, {clone}; this tree is left as it is.")
        os.chdir(clone)
        try:
            skipped = _reproduce_here(names, retrain, device, data_root)
        finally:
            os.chdir(root)
        _judge(clone, root, set(), skipped, len(names))


def _reproduce_here(names: list[str], retrain: bool, device: str, data_root: str | None) -> list[str]:
    """``reproduce`` in the current folder; returns the experiments skipped for want of their data."""
    skipped = []
    for name in names:
        try:
            config = EXPERIMENTS[name].config(retrain=retrain, device=device, data_root=data_root)
            measured = run(config)
            if has_true_posterior(kinds.traits(config.model), config.latent_dim):  # (issue 41)
                with hold_folder(config.out_dir):
                    _write_posterior(Path(config.out_dir), measured.finished, N_IMAGES, IS_IMAGES)
            elif log_likelihood.applies(kinds.traits(config.model), config.latent_dim):  # conditional (issue 48)
                if saved_entry(config.out_dir, LOG_PX_KEY) is None:
                    with hold_folder(config.out_dir):
                        _write_conditional_log_px(Path(config.out_dir), measured.finished)
            kept = saved_entry(config.out_dir, surgery.METRICS_KEY)  # the split of this model.pt (issue 48)
            if kinds.traits(config.model).encoder_distribution and kept is None:
                with hold_folder(config.out_dir):
                    _write_surgery(Path(config.out_dir), measured.finished)
        except DataSetMissing as missing:
            print(f"Skipping {name}: {missing}")
            skipped.append(f"{name} ({missing})")
    write_documents()
    print(f"Reproduced {len(names) - len(skipped)} of {len(names)} experiments.")
    return skipped


def _judge(checkout: Path, root: Path, before: set[str] | None, skipped: list[str], ran: int) -> None:
    """The verdict on what reproduce rewrote in ``checkout``, printed and written to ROOT/runs/."""
    if before is None:
        print("This folder is not a git checkout: there are no committed files to judge the results against.")
    else:
        judged = verdict.verdict(checkout, before)
        report = root / VERDICT_FILE
        report.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(judged.text() + "\n", report)
        print(f"\nWhat reproduce changed in the committed files (also in {report}):\n{judged.text()}")
        if judged.failed:
            raise PublishedNumbersDiffer(
                f"reproduce changed published numbers or fields of committed files: each is "
                f"listed above and in {report}. On another processor the last digits of "
                "raw numbers may move, but a printed digit should not; if the code changed "
                "what it writes, commit the rewritten files."
            )
    if skipped:
        raise SomeSkipped(
            f"Skipped {len(skipped)} of {ran} experiments, whose data is not on this "
            f"machine: {'; '.join(skipped)} The others were reproduced and RESULTS.md written."
        )


def info(folder: Path) -> str:
    """``python -m latentlab info FOLDER``: what made a result folder's model (provenance) and its recipe."""
    from .core.provenance import describe

    path = Path(folder) / MODEL_FILE
    state = read_checkpoint(path)
    config = TrainConfig.from_dict(state["config"])
    recipe = "\n".join(f"  {key}: {value}" for key, value in config.recipe().items())
    text = (
        f"{path}: {config.name()}, {plural(state['epoch'], 'epoch')} on {state['device']} in {state['train_seconds'] / 60:.1f} min\n"
        f"{describe(state.get('provenance'))}\nrecipe:\n{recipe}"
    )
    print(terminal_text(text))  # the device and the provenance are recorded values: shown, never run
    return text


def write_documents(root: Path = Path("."), screenshot: bool = False) -> None:
    """``python -m latentlab report``: RESULTS.md, the READMEs' generated tables, index.html and compare.html;
    with ``screenshot`` also compare.png, a digit drawn on compare.html's pad."""
    from .publish import browser
    from .publish.front_pages import COMPARE_FILE, write_compare, write_index
    from .publish.report import update_readmes, write_results

    if screenshot and browser.missing():
        raise LatentlabError(f"--screenshot needs a headless browser: {browser.missing()}.")
    write_results(root / "RESULTS.md", root)
    update_readmes(root)
    write_index(root)
    write_compare(root)
    if screenshot:
        browser.screenshot_compare(root / COMPARE_FILE, root / "compare.png")


# --- posterior (issue 41): the 2-D VAEs' true posterior, log p(x) by quadrature and the two gaps ---------------


def has_true_posterior(traits, latent_dim: int) -> bool:
    """Whether ``posterior`` computes a model's true posterior: an unconditional kind with a posterior and a 2-D z."""
    return log_likelihood.applies(traits, latent_dim) and not traits.conditional


def posterior_gaps(folders: list[Path], n_images: int, is_images: int, data_root: str | None, device_name: str) -> None:
    """``python -m latentlab posterior``: posterior_gaps.json (with each image's q refined step by step), its three
    figures, the explorer page's arrays and metrics.json's summary in each 2-D VAE result folder
    (publish/posterior_gaps.py); for a conditional 2-D VAE, its log p(x|y), log p(x) and p(y|x) on the first
    ``n_images`` test images into metrics.json (core/log_likelihood.py)."""

    for folder in dict.fromkeys(Path(folder) for folder in folders):
        finished = _open(folder, data_root, device_name)
        model = finished.model
        if not log_likelihood.applies(model.traits, model.latent_dim):
            raise LatentlabError(
                f"{shown(folder)} holds no VAE with a 2-D latent: only there is p(x) a 2-D integral. Name a "
                "folder such as Kết_quả_huấn_luyện_Variational_Autoecoder/2D_latent_VAE."
            )
        with hold_folder(folder):
            if model.traits.conditional:
                _write_conditional_log_px(folder, finished, n_images)
            else:
                _write_posterior(folder, finished, n_images, is_images)


def _write_posterior(folder: Path, finished: Finished, n_images: int, is_images: int) -> None:
    """``posterior_gaps`` of one held folder's finished model."""
    model = finished.model
    write_posterior_gaps(
        folder,
        model,
        finished.test,
        finished.config.seed,
        figure_name(finished.config),
        model.loss_units,
        n_images,
        is_images,
    )
    if (folder / EXPLORER_FILE).is_file():  # the page shows the picks' posterior from now on
        refill_explorer(folder)


def _write_conditional_log_px(folder: Path, finished: Finished, n_images: int = log_likelihood.IMAGES) -> None:
    """A conditional 2-D model's log p(x|y), log p(x) = log sum_y p(y) p(x|y) and p(y|x), into metrics.json (issue 48),
    kept there while model.pt is the same."""
    record = log_likelihood.record(finished.model, finished.test, finished.train.labels, n_images)
    record["model_sha256"] = file_sha256(folder / MODEL_FILE)
    metrics = read_json(folder / "metrics.json", "metrics")
    metrics[LOG_PX_KEY] = record
    write_json_atomic(metrics, folder / "metrics.json")
    given, marginal = record["given_y"], record["marginal"]
    print(
        f"{shown(folder)}: on {marginal['images']} test images, log p(x|y) {given['mean']:.3f} ± {given['se']:.3f}, "
        f"log p(x) {marginal['mean']:.3f} ± {marginal['se']:.3f} (grid error bounds {given['error_bound']:.1g}, "
        f"{marginal['error_bound']:.1g}); the label's information log p(y|x) - log p(y) "
        f"{record['label_information']['mean']:.3f} ± {record['label_information']['se']:.3f} nats; Bayes' rule "
        f"reads the label of {record['bayes_accuracy']:.1%} of them"
    )


# --- surgery (issue 48): the average KL split into I(x; z) and the prior's misfit KL(q(z) ‖ p(z)) ------------------


def elbo_surgery(folders: list[Path], data_root: str | None, device_name: str) -> None:
    """``python -m latentlab surgery``: metrics.json's "elbo_surgery" in each result folder of a model with a
    posterior, and a 2-D VAE's aggregate_posterior.png (publish/surgery.py)."""
    for folder in dict.fromkeys(Path(folder) for folder in folders):
        finished = _open(folder, data_root, device_name)
        if not finished.model.traits.encoder_distribution:
            raise LatentlabError(
                f"{shown(folder)} holds a model without a posterior q(z|x) (an autoencoder codes "
                "each image as one point), so it has no KL term to split. Name a VAE's folder, "
                "such as Kết_quả_huấn_luyện_Variational_Autoecoder/32D_latent_VAE."
            )
        with hold_folder(folder):
            _write_surgery(folder, finished)


def _write_surgery(folder: Path, finished: Finished) -> None:
    """``elbo_surgery`` of one held folder's finished model, its draws seeded with the run's seed."""
    write_surgery(folder, finished.model, finished.test, finished.config.seed, figure_name(finished.config))
