"""Training: the loss falls, checkpoints round-trip, and a resumed run equals an uninterrupted one."""

import dataclasses
import json
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from latentlab import load_model
from latentlab.core.checkpoint import TrainingInterrupted
from latentlab.core.checkpoint_file import MODEL_FILE, PARTIAL_FILE, read_checkpoint
from latentlab.core.config import TrainConfig
from latentlab.core.training import train
from latentlab.workflow import run


def test_loss_falls_on_a_small_synthetic_set(tiny_config):
    state = train(dataclasses.replace(tiny_config, epochs=4)).state
    first, last = state["history"][0], state["history"][-1]
    assert last["train_recon"] + last["train_kl"] < 0.85 * (first["train_recon"] + first["train_kl"])


def test_load_model_rebuilds_the_trained_model_in_eval_mode(tiny_config):
    state = train(tiny_config).state
    model = load_model(f"{tiny_config.out_dir}/{MODEL_FILE}")
    assert not model.training and model.latent_dim == tiny_config.latent_dim
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state["model"][name]), name


def test_a_configuration_with_the_old_names_of_the_bound_settings_is_read_with_todays(tiny_config, capsys):
    # The committed model.pt files were written when bound_samples was is_samples (and so on).
    config = dataclasses.replace(tiny_config, bound_samples=7, bound_test_images=50)
    state = train(config).state
    old_names = {"bound_samples": "is_samples", "bound_test_images": "is_test_images"}
    state["config"] = {old_names.get(key, key): value for key, value in state["config"].items()}
    assert TrainConfig.from_dict(state["config"]) == config
    torch.save(state, f"{config.out_dir}/{MODEL_FILE}")
    read = read_checkpoint(Path(config.out_dir) / MODEL_FILE)["config"]
    assert list(read.items()) == list(dataclasses.asdict(config).items())  # today's names, in the same order
    train(config)
    assert "not retraining" in capsys.readouterr().out  # the same recipe


def test_finished_run_is_not_retrained(tiny_config, capsys):
    train(tiny_config)
    path = f"{tiny_config.out_dir}/{MODEL_FILE}"
    stamp = open(path, "rb").read()
    train(tiny_config)
    assert "not retraining" in capsys.readouterr().out
    assert open(path, "rb").read() == stamp


def test_rerunning_a_finished_folder_from_elsewhere_leaves_every_file_as_it_was(tiny_config):
    # As `make reproduce` does on a clean clone: the same folder, other run settings.
    config = dataclasses.replace(tiny_config, latent_dim=32)  # no walk GIFs: quicker
    run(config)
    folder = Path(config.out_dir)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    run(dataclasses.replace(config, data_root=config.data_root + "/.", device="auto"))
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_resumed_run_equals_an_uninterrupted_run(tiny_config, tmp_path):
    import _thread
    import threading

    config = dataclasses.replace(tiny_config, epochs=3)
    uninterrupted = train(dataclasses.replace(config, out_dir=str(tmp_path / "straight"))).state
    partial = Path(config.out_dir) / PARTIAL_FILE

    def press_ctrl_c_once_an_epoch_is_saved():  # as a user would, whatever the loop is doing then
        while not partial.exists():
            time.sleep(0.001)
        _thread.interrupt_main()

    # A shell starts background jobs (CI's, say) with SIGINT ignored, and interrupt_main then does nothing:
    # Python's own handler, as at a terminal, for the length of the run.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=press_ctrl_c_once_an_epoch_is_saved, daemon=True).start()
        with pytest.raises(TrainingInterrupted, match="holds epoch"):
            train(config)
    finally:
        signal.signal(signal.SIGINT, handler)
    assert 1 <= torch.load(partial, weights_only=True)["epoch"] < config.epochs
    resumed = train(config).state

    for name, tensor in uninterrupted["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    assert not partial.exists()


def test_run_writes_metrics_json_with_the_documented_fields(tiny_config):
    run(tiny_config)
    metrics = json.loads(open(f"{tiny_config.out_dir}/metrics.json").read())
    for key in (
        "model",
        "latent_dim",
        "epochs",
        "seed",
        "device",
        "train_seconds",
        "parameters",
        "test_mse",
        "test_recon_sse",
        "test_kl",
        "test_elbo",
        "history",
    ):
        assert key in metrics, key
    assert metrics["test_recon_sse"] == pytest.approx(784 * metrics["test_mse"])
    assert len(metrics["history"]) == tiny_config.epochs


@pytest.mark.parametrize("reused", [False, True], ids=["trains", "reuses its finished model"])
def test_a_run_reads_each_split_once_and_draws_from_the_model_training_handed_on(tiny_config, monkeypatch, reused):
    import latentlab.core.data as data
    import latentlab.core.measure as measure
    import latentlab.workflow as workflow

    config = dataclasses.replace(tiny_config, latent_dim=32)  # no walk GIFs: quicker
    if reused:
        run(config)
    reads, trained, drawn = [], [], []
    read_split, train, draw = data.read_split, measure.train, workflow.draw
    monkeypatch.setattr(data, "read_split", lambda c, split: reads.append(split) or read_split(c, split))
    monkeypatch.setattr(measure, "train", lambda c: trained.append(train(c)) or trained[-1])
    monkeypatch.setattr(workflow, "draw", lambda finished, *a: drawn.append(finished) or draw(finished, *a))
    run(config)
    assert sorted(reads) == ["test", "train"]
    # the figures get the very model and splits train returned: nothing opened from disk in between
    assert len(trained) == len(drawn) == 1 and drawn[0] is trained[0]


def test_same_seed_gives_the_same_metrics(tiny_config, tmp_path):
    config = dataclasses.replace(tiny_config, latent_dim=32)  # no walk GIFs: quicker
    a = run(dataclasses.replace(config, out_dir=str(tmp_path / "a"))).metrics
    b = run(dataclasses.replace(config, out_dir=str(tmp_path / "b"))).metrics
    assert a["test_elbo"] == b["test_elbo"] and a["test_mse"] == b["test_mse"]


def test_reproduce_runs_each_named_experiment_with_its_defaults_then_writes_the_report(monkeypatch, tmp_path):
    import latentlab.commands as commands
    from latentlab.experiments import BERNOULLI, EXPERIMENTS

    calls = []

    def run(config):
        calls.append(config)
        return SimpleNamespace(finished=f"the model of {config.out_dir}")

    monkeypatch.chdir(tmp_path)  # outside a checkout: no verdict (tests/test_verdict.py tests it)
    monkeypatch.setattr(commands, "run", run)
    monkeypatch.setattr(commands, "_write_surgery", lambda out, finished: calls.append(("surgery", finished)))
    monkeypatch.setattr(commands, "write_documents", lambda: calls.append("report"))
    commands.reproduce(["ae-2d", BERNOULLI.name], retrain=True, device="cpu", data_root="somewhere")

    first, second, surgery, last = calls
    assert {k: getattr(first, k) for k in EXPERIMENTS["ae-2d"].hyp} == EXPERIMENTS["ae-2d"].hyp
    assert {k: getattr(second, k) for k in BERNOULLI.hyp} == BERNOULLI.hyp
    assert (first.retrain, first.device, first.data_root) == (True, "cpu", "somewhere")
    assert surgery == ("surgery", f"the model of {second.out_dir}")  # the VAE's split of its ELBO, not the AE's
    assert last == "report"


def test_reproduce_computes_a_conditional_models_log_px_only_where_metrics_json_lacks_it_for_its_model(
    monkeypatch, tmp_path
):
    import latentlab.commands as commands
    from latentlab.core.kept import LOG_PX_KEY

    calls, kept = [], {}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(commands, "run", lambda config: SimpleNamespace(finished=config.out_dir))
    monkeypatch.setattr(commands, "_write_surgery", lambda out, finished: None)
    monkeypatch.setattr(commands, "_write_conditional_log_px", lambda out, finished: calls.append(finished))
    monkeypatch.setattr(commands, "saved_entry", lambda folder, key: kept.get((str(folder), key)))
    monkeypatch.setattr(commands, "write_documents", lambda: None)
    commands.reproduce(["cvae-2d"], retrain=False, device="cpu", data_root=None)
    assert len(calls) == 1  # missing: computed
    kept[(calls[0], LOG_PX_KEY)] = {"marginal": {}}
    commands.reproduce(["cvae-2d"], retrain=False, device="cpu", data_root=None)
    assert len(calls) == 1  # kept for the present model.pt: not computed again


def test_reproduce_skips_an_experiment_whose_data_set_is_missing_and_says_so_in_its_exit_status(
    monkeypatch, capsys, tmp_path
):
    import latentlab.commands as commands
    from latentlab.cli import main
    from latentlab.core.errors import DataSetMissing
    from latentlab.experiments import EXPERIMENTS

    fashion = EXPERIMENTS["vae-2d-fashion-mnist"]

    def run(config):
        if config.dataset != "mnist":
            raise DataSetMissing("Fashion-MNIST is not here. To get it, install dataset-fashion-mnist.")
        ran.append(config.out_dir)

    ran = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(commands, "run", run)
    monkeypatch.setattr(commands, "write_documents", lambda: ran.append("report"))
    assert main(["reproduce", "--only", "ae-2d", fashion.name]) == 3
    assert ran[-1] == "report" and len(ran) == 2
    error = capsys.readouterr().err
    assert "Skipped 1 of 2" in error and fashion.name in error and "dataset-fashion-mnist" in error


def test_figures_command_redraws_a_finished_folder_byte_for_byte(tiny_config):
    from latentlab.cli import main

    config = dataclasses.replace(tiny_config, latent_dim=32)  # no walk GIFs: quicker
    run(config)
    folder = Path(config.out_dir)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    (folder / "samples.png").unlink()
    assert main(["figures", str(folder), "--data-root", config.data_root, "--device", "cpu"]) == 0
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
