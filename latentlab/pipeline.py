"""One run from start to finish: configuration -> trained model -> metrics.json -> figures."""

from __future__ import annotations

from pathlib import Path

from .checkpoint import MODEL_FILE, read_checkpoint, write_json_atomic
from .config import TrainConfig
from .data import DeviceSplit, load_split
from .gallery import write_gallery
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
    write_gallery(model, state, test, out)
    return metrics


def rebuild_figures(folder: Path, data_root: str | None, device_name: str = "auto") -> None:
    """Redraw every figure of a result folder from its model.pt and the test split alone."""
    folder = Path(folder)
    state = read_checkpoint(folder / MODEL_FILE)
    check_writable(folder)
    device = pick_device(device_name)
    test = DeviceSplit(*load_split(TrainConfig(data_root=data_root).resolved_data_root(), "test"), device)
    write_gallery(trained_model(state, device), state, test, folder)
