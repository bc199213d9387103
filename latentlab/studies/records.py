"""The records of the seed study, read and placed: which file a run is recorded in, the runs of an
experiment's own recipe, and their spread. The report reads them here, apart from the runner of the
study (``seeds``), so that the documents never import training.

``<result folder>/seeds.json`` holds the runs of the experiment's own recipe and bound settings;
any other recipe (a smoke run with ``--epochs 1``, a shorter bound) is recorded in
``runs/seeds/<experiment>/<recipe>/seeds.json``, beside its models, so trying the study never
changes a published file.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.config import TrainConfig
from ..core.files import hold_folder, write_json_atomic
from ..core.recorded import read_json
from ..experiments import Experiment

SEEDS_FILE = "seeds.json"
SCRATCH = Path("runs") / "seeds"


def read_record(path: Path) -> list[dict]:
    return read_json(path, "seeds")["runs"] if path.is_file() else []


def recipe_of(run: dict, **changes) -> dict:
    """A recorded run's recipe as TrainConfig.recipe() gives it today (fields added since take their
    defaults), with ``changes`` applied."""
    return TrainConfig.from_dict({**run["recipe"], **changes}).recipe()


def default_runs(experiment: Experiment, folder: Path | None = None) -> list[dict]:
    """The recorded runs of the experiment's own recipe (any seed), evaluated with its own likelihood-bound
    settings: the ones its spread is made of."""
    config = experiment.config()
    recipe, bound = config.recipe(), (config.bound_samples, config.bound_test_images)
    same = [
        run
        for run in read_record(Path(folder or experiment.out_dir) / SEEDS_FILE)
        if recipe_of(run, seed=recipe["seed"]) == recipe
        and (run.get("bound_samples", bound[0]), run.get("bound_test_images", bound[1])) == bound
    ]
    return sorted(same, key=lambda run: run["seed"])


def recipe_changes(experiment: Experiment, metrics: dict) -> dict:
    """What the run a result folder holds (the config its metrics.json recorded) changed from its experiment's
    recipe, the seed aside: ``{}`` when the folder holds the experiment, or recorded no config. A script run with
    ``--dataset FOLDER --retrain`` writes into the experiment's folder, which then holds another run."""
    recorded = metrics.get("config")
    if not isinstance(recorded, dict):
        return {}
    recipe = TrainConfig.from_dict(recorded).recipe()
    own = experiment.config(seed=recipe["seed"]).recipe()
    return {key: value for key, value in recipe.items() if own.get(key) != value}


BOUND_SETTINGS = ("bound_samples", "bound_test_images")  # not in the recipe, but in the recorded numbers


def _settings(config: TrainConfig) -> dict:
    return {**config.recipe(), **{key: getattr(config, key) for key in BOUND_SETTINGS}}


def recipe_folder(experiment: Experiment, config: TrainConfig) -> str:
    """``default`` for the experiment's own recipe and bound settings (any seed), else their differences."""
    default = _settings(experiment.config(seed=config.seed))
    changed = [f"{key}{value}" for key, value in _settings(config).items() if default[key] != value]
    return "-".join(changed) or "default"


def record_file(experiment: Experiment, config: TrainConfig) -> Path:
    """Where a run is recorded: the published seeds.json for the experiment's own recipe and bound
    settings, else the scratch tree's, beside the runs of that recipe."""
    folder = recipe_folder(experiment, config)
    return experiment.out_dir / SEEDS_FILE if folder == "default" else SCRATCH / experiment.name / folder / SEEDS_FILE


def scratch_folder(experiment: Experiment, config: TrainConfig) -> Path:
    return SCRATCH / experiment.name / recipe_folder(experiment, config) / f"seed{config.seed}"


def recorded_run(path: Path, config: TrainConfig) -> dict | None:
    """The run of ``config``'s recipe (its seed included) that ``path`` (a seeds.json) holds, or None."""
    return next((run for run in read_record(path) if recipe_of(run) == config.recipe()), None)


def merge(path: Path, experiment: str, run: dict) -> None:
    """Add ``run`` to the seeds.json at ``path``, replacing a run of the same recipe, under the folder's lock:
    records of jobs that finish at the same moment are merged one after the other, never lost or doubled."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with hold_folder(path.parent, wait_s=300):
        recipe = recipe_of(run)
        runs = [r for r in read_record(path) if recipe_of(r) != recipe] + [run]
        runs.sort(key=lambda r: (r["seed"], json.dumps(r["recipe"], sort_keys=True)))
        write_json_atomic({"experiment": experiment, "runs": runs}, path)
