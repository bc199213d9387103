"""Studies beyond one process: each run one job (local processes through submitit here; Slurm in .ci/run),
records merged as jobs finish and never lost or doubled, failures reported while the others go on, nothing
submitted twice, Ctrl-C says what is still under way, and a sweep tabulates its grid."""

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TINY_WIDTHS, write_mnist
from latentlab.cli import main
from latentlab.experiments import EXPERIMENTS, Experiment
from latentlab.studies import records
from latentlab.studies.executors import JOB_FILE, LocalJobs
from latentlab.studies.study import RECORD_FILE, StudyInterrupted, StudyRun, carry_out

TINY = {"epochs": 1, "batch_size": 32, **TINY_WIDTHS, "bound_samples": 2, "bound_test_images": 8}


@pytest.fixture
def study_root(tmp_path, monkeypatch):
    """A repository root with the 2-D AE's result folder, its recipe made tiny, and synthetic MNIST."""
    data = write_mnist(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(EXPERIMENTS, "ae-2d", Experiment({**EXPERIMENTS["ae-2d"].hyp, **TINY}))
    (tmp_path / EXPERIMENTS["ae-2d"].out_dir).mkdir(parents=True)
    return tmp_path, data


def _published(root: Path) -> list[dict]:
    return json.loads((root / EXPERIMENTS["ae-2d"].out_dir / "seeds.json").read_text())["runs"]


def _numbers(run: dict) -> dict:
    return {key: value for key, value in run.items() if key != "train_seconds"}


def test_local_jobs_record_the_same_numbers_as_runs_in_this_process_with_the_same_threads(study_root, monkeypatch):
    root, data = study_root
    flags = [
        "seeds",
        "--only",
        "ae-2d",
        "--seeds",
        "1",
        "2",
        "--device",
        "cpu",
        "--data-root",
        str(data),
        "--threads",
        "1",
    ]
    assert main([*flags, "--jobs", "2"]) == 0
    as_jobs = _published(root)
    assert [run["seed"] for run in as_jobs] == [1, 2] and all(run["threads"] == 1 for run in as_jobs)
    assert sorted(p.name for p in (root / "runs" / "seeds" / "jobs").iterdir())  # submitit's logs, one folder per job
    assert main([*flags, "--retrain"]) == 0  # the same seeds again, in this process
    assert [_numbers(run) for run in _published(root)] == [_numbers(run) for run in as_jobs]


def test_a_failed_job_is_reported_with_its_log_the_others_are_recorded_and_the_next_call_runs_only_it(
    study_root, capsys
):
    root, data = study_root
    broken = root / "runs" / "seeds" / "ae-2d" / "default" / "seed2"
    broken.mkdir(parents=True)
    (broken / "model.pt").write_text("not a checkpoint")  # the job of seed 2 fails on it
    flags = [
        "seeds",
        "--only",
        "ae-2d",
        "--seeds",
        "1",
        "2",
        "--device",
        "cpu",
        "--data-root",
        str(data),
        "--jobs",
        "2",
    ]
    assert main(flags) == 1
    error = capsys.readouterr().err
    assert (
        "1 of 2 run(s) failed" in error
        and "seed 2" in error
        and "log:" in error
        and "not a latentlab checkpoint" in error
    )
    assert [run["seed"] for run in _published(root)] == [1]
    (broken / "model.pt").unlink()
    assert main(flags) == 0
    out = capsys.readouterr().out
    assert "seed 1: already in" in out and out.count("local job") == 1
    assert [run["seed"] for run in _published(root)] == [1, 2]


def test_a_run_whose_job_is_still_running_is_not_submitted_again(study_root, capsys):
    root, data = study_root
    scratch = root / "runs" / "seeds" / "ae-2d" / "default" / "seed1"
    scratch.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (scratch / JOB_FILE).write_text(json.dumps({"executor": "local", "job_id": str(sleeper.pid), "log": "x"}))
        assert main(["seeds", "--only", "ae-2d", "--seeds", "1", "--device", "cpu", "--data-root", str(data)]) == 0
    finally:
        sleeper.kill()
    assert "still queued or running; not submitted again" in capsys.readouterr().out
    assert not (scratch / "model.pt").exists()


def test_collect_records_what_finished_without_running_anything(study_root, capsys):
    root, data = study_root
    scratch = root / "runs" / "seeds" / "ae-2d" / "default" / "seed3"
    scratch.mkdir(parents=True)
    recipe = EXPERIMENTS["ae-2d"].config(seed=3).recipe()
    (scratch / RECORD_FILE).write_text(
        json.dumps({"seed": 3, "device": "cpu", "train_seconds": 1.0, "recipe": recipe, "test_mse": 0.5})
    )
    assert main(["seeds", "--only", "ae-2d", "--seeds", "3", "4", "--collect", "--device", "cpu"]) == 0
    assert [run["seed"] for run in _published(root)] == [3]
    assert "1 run(s) neither recorded nor under way" in capsys.readouterr().out
    assert not (root / "runs" / "seeds" / "ae-2d" / "default" / "seed4").exists()


def _merge_one(args):
    path, seed = args
    recipe = {"model": "ae", "latent_dim": 2, "seed": seed}
    records.merge(
        Path(path),
        "ae-2d",
        {"seed": seed, "device": "cpu", "train_seconds": 1.0, "recipe": recipe, "test_mse": seed / 100},
    )


def test_records_of_jobs_that_finish_at_the_same_moment_are_all_merged_once(tmp_path):
    path = tmp_path / "result" / "seeds.json"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_merge_one, [(str(path), seed) for seed in range(16)] * 2)  # every record twice, all at once
    assert [run["seed"] for run in json.loads(path.read_text())["runs"]] == list(range(16))


class _Queued:
    """A job that never finishes, as a queued Slurm job looks to the command that submitted it."""

    def __init__(self, number):
        self.job_id, self.log = str(1000 + number), f"runs/seeds/jobs/{1000 + number}/log.err"

    def done(self):
        return False


class _Cluster:
    capacity, kind = None, "slurm"

    def __init__(self):
        self.started = 0

    def start(self, fn, run):
        self.started += 1
        return _Queued(self.started)

    def cancel_hint(self, handles):
        return f"To cancel them: scancel {' '.join(h.job_id for h in handles)}. Later: the same command with --collect."


def test_ctrl_c_says_which_jobs_are_still_queued_and_how_to_cancel_or_collect_them(study_root, monkeypatch):
    import latentlab.studies.study as study

    runs = [StudyRun.of(EXPERIMENTS["ae-2d"], EXPERIMENTS["ae-2d"].config(seed=seed, device="cpu")) for seed in (1, 2)]

    def interrupt(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(study.time, "sleep", interrupt)
    with pytest.raises(StudyInterrupted) as stopped:
        carry_out(runs, _Cluster())
    message = str(stopped.value)
    assert "slurm job 1001" in message and "slurm job 1002" in message
    assert "scancel 1001 1002" in message and "--collect" in message


def test_a_sweep_tabulates_every_recipe_best_first_and_draws_it(study_root, capsys):
    root, data = study_root
    assert (
        main(
            [
                "sweep",
                "ae-2d",
                "--set",
                "lr=0.001,0.01",
                "--seeds",
                "0",
                "1",
                "--device",
                "cpu",
                "--data-root",
                str(data),
                "--jobs",
                "2",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    table = (root / "runs" / "sweeps" / "ae-2d" / "lr.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| 0.0")]
    assert len(rows) == 2 and all("| 2 |" in row for row in rows)
    means = [float(row.split("|")[3].split("±")[0]) for row in rows]
    assert means == sorted(means)  # the AE's test MSE: lower is better, best first
    assert (root / "runs" / "sweeps" / "ae-2d" / "lr.png").stat().st_size > 10_000
    assert "python -m latentlab sweep ae-2d --set lr=0.001,0.01 --seeds 0 1" in table


@pytest.mark.parametrize(
    "flag, words",
    [
        ("lr=abc", "expected a number"),
        ("out_dir=x", "recipe's settings"),
        ("seed=1,2", "--seeds"),
        ("model=ae,gan", "not one of"),
    ],
)
def test_a_bad_sweep_setting_exits_2_naming_it(flag, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", "ae-2d", "--set", flag])
    assert exit_.value.code == 2 and words in capsys.readouterr().err


def test_slurm_without_sbatch_is_one_clear_error(study_root, monkeypatch, capsys):
    root, data = study_root
    monkeypatch.setenv("PATH", str(root))  # no sbatch here
    assert main(["seeds", "--only", "ae-2d", "--seeds", "1", "--cluster", "slurm", "--device", "cpu"]) == 1
    assert "needs Slurm's sbatch" in capsys.readouterr().err


def test_local_jobs_share_the_cores_by_default():
    jobs = LocalJobs(capacity=2, threads=max(1, (os.cpu_count() or 2) // 2), folder=Path("unused"))
    assert jobs.threads * jobs.capacity <= max(2, os.cpu_count() or 2)


def test_ctrl_c_during_a_run_in_this_process_stops_the_whole_study(study_root, monkeypatch):
    import latentlab.studies.study as study
    from latentlab.core.checkpoint import TrainingInterrupted
    from latentlab.studies.executors import InProcess

    started = []

    def interrupted_run(run, threads):
        started.append(run.config.seed)
        raise TrainingInterrupted("Interrupted during epoch 1; nothing was saved.")

    monkeypatch.setattr(study, "run_job", interrupted_run)
    runs = [StudyRun.of(EXPERIMENTS["ae-2d"], EXPERIMENTS["ae-2d"].config(seed=seed, device="cpu")) for seed in (1, 2)]
    with pytest.raises(TrainingInterrupted):
        carry_out(runs, InProcess(threads=None))
    assert started == [1]  # the second run never started, and the first was not reported as a failure
