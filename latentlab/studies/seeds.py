"""The spread over seeds: each experiment's recipe trained again with other seeds, evaluated like
metrics.json, and recorded in ``<result folder>/seeds.json``.

Every recipe trains into its own git-ignored scratch folder,
``runs/seeds/<experiment>/<recipe>/seed<N>/`` (``<recipe>`` is ``default``, or the settings that
differ from it, e.g. ``epochs1-train_limit2048``), so a smoke run can never be found and recorded
as the default recipe. Seed 0 of the default recipe is the committed model itself, evaluated from
its own checkpoint like the others. The committed model and figures are never touched, and only
runs of the experiment's own recipe and bound settings go into the published seeds.json: any other
(a smoke run with ``--epochs 1``, a shorter bound) is recorded in ``runs/seeds/<experiment>/<recipe>/
seeds.json``, so trying the study never changes a published file. A run already recorded (same seed,
same recipe) is skipped unless ``retrain``, so an interrupted study resumes where it stopped.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.config import TrainConfig
from ..core.errors import LatentlabError
from ..core.files import hold_folder, write_json_atomic
from ..experiments import EXPERIMENTS, Experiment, check_repository_root
from .records import read_record, recipe_of, record_file, scratch_folder

def committed_model(experiment: Experiment, config: TrainConfig) -> dict | None:
    """The experiment's published checkpoint, when it was trained with exactly ``config``'s recipe."""
    from ..core.checkpoint import MODEL_FILE, read_checkpoint

    path = experiment.out_dir / MODEL_FILE
    if not path.is_file():
        return None
    state = read_checkpoint(path)
    return state if TrainConfig.from_dict(state["config"]).recipe() == config.recipe() else None


def run_seeds(names: list[str], seeds: list[int], device: str, data_root: str | None, retrain: bool,
              bound_test_images: int | None = None, **overrides) -> None:
    """Train, evaluate and record every named experiment with every seed. ``overrides`` change the
    recipe (``epochs``, ``train_limit``: for smoke runs); such runs are recorded with their recipe
    and left out of the reported spread. ``bound_test_images`` shortens the likelihood bound only."""
    if len(set(seeds)) != len(seeds):
        raise LatentlabError(f"--seeds names a seed twice ({' '.join(map(str, seeds))}); name each seed once.")
    check_repository_root(Path("."), "seeds")
    for name in names:
        experiment = EXPERIMENTS[name]
        folder = experiment.out_dir
        if not folder.is_dir():  # run elsewhere, the study would make a second result tree there
            raise LatentlabError(f"{folder}/ is not here: run the seed study from the repository root, "
                                 "where the result folders are.")
        with hold_folder(folder):
            for seed in seeds:
                run = dict(seed=seed, device=device, data_root=data_root, retrain=retrain)
                if bound_test_images is not None:
                    run["bound_test_images"] = bound_test_images
                record_seed(experiment, experiment.config(**run, **overrides))


def record_seed(experiment: Experiment, config: TrainConfig) -> None:
    """Train (or find) the model of ``config`` in its scratch folder, evaluate it and record it in seeds.json."""
    import torch

    from ..workflow import REPORTED, measure  # torch-backed: loaded only when runs are made
    from ..core.training import train

    folder, seed = experiment.out_dir, config.seed
    scratch, record = scratch_folder(experiment, config), record_file(experiment, config)
    config.out_dir = str(scratch)
    recorded = read_record(record)  # the study holds the result folder: nothing else writes its records meanwhile
    if not config.retrain and any(recipe_of(run) == config.recipe() for run in recorded):
        print(f"{experiment.name}, seed {seed}: already in {record}; skipped (--retrain runs it again)")
        return
    with hold_folder(scratch):
        state = committed_model(experiment, config)
        if state is not None:
            print(f"=== {experiment.name}, seed {seed}: the committed {folder}/model.pt has this recipe; "
                  f"evaluating it (its numbers go to {scratch}/)")
        else:
            print(f"=== {experiment.name}, seed {seed} -> {scratch}/")
            state = train(config)
        if TrainConfig.from_dict(state["config"]).recipe() != config.recipe():  # never record a model under another recipe
            raise LatentlabError(
                f"{scratch}/model.pt was trained with other settings than the recipe being recorded; "
                f"delete {scratch} or run with --retrain.")
        metrics = measure(state, scratch, config.data_root, config.device, config.bound_samples,
                          config.bound_test_images, figures=False, quick=config.quick())
    run = {"seed": seed, "device": state["device"], "torch": torch.__version__,
           "train_seconds": round(state["train_seconds"], 1), "recipe": config.recipe(),
           **{key: metrics[key] for key in (*REPORTED, "bound_samples", "bound_test_images") if key in metrics}}
    runs = [r for r in recorded if recipe_of(r) != config.recipe()] + [run]
    runs.sort(key=lambda r: (r["seed"], json.dumps(r["recipe"], sort_keys=True)))
    record.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic({"experiment": experiment.name, "runs": runs}, record)
    kept_out = "" if record.parent == folder else " (not the experiment's own recipe: kept out of the published file)"
    print(f"Recorded seed {seed} in {record}{kept_out}")
