"""A result folder never contradicts itself: one run at a time, nothing changes until the new model is
final, every folder named gets its own curve, and the commands write only what they say."""

import dataclasses
import json
import signal
import subprocess
import sys
from pathlib import Path

from latentlab.cli import main
from latentlab.core.files import LOCK_FILES, hold_folder

HOLDER = (
    "import sys, time\nfrom latentlab.core.files import hold_folder\n"
    "with hold_folder(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n"
)


def _hold_in_another_process(folder: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def _flags(config) -> list[str]:
    values = {k: v for k, v in dataclasses.asdict(config).items() if v is not None and k != "retrain"}
    return [f"--{k.replace('_', '-')}={v}" for k, v in values.items()]


def _contents(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name not in LOCK_FILES}


def test_a_second_run_into_a_folder_in_use_stops_at_once_naming_the_folder_and_writes_nothing(tiny_config, capsys):
    out = Path(tiny_config.out_dir)
    holder = _hold_in_another_process(out)
    try:
        assert main(["train", *_flags(tiny_config)]) == 1
    finally:
        holder.kill()
        holder.wait()
    error = capsys.readouterr().err
    assert str(out) in error and "in use by another run" in error and f"process {holder.pid}" in error
    assert _contents(out) == {}


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path):
    holder = _hold_in_another_process(tmp_path / "run")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with hold_folder(tmp_path / "run"):
        pass


def test_a_failed_retrain_leaves_the_folder_byte_for_byte(tiny_config, tmp_path, capsys):
    assert main(["train", *_flags(tiny_config)]) == 0
    out = Path(tiny_config.out_dir)
    before = _contents(out)
    broken = tmp_path / "broken" / "MNIST" / "raw"
    broken.mkdir(parents=True)
    for source in (Path(tiny_config.data_root) / "MNIST" / "raw").iterdir():
        (broken / source.name).write_bytes(source.read_bytes()[: 60 if "train-images" in source.name else None])
    bad = dataclasses.replace(tiny_config, epochs=3, lr=0.01, data_root=str(tmp_path / "broken"))
    assert main(["train", *_flags(bad), "--retrain"]) == 1
    assert _contents(out) == before


def test_a_run_stopped_by_a_nan_loss_writes_no_config_json(tiny_config, capsys):
    exploding = dataclasses.replace(tiny_config, lr=1e30)
    assert main(["train", *_flags(exploding)]) == 1
    assert "The loss became nan" in capsys.readouterr().err
    assert not (Path(tiny_config.out_dir) / "config.json").exists()


def test_config_json_is_written_with_the_finished_model(tiny_config):
    assert main(["train", *_flags(tiny_config)]) == 0
    written = json.loads((Path(tiny_config.out_dir) / "config.json").read_text())
    assert written["epochs"] == tiny_config.epochs and written["lr"] == tiny_config.lr


def test_bound_vs_k_draws_one_curve_per_folder_even_when_two_models_share_a_name(tiny_config, tmp_path, monkeypatch):
    import latentlab.commands as commands

    folders = []
    for name in ("first", "second"):
        config = dataclasses.replace(tiny_config, out_dir=str(tmp_path / name))
        assert main(["train", *_flags(config)]) == 0
        folders.append(config.out_dir)
    drawn = []
    monkeypatch.setattr(commands, "bound_vs_k", lambda curves, *args: drawn.append(curves))
    assert (
        main(
            [
                "bound-vs-k",
                *folders,
                "--ks",
                "1",
                "2",
                "--n-test",
                "8",
                "--data-root",
                tiny_config.data_root,
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert all(len(curves) == 2 for curves in drawn) and len(drawn) == 2
    assert all(any(folder in label for label in drawn[0]) for folder in folders)


def test_evaluate_keeps_the_runs_own_likelihood_bound_settings(tiny_config):
    config = dataclasses.replace(tiny_config, bound_samples=3, bound_test_images=16)
    assert main(["train", *_flags(config)]) == 0
    metrics = Path(config.out_dir) / "metrics.json"
    metrics.unlink()
    assert main(["evaluate", config.out_dir, "--data-root", config.data_root, "--device", "cpu"]) == 0
    measured = json.loads(metrics.read_text())
    assert (measured["bound_samples"], measured["bound_test_images"]) == (3, 16)


def test_report_with_output_writes_only_that_file(tmp_path, monkeypatch):
    from latentlab.experiments import VAE_RESULTS

    monkeypatch.chdir(tmp_path)
    (tmp_path / VAE_RESULTS).mkdir()  # a repository root: a result tree is there
    readme = "# x\n<!-- results:start -->\nold\n<!-- results:end -->\n"
    for name in ("README.md", "README.en.md"):
        (tmp_path / name).write_text(readme)
    assert main(["report", "--output", "preview.md"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["README.en.md", "README.md", VAE_RESULTS.name, "preview.md"]
    )
    assert all((tmp_path / name).read_text() == readme for name in ("README.md", "README.en.md"))


def test_a_command_on_a_folder_in_use_names_only_flags_it_has(tiny_config, capsys):
    out = Path(tiny_config.out_dir)
    assert main(["train", *_flags(tiny_config)]) == 0
    capsys.readouterr()
    holder = _hold_in_another_process(out)
    try:
        assert main(["evaluate", str(out)]) == 1
    finally:
        holder.kill()
        holder.wait()
    error = capsys.readouterr().err
    assert "in use by another run" in error and "--out-dir" not in error
