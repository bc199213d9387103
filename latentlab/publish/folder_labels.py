"""How a section of the report names a result folder: by the run its metrics.json records, which a script run
with ``--dataset FOLDER --retrain`` may have made another than its experiment's (issue 46)."""

from __future__ import annotations

from ..studies.records import recipe_changes
from .names import run_label


def folder_label(experiment, metrics: dict) -> str:
    """``run_label`` of the run that the folder's metrics.json ``metrics`` records."""
    return run_label(experiment, recipe_changes(experiment, metrics))
