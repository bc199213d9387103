"""The real command line: bad input gets one clear message and a non-zero exit, and nothing is lost."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import TINY_WIDTHS, as_flags, write_mnist

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "Models" / "Variational_AutoEncoder.py"
TINY = [*as_flags(TINY_WIDTHS), "--batch-size", "32", "--device", "cpu"]


def run(args, env=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=300,
        **kwargs,
    )


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--latent-dim", "0", ">= 1"),
        ("--epochs", "-1", ">= 1"),
        ("--batch-size", "0", ">= 1"),
        ("--lr", "0", "> 0"),
        ("--lr", "abc", "expected a number"),
        ("--beta", "-1", ">= 0"),
        ("--device", "tpu", "invalid choice"),
        ("--train-limit", "0", ">= 1"),
    ],
)
def test_out_of_range_values_exit_2_naming_the_flag_and_writing_nothing(tmp_path, flag, value, words):
    out = tmp_path / "out"
    result = run(["-m", "latentlab", "train", flag, value, "--out-dir", out])
    assert result.returncode == 2
    assert flag in result.stderr and words in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_unknown_flag_exits_2(tmp_path):
    result = run([SCRIPT, "--no-such-flag", "--out-dir", tmp_path / "out"])
    assert result.returncode == 2 and "--no-such-flag" in result.stderr
    assert not (tmp_path / "out").exists()


def test_help_and_bad_flags_are_answered_before_torch_is_imported():
    probe = (
        "import sys\nfrom latentlab.cli import experiment_config, main\nfrom latentlab.experiments import EXPERIMENTS\n"
        "hyp = EXPERIMENTS['vae-32d'].hyp\n"
        "for call in (lambda: experiment_config(hyp, 'x.py', ['--help']), lambda: main(['train', '--epochs', '0'])):\n"
        "    try:\n        call()\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules)"
    )
    result = run(["-c", probe])
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda_is_one_clear_line(tmp_path):
    result = run([SCRIPT, "--device", "cuda", "--out-dir", tmp_path / "out"])
    assert result.returncode == 1
    assert "--device cuda" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_unwritable_output_folder_fails_before_training(tmp_path, mnist_root):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    result = run([SCRIPT, "--out-dir", locked / "run", "--data-root", mnist_root, *TINY])
    assert result.returncode == 1 and "Cannot write" in result.stderr
    assert "epoch" not in result.stdout


def test_output_path_that_is_a_file_fails_before_training(tmp_path, mnist_root):
    blocker = tmp_path / "results"
    blocker.write_text("a file where the result folder should be")
    result = run([SCRIPT, "--out-dir", blocker / "run", "--data-root", mnist_root, *TINY])
    assert result.returncode == 1 and "Cannot write" in result.stderr and "Traceback" not in result.stderr
    assert "Training" not in result.stdout
    assert blocker.read_text() == "a file where the result folder should be"


def test_missing_mnist_names_the_root_the_files_and_the_fixes(tmp_path):
    empty = tmp_path / "nothing-here"
    result = run([SCRIPT, "--out-dir", tmp_path / "out", *TINY], env={"MNIST_ROOT": str(empty)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for words in (str(empty), "train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "--data-root", "MNIST_ROOT"):
        assert words in result.stderr, words


def test_ctrl_c_saves_the_last_epoch_exits_130_and_resuming_matches_an_uninterrupted_run(tmp_path):
    # Epochs long enough (256 steps) that the signal, sent as soon as the first epoch's
    # checkpoint appears, lands while training is still under way.
    root = write_mnist(tmp_path / "data", n_train=4096, n_test=64)
    common = [SCRIPT, "--data-root", root, "--epochs", "3", *TINY, "--batch-size", "16"]
    straight = run([*common, "--out-dir", tmp_path / "straight"])
    assert straight.returncode == 0, straight.stderr

    out = tmp_path / "interrupted"
    # A shell starts background jobs with SIGINT ignored, and a child inherits that: give the run
    # the default disposition so that Python turns the signal into KeyboardInterrupt, as at a terminal.
    process = subprocess.Popen(
        [sys.executable, *map(str, common), "--out-dir", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while not (out / "model.partial.pt").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert process.returncode == 130
    assert "Run the same command again to resume" in stderr and "Traceback" not in stderr
    assert not (out / "config.json").exists()  # written only with the finished model

    resumed = run([*common, "--out-dir", out])
    assert resumed.returncode == 0 and "Resuming" in resumed.stdout
    a = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)["model"]
    b = torch.load(out / "model.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_flag_cut_short_is_refused_not_taken_for_the_flag_it_begins(capsys):
    import pytest

    from latentlab.cli import experiment_config, main

    with pytest.raises(SystemExit) as script:
        experiment_config({"model": "vae", "latent_dim": 2, "out_dir": "x"}, "Models/x.py", ["--epoch", "3"])
    assert script.value.code == 2 and "unrecognized arguments: --epoch 3" in capsys.readouterr().err
    with pytest.raises(SystemExit) as command:
        main(["train", "--epoch", "3"])
    assert command.value.code == 2 and "unrecognized arguments: --epoch 3" in capsys.readouterr().err


def test_a_script_asked_for_a_setting_only_train_takes_says_so_in_one_line(capsys):
    from latentlab.cli import experiment_config

    with pytest.raises(SystemExit) as script:
        experiment_config({"model": "ae", "latent_dim": 2, "out_dir": "x"}, "Models/x.py", ["--latent-dim", "0"])
    error = capsys.readouterr().err
    assert script.value.code == 2 and error.count("\n") == 1
    assert "--latent-dim is fixed by this script's experiment; python -m latentlab train takes it" in error


def test_a_bad_flag_is_one_line_that_points_to_the_commands_own_help(capsys):
    from latentlab.cli import main

    with pytest.raises(SystemExit):
        main(["evaluate", "folder", "--out-dir"])
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "usage:" not in error
    assert "unrecognized arguments: --out-dir (python -m latentlab evaluate --help lists its flags)" in error
