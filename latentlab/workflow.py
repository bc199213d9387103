"""One run from start to finish: configuration -> trained model -> metrics.json (``core.measure``) -> figures.

It knows nothing of other runs: the commands on finished folders and on all experiments (``commands``)
and the cross-run documents (``report``, ``front_pages``) sit above it; a study's jobs take the same road without
the figures (``core.measure``), below it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from .core.config import QUICK_TSNE_POINTS, TrainConfig
from .core.devices import pick_device
from .core.display import terminal_text
from .core.files import hold_folder
from .core.finished import Finished
from .core.measure import Measured, train_and_measure
from .core.passes import Coded, code_split
from .core.progress import status
from .publish.conditional_gallery import write_conditional_gallery
from .publish.explorer import write_explorer
from .publish.names import figure_name
from .publish.shared_figures import TSNE_POINTS
from .publish.unconditional_gallery import write_gallery


def draw(finished: Finished, folder: Path, quick: bool = False, coded: Coded | None = None) -> None:
    """Every figure and GIF of a result folder, and its explorer page, from one pass over the test split:
    ``coded`` where the metrics made it, else made here."""
    model, test = finished.model, finished.test
    if coded is None:
        coded = code_test(finished)
    name = figure_name(finished.config)
    gallery = write_conditional_gallery if model.traits.conditional else write_gallery
    gallery(
        model, name, finished.state, test, coded.codes, folder, tsne_points=QUICK_TSNE_POINTS if quick else TSNE_POINTS
    )
    write_explorer(model, test, coded.codes, name, folder, coded.point_losses)


def code_test(finished: Finished) -> Coded:
    """The test split's codes and point losses (``passes.code_split``), with a status line."""
    with status("encoding the test split"):
        return code_split(finished.model, finished.test)


@contextmanager
def result_folder(config: TrainConfig):
    """Print the configuration, refuse an unusable --device before anything is written, and hold the
    result folder for this run alone. A run that fails removes the folders it made, if they are empty."""
    print("Configuration:\n" + terminal_text(config.to_json()))  # its paths are the user's names
    pick_device(config.device)
    made = _first_missing(Path(config.out_dir))
    try:
        with hold_folder(config.out_dir, out_dir_flag=True):
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


def run(config: TrainConfig) -> Measured:
    """What each script does: train (or reuse) the model of ``config``, measure it and draw its figures,
    all from the model and the data splits in hand."""
    with result_folder(config):
        measured = train_and_measure(config)  # writes config.json only if it trains, and only with the finished model
        draw(measured.finished, Path(config.out_dir), config.quick(), measured.coded)
        return measured
