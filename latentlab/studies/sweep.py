"""A sweep: an experiment's recipe over a grid of settings times seeds,

    python -m latentlab sweep vae-2d --set lr=1e-3,3e-3 --set epochs=8,16 --seeds 0 1 2 [--jobs N | --cluster slurm]

each run one job of the study (trained and recorded beside its models in runs/seeds/<experiment>/<recipe>/,
or in the published seeds.json for the experiment's own recipe), then (the ``sweep`` command of ``cli``) a table of every
recipe's mean ± sd of the experiment's headline numbers, best first, and a figure of each of them (a panel
apiece) against the first swept setting, written to runs/sweeps/<experiment>/ by ``publish/sweep_report.py``.
"""

from __future__ import annotations

import itertools

from ..experiments import EXPERIMENTS, Experiment
from .records import read_record, recipe_of
from .study import StudyRun, check_study, run_settings


def sweep_runs(experiment: Experiment, settings: dict[str, list], seeds: list[int], **run) -> list[StudyRun]:
    points = [dict(zip(settings, values, strict=True)) for values in itertools.product(*settings.values())]
    return [StudyRun.of(experiment, experiment.config(**point, seed=seed, **run)) for point in points for seed in seeds]


def planned_sweep(
    name: str,
    settings: dict[str, list],
    seeds: list[int],
    device: str,
    data_root: str | None,
    bound_test_images: int | None = None,
) -> tuple[Experiment, list[StudyRun]]:
    """The experiment and every run of its grid (each setting's values times the seeds), checked."""
    check_study(seeds, "sweep")
    experiment = EXPERIMENTS[name]
    return experiment, sweep_runs(experiment, settings, seeds, **run_settings(device, data_root, bound_test_images))


def recorded_rows(settings: dict[str, list], runs: list[StudyRun]) -> list[tuple[dict, list[dict]]]:
    """Each point of the grid and the records of its runs so far (a failed run has none)."""
    rows = []
    for point, group in itertools.groupby(runs, key=lambda run: tuple(getattr(run.config, k) for k in settings)):
        group = list(group)
        wanted = {run.config.seed: run.config.recipe() for run in group}
        recorded = [r for r in read_record(group[0].record) if wanted.get(r["seed"]) == recipe_of(r)]
        rows.append((dict(zip(settings, point, strict=True)), recorded))
    return rows
