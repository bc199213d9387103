"""One run from start to finish: configuration -> trained model -> metrics.json (-> figures)."""

from __future__ import annotations

from pathlib import Path

from .checkpoint import write_json_atomic
from .config import TrainConfig
from .metrics import summary_metrics
from .training import check_writable, load_splits, pick_device, train, trained_model


def run(config: TrainConfig) -> dict:
    """Train (or reuse) the model of ``config`` and write its metrics; return the metrics."""
    print("Configuration:\n" + config.to_json())
    out = Path(config.out_dir)
    check_writable(out)
    pick_device(config.device)  # an unusable --device fails before anything is written
    write_json_atomic(config.__dict__, out / "config.json")
    state = train(config)
    device = pick_device(config.device)
    model = trained_model(state, device)
    _, test = load_splits(config, device)
    metrics = summary_metrics(model, TrainConfig.from_dict(state["config"]), state, test)
    write_json_atomic(metrics, out / "metrics.json")
    shown = {k: v for k, v in metrics.items() if k.startswith("test_")}
    print("Test metrics: " + ", ".join(f"{k} {v:.5g}" for k, v in shown.items()))
    return metrics
