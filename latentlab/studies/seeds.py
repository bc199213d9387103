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
same recipe) is skipped unless ``retrain``, so an interrupted study resumes where it stopped. Each run is
one job (``study``), run in this process, as local processes or on a Slurm cluster (``executors``).
"""

from __future__ import annotations

from ..core.errors import LatentlabError
from ..experiments import EXPERIMENTS
from .executors import InProcess
from .study import StudyRun, carry_out, check_study, run_settings


def study_runs(
    names: list[str],
    seeds: list[int],
    device: str,
    data_root: str | None,
    retrain: bool,
    bound_test_images: int | None = None,
    **overrides,
) -> list[StudyRun]:
    """Every named experiment with every seed. ``overrides`` change the recipe (``epochs``, ``train_limit``:
    smoke runs), recorded in the scratch tree; ``bound_test_images`` shortens the likelihood bound only."""
    check_study(seeds, "seeds")
    runs = []
    for name in names:
        experiment = EXPERIMENTS[name]
        if not experiment.out_dir.is_dir():  # run elsewhere, the study would make a second result tree there
            raise LatentlabError(
                f"{experiment.out_dir}/ is not here: run the seed study from the repository root, "
                "where the result folders are."
            )
        for seed in seeds:
            run = run_settings(device, data_root, bound_test_images, seed=seed, retrain=retrain)
            runs.append(StudyRun.of(experiment, experiment.config(**run, **overrides)))
    return runs


def run_seeds(
    names: list[str],
    seeds: list[int],
    device: str,
    data_root: str | None,
    retrain: bool,
    bound_test_images: int | None = None,
    executor=None,
    collect: bool = False,
    **overrides,
) -> None:
    """Train, evaluate and record every named experiment with every seed, with ``executor`` (default: in
    this process, one after another)."""
    runs = study_runs(names, seeds, device, data_root, retrain, bound_test_images, **overrides)
    carry_out(runs, executor or InProcess(threads=None), collect)
