"""A sweep's report: the table of every recipe's mean ± sd of the experiment's headline numbers, best
first, and a figure of each number (a panel apiece) against the first swept setting, in
runs/sweeps/<experiment>/. The runs themselves are ``studies/sweep.py``'s."""

from __future__ import annotations

from pathlib import Path

from ..core.files import write_text_atomic
from ..core.kinds import traits
from ..experiments import Experiment
from .figures import sweep_plot
from .tables import code_span, fmt, markdown_table, markdown_text, plus_minus

SWEEPS = Path("runs") / "sweeps"


def headline(experiment: Experiment) -> list[tuple[str, str, bool, int]]:
    """The numbers a sweep of this experiment is judged by, first the one it is ordered by:
    (metrics key, name, higher is better, decimals), as its model kind says."""
    config = experiment.config()
    return traits(config.model).headline(config.likelihood)


def write_sweep(
    experiment: Experiment, settings: dict[str, list], seeds: list[int], rows: list[tuple[dict, list[dict]]]
) -> Path:
    """The sweep's table (Markdown, printed too) and figure, in runs/sweeps/<experiment>/; ``rows``: each
    point of the grid and its records (``studies.sweep.recorded_rows``)."""
    numbers = headline(experiment)
    key, _, higher, _ = numbers[0]

    def rank(row):
        values = [r[key] for r in row[1] if r.get(key) is not None]
        return float("inf") if not values else (-1 if higher else 1) * sum(values) / len(values)

    rows.sort(key=rank)
    table = markdown_table(
        [*settings, "seeds", *(f"{label} (mean ± sd)" for _, label, _, _ in numbers)],
        [
            [str(point[k]) for k in settings]
            + [str(len(recorded))]
            + [
                plus_minus(recorded, k, d) or (fmt(recorded[0].get(k), d) if recorded else "–")
                for k, _, _, d in numbers
            ]
            for point, recorded in rows
        ],
    )
    stem = SWEEPS / experiment.name / "-".join(settings)
    stem.parent.mkdir(parents=True, exist_ok=True)
    command = (
        f"python -m latentlab sweep {experiment.name} "
        + " ".join(f"--set {k}={','.join(map(str, v))}" for k, v in settings.items())
        + f" --seeds {' '.join(map(str, seeds))}"
    )
    text = (
        f"# Sweep of {experiment.name}: {markdown_text(', '.join(settings))}\n\n{code_span(command)}\n\nOrdered by {numbers[0][1]} "
        f"({'higher' if higher else 'lower'} is better), best first; mean ± sd over the seeds recorded.\n\n{table}\n"
    )
    write_text_atomic(text, stem.with_suffix(".md"))
    panels = {label: _series(settings, rows, number) for number, label, _, _ in numbers}
    sweep_plot(
        panels, list(settings)[0], f"{experiment.name}: its headline numbers over the sweep", stem.with_suffix(".png")
    )
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
