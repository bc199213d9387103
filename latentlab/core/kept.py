"""The entries of metrics.json that a command other than ``evaluate`` adds, and that metrics.json keeps when it is
written again (core/measure.py) while they were computed from the folder's present model.pt: each carries the
model's sha256."""

from __future__ import annotations

from pathlib import Path

from .errors import RecordRefused
from .files import file_sha256
from .recorded import read_json

SURGERY_KEY = "elbo_surgery"  # python -m latentlab surgery (core/surgery.py, issue 48)
LOG_PX_KEY = "log_px_quadrature"  # python -m latentlab posterior on a conditional 2-D model (core/log_likelihood.py)
KEPT = (SURGERY_KEY, LOG_PX_KEY)


def saved_entry(folder: Path, key: str) -> dict | None:
    """metrics.json's entry ``key`` in ``folder`` if it was computed from the present model.pt; None when there
    is none, or when the file is refused (it is being written afresh)."""
    path, model = Path(folder) / "metrics.json", Path(folder) / "model.pt"
    if not (path.is_file() and model.is_file()):
        return None
    try:
        entry = read_json(path, "metrics").get(key)
    except RecordRefused:
        return None
    return entry if entry is not None and entry.get("model_sha256") == file_sha256(model) else None
