"""A sweep: an experiment's recipe over a grid of settings times seeds,

    python -m latentlab sweep vae-2d --set lr=1e-3,3e-3 --set epochs=8,16 --seeds 0 1 2 [--jobs N | --cluster slurm]

each run one job of the study (trained and recorded beside its models in runs/seeds/<experiment>/<recipe>/,
or in the published seeds.json for the experiment's own recipe), then a table of every recipe's mean ± sd
of the experiment's headline numbers, best first, and a figure of each of them (a panel apiece) against the
first swept setting, written to runs/sweeps/<experiment>/.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from ..core.files import write_text_atomic
from ..experiments import EXPERIMENTS, Experiment
from ..publish.figures import sweep_plot
from ..publish.tables import code_span, fmt, markdown_table, markdown_text, plus_minus
from .records import read_record, recipe_of
from .study import StudyRun, carry_out, check_study, run_settings

SWEEPS = Path("runs") / "sweeps"


def headline(experiment: Experiment) -> list[tuple[str, str, bool, int]]:
    """The numbers a sweep of this experiment is judged by, first the one it is ordered by:
    (metrics key, name, higher is better, decimals)."""
    config = experiment.config()
    knn = ("knn5_accuracy", "5-NN acc.", True, 3)
    if config.model == "ae":
        return [("test_mse", "test MSE", False, 4), knn]
    if config.likelihood == "bernoulli":
        return [("test_nll_nats", "NLL (nats)", False, 2), ("test_elbo", "ELBO", True, 2), knn]
    return [("test_elbo", "ELBO", True, 2), ("test_mse", "test MSE", False, 4), knn]


def sweep_runs(experiment: Experiment, settings: dict[str, list], seeds: list[int], **run) -> list[StudyRun]:
    points = [dict(zip(settings, values)) for values in itertools.product(*settings.values())]
    return [StudyRun.of(experiment, experiment.config(**point, seed=seed, **run)) for point in points for seed in seeds]


def run_sweep(name: str, settings: dict[str, list], seeds: list[int], executor, collect: bool, device: str,
              data_root: str | None, bound_test_images: int | None = None) -> Path:
    """Train and record the grid, then write the table and the figure (also after some runs failed: the
    table says how many seeds each recipe has)."""
    check_study(seeds, "sweep")
    experiment = EXPERIMENTS[name]
    runs = sweep_runs(experiment, settings, seeds, **run_settings(device, data_root, bound_test_images))
    try:
        carry_out(runs, executor, collect)
    finally:
        path = write_sweep(experiment, settings, runs)
    return path


def write_sweep(experiment: Experiment, settings: dict[str, list], runs: list[StudyRun]) -> Path:
    """The sweep's table (Markdown, printed too) and figure, in runs/sweeps/<experiment>/."""
    numbers = headline(experiment)
    rows = []
    for point, group in itertools.groupby(runs, key=lambda run: tuple(getattr(run.config, k) for k in settings)):
        group = list(group)
        wanted = {run.config.seed: run.config.recipe() for run in group}
        recorded = [r for r in read_record(group[0].record) if wanted.get(r["seed"]) == recipe_of(r)]
        rows.append((dict(zip(settings, point)), recorded))
    key, _, higher, _ = numbers[0]

    def rank(row):
        values = [r[key] for r in row[1] if r.get(key) is not None]
        return float("inf") if not values else (-1 if higher else 1) * sum(values) / len(values)

    rows.sort(key=rank)
    table = markdown_table(
        [*settings, "seeds", *(f"{label} (mean ± sd)" for _, label, _, _ in numbers)],
        [[str(point[k]) for k in settings] + [str(len(recorded))]
         + [plus_minus(recorded, k, d) or (fmt(recorded[0].get(k), d) if recorded else "–") for k, _, _, d in numbers]
         for point, recorded in rows])
    stem = SWEEPS / experiment.name / "-".join(settings)
    stem.parent.mkdir(parents=True, exist_ok=True)
    seeds = sorted({run.config.seed for run in runs})
    command = (f"python -m latentlab sweep {experiment.name} "
               + " ".join(f"--set {k}={','.join(map(str, v))}" for k, v in settings.items())
               + f" --seeds {' '.join(map(str, seeds))}")
    text = (f"# Sweep of {experiment.name}: {markdown_text(', '.join(settings))}\n\n{code_span(command)}\n\nOrdered by {numbers[0][1]} "
            f"({'higher' if higher else 'lower'} is better), best first; mean ± sd over the seeds recorded.\n\n{table}\n")
    write_text_atomic(text, stem.with_suffix(".md"))
    panels = {label: _series(settings, rows, number) for number, label, _, _ in numbers}
    sweep_plot(panels, list(settings)[0], f"{experiment.name}: its headline numbers over the sweep",
               stem.with_suffix(".png"))
    print(text + f"\nWrote {stem}.md and {stem}.png")
    return stem.with_suffix(".md")


def _series(settings: dict[str, list], rows: list, key: str) -> dict[str, tuple[list, list[list[float]]]]:
    """The figure's lines: the first setting on the x axis, one line per value of the others."""
    first, others = list(settings)[0], list(settings)[1:]
    series: dict[str, tuple[list, list[list[float]]]] = {}
    for value in settings[first]:
        for point, recorded in rows:
            if point[first] != value:
                continue
            label = ", ".join(f"{k}={point[k]}" for k in others) or "seeds"
            xs, ys = series.setdefault(label, ([], []))
            xs.append(value)
            ys.append([r[key] for r in recorded if r.get(key) is not None])
    return series
