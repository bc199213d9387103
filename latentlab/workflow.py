"""One run from start to finish: configuration -> trained model -> metrics.json -> figures.

It knows nothing of other runs: the commands on finished folders and on all experiments
(``commands``), the cross-run documents (``report``, ``site``) and the seed study (``seeds``) sit
above it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from .core.config import QUICK_TSNE_POINTS, TrainConfig
from .core.devices import pick_device
from .core.files import hold_folder
from .core.metrics import encode_split
from .core.metrics_json import write_metrics
from .core.progress import status
from .core.training import train
from .publish.conditional_gallery import write_conditional_gallery
from .publish.explorer import write_explorer
from .publish.gallery import write_gallery
from .publish.shared_figures import TSNE_POINTS, model_name


def measure(state: dict, folder: Path, data_root: str | None, device_name: str, k: int, n_test: int,
            quick: bool = False) -> dict:
    """metrics.json of a finished checkpoint (``write_metrics``) and every figure of it."""
    metrics, model, test, encoded = write_metrics(state, Path(folder), data_root, device_name, k, n_test, quick)
    draw(model, state, test, Path(folder), quick, encoded)
    return metrics


def draw(model, state: dict, test, folder: Path, quick: bool = False, encoded=None) -> None:
    """Every figure and GIF of a result folder, and its explorer page, from one encoding of the test split:
    ``encoded`` where the metrics made it, (N, latent_dim), else made here."""
    if encoded is None:
        encoded = encode_test(model, test)
    gallery = write_conditional_gallery if model.traits.conditional else write_gallery
    gallery(model, state, test, encoded, folder, tsne_points=QUICK_TSNE_POINTS if quick else TSNE_POINTS)
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
