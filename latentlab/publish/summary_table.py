"""The short results table of the READMEs and index.html: one row per trained model, with the spread
over seeds in brackets, and a note on training time."""

from __future__ import annotations

from pathlib import Path

from ..core.data import unequal_classes
from ..core.kinds import traits
from ..core.recorded import read_json
from ..experiments import EXPERIMENTS, SCRIPT_EXPERIMENTS
from ..studies.records import default_runs, recipe_changes
from .names import run_label
from .tables import fmt, markdown_table, markdown_text, plus_minus, spread

SUMMARY_HEADER = ["model", "parameters", "test MSE", "ELBO", "NLL (nats)", "5-NN acc.", "epochs", "training"]


def balanced_beside(m: dict, key: str) -> str:
    """' (balanced 0.500)' after the accuracy ``key`` ("knn5", "pca_linear_probe") of a metrics.json whose
    classes are unequal; nothing elsewhere, so the published metrics.json files (balanced data sets, recorded
    before the key existed) keep their cells."""
    balanced = m.get(f"{key}_balanced_accuracy")
    unequal = balanced is not None and unequal_classes(m.get("images_per_class", {}))
    return f" (balanced {balanced:.3f})" if unequal else ""


def held_runs(root: Path = Path(".")) -> list[tuple]:
    """(experiment, its folder's metrics.json, how the run it holds changed the experiment's recipe) for each
    experiment whose folder holds a measured run: a folder is described by the run it holds."""
    held = []
    for e in EXPERIMENTS.values():
        path = root / e.out_dir / "metrics.json"
        if path.is_file():
            m = read_json(path, "metrics")
            held.append((e, m, recipe_changes(e, m)))
    return held


def _summary_row(label: str, m: dict, runs: list[dict]) -> list[str]:
    """The table's row of one folder, from its label, its metrics.json ``m`` and the seeded runs of its recipe
    (``runs``, [] for a retrained folder), whose spread follows each value in brackets."""

    def cell(key: str, digits: int) -> str:
        spread_text = plus_minus(runs, key, digits)
        return fmt(m.get(key), digits) + (f" ({spread_text})" if spread_text and m.get(key) is not None else "")

    return [
        label,
        f"{m['parameters']:,}",
        cell("test_mse", 4),
        cell("test_elbo", 2),
        cell("test_nll_nats", 2),
        cell("knn5_accuracy", 3) + balanced_beside(m, "knn5"),
        f"{m['epochs']}",
        f"{m['train_seconds'] / 60:.1f} min ({m['device']})",
    ]


def summary_rows(root: Path = Path(".")) -> tuple[list[list[str]], str]:
    """The short table of the READMEs and index.html: one row per trained model, and a note on time. A folder
    retrained with another recipe is named by what it holds, without the spread of its experiment's seeds."""
    rows, script_runs, seeded, binary, conditional, retrained = [], [], [], [], [], []
    for e, m, changes in held_runs(root):
        runs = [] if changes else default_runs(e, root / e.out_dir)
        label = run_label(e, changes)
        retrained += [e.name] if changes else []
        rows.append(_summary_row(label, m, runs))
        if e.script and not changes:  # the default runs of the scripts only
            script_runs.append(m)
        if m.get("likelihood") == "bernoulli":
            binary.append(label)
        if traits(e.config().model).conditional:
            conditional.append(label)
        if spread(runs, "test_mse"):
            seeded.append(
                f"{e.name} {len(runs)} ({', '.join(map(markdown_text, sorted({r['device'] for r in runs})))})"
            )
    return rows, _summary_note(retrained, seeded, binary, conditional, script_runs)


def _summary_note(
    retrained: list[str], seeded: list[str], binary: list[str], conditional: list[str], script_runs: list[dict]
) -> str:
    """The note under the table, a sentence for each list that is not empty: the retrained experiments' names,
    the seeded ones ("name count (devices)"), the labels of the Bernoulli and of the conditional models, and the
    scripts' default runs (their metrics.json), whose training time is summed once every script has one."""
    notes = []
    if retrained:
        notes.append(
            f"Retrained in its experiment's folder with another recipe, so shown without that recipe's "
            f"seeds: {'; '.join(retrained)}."
        )
    if seeded:
        notes.append(
            "In brackets: mean ± sd over seeds of the same recipe (`python -m latentlab seeds`; seeds "
            f"per experiment: {'; '.join(seeded)})."
        )
    if binary:
        notes.append(
            "The test MSE of a Bernoulli decoder is measured against the binarized test images it models "
            "(pixels 0 or 1), not the grey ones of the other rows: " + "; ".join(map(markdown_text, binary)) + "."
        )
    if conditional:
        notes.append(
            "The ELBO of a model given the label bounds log p(x|y), not log p(x): about log C nats of it "
            "(C classes; log 10 = 2.30 on MNIST) is the label's own information (RESULTS.md, \"The "
            'conditional VAE"): ' + "; ".join(map(markdown_text, conditional)) + "."
        )
    if len(script_runs) == len(SCRIPT_EXPERIMENTS):
        devices = ", ".join(map(markdown_text, sorted({m["device"] for m in script_runs})))  # read from JSON: text
        total = sum(m["train_seconds"] for m in script_runs) / 60
        notes.append(
            f"The default runs of the {len(script_runs)} scripts in Models/ trained for {total:.1f} min in total "
            f"({devices})."
        )
    return " ".join(notes)


def summary(root: Path = Path(".")) -> str:
    rows, note = summary_rows(root)
    table = markdown_table(SUMMARY_HEADER, rows)
    return f"{table}\n\n{note}" if note else table
