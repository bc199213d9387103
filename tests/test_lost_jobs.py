"""A study whose Slurm job vanishes (issue 37 §5): a job cancelled while pending, ended by its time limit or
no longer listed by squeue, with no record left, is reported as lost (with its log if it has one) while the
others are merged as they finish, and the command ends naming the lost seeds; Ctrl-C names what was recorded,
what was lost and what is still queued. Slurm is faked here (squeue's answers, submitit's job); .ci/run
cancels a pending job on a real one-node cluster."""

import json
import logging
import os
from types import SimpleNamespace

import pytest

import latentlab.studies.executors as executors
import latentlab.studies.study as study
from latentlab.core.errors import LatentlabError
from latentlab.experiments import EXPERIMENTS
from latentlab.studies.executors import SubmititJob, slurm_state
from latentlab.studies.study import StudyInterrupted, StudyRun, carry_out


class _SlurmJob:
    """What SubmititJob sees of submitit's SlurmJob. Its result() is submitit's: it waits until sacct says the
    job ended, which without accounting storage is never."""

    def __init__(self, job_id, folder, record, error=None):
        self.job_id, self.record, self.error = job_id, record, error
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = SimpleNamespace(result_pickle=folder / "result.pkl", stderr=folder / "log.err")

    def result(self):
        if not self.paths.result_pickle.exists():
            raise AssertionError("submitit's result() would wait for sacct here, forever")
        if self.error:
            raise RuntimeError(self.error)
        return self.record


class _Cluster:
    """A Slurm cluster whose squeue answers, call after call, each job's script of states; a job leaves its
    result (and its log) when its state becomes COMPLETED."""

    capacity, kind = None, "slurm"

    def __init__(self, root, scripts, error=None):
        self.root, self.scripts, self.error, self.jobs = root, scripts, error, {}

    def start(self, fn, run):
        job_id = str(100 + run.config.seed)
        recipe = run.config.recipe()
        error = self.error if run.config.seed == 2 else None
        job = _SlurmJob(
            job_id,
            self.root / "jobs" / job_id,
            {"seed": run.config.seed, "device": "cpu", "train_seconds": 1.0, "recipe": recipe, "test_mse": 0.5},
            error,
        )
        self.jobs[job_id] = job
        return SubmititJob(job, "slurm")

    def squeue(self, job_id):
        script = self.scripts[job_id]
        state = script.pop(0) if len(script) > 1 else script[0]
        job = self.jobs[job_id]
        if state in ("RUNNING", "COMPLETED"):
            job.paths.stderr.write_text("training...\n")
        if state == "COMPLETED":
            job.paths.result_pickle.write_text("done")
        return state

    def cancel_hint(self, handles):
        return f"To cancel them: scancel {' '.join(h.job_id for h in handles)}."


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / EXPERIMENTS["ae-2d"].out_dir).mkdir(parents=True)
    monkeypatch.setattr(SubmititJob, "poll_s", 0.0, raising=False)
    monkeypatch.setattr(SubmititJob, "grace_s", 0.0, raising=False)
    return tmp_path


def _runs(*seeds):
    return [StudyRun.of(EXPERIMENTS["ae-2d"], EXPERIMENTS["ae-2d"].config(seed=seed, device="cpu")) for seed in seeds]


def _recorded(root):
    return [run["seed"] for run in json.loads((root / EXPERIMENTS["ae-2d"].out_dir / "seeds.json").read_text())["runs"]]


def _sleeps(monkeypatch, limit):
    """time.sleep that returns at once, and raises KeyboardInterrupt (Ctrl-C) after ``limit`` calls."""
    calls = []

    def sleep(seconds):
        calls.append(seconds)
        if len(calls) > limit:
            raise KeyboardInterrupt

    monkeypatch.setattr(study.time, "sleep", sleep)
    return calls


@pytest.mark.parametrize(
    "ending, words",
    [
        (["PENDING", "CANCELLED"], ["was cancelled", "no log: it never started"]),
        (["PENDING", None], ["no longer listed by Slurm", "no log: it never started"]),
        (["PENDING", "RUNNING", "TIMEOUT"], ["ended by its time limit", "--time", "log: "]),
        (["PENDING", "RUNNING", "COMPLETED"], ["ended by its time limit", "--time", "log: "]),  # submitit's own report
    ],
)
def test_a_job_that_vanished_is_lost_the_others_are_merged_and_the_study_ends(root, monkeypatch, capsys, ending, words):
    error = (
        "UncompletedJobError: Job not requeued because: timed-out and not checkpointable."
        if "COMPLETED" in ending
        else None
    )
    cluster = _Cluster(
        root,
        {
            "101": ["RUNNING", "COMPLETED"],
            "102": list(ending),
            "103": ["PENDING", "RUNNING", "RUNNING", "RUNNING", "COMPLETED"],
        },
        error,
    )
    monkeypatch.setattr(executors, "slurm_state", cluster.squeue)
    _sleeps(monkeypatch, 100)  # the study must end long before: a hang is a Ctrl-C here
    with pytest.raises(LatentlabError) as ended:
        carry_out(_runs(1, 2, 3), cluster)
    message = str(ended.value)
    assert _recorded(root) == [1, 3]  # the finished jobs, merged as they finished
    assert "1 of 3 job(s) lost" in message and "seed 2" in message and "slurm job 102" in message
    assert (
        "Lost seed(s): 2." in message
        and "Run the same command again" in message
        and "recorded runs are skipped" in message
    )
    assert ("with a longer --time" in message) == ("--time" in words)
    assert "seed 1" not in message and "seed 3" not in message
    for word in words:
        assert word in message
    if "log: " in words:
        assert str(root / "jobs" / "102" / "log.err") in message
    assert "LOST ae-2d" in capsys.readouterr().out


def test_ctrl_c_names_what_was_recorded_what_was_lost_and_what_is_still_queued(root, monkeypatch):
    cluster = _Cluster(root, {"101": ["RUNNING", "COMPLETED"], "102": ["PENDING", "CANCELLED"], "103": ["PENDING"]})
    monkeypatch.setattr(executors, "slurm_state", cluster.squeue)
    _sleeps(monkeypatch, 10)
    with pytest.raises(StudyInterrupted) as stopped:
        carry_out(_runs(1, 2, 3), cluster)
    message = str(stopped.value)
    recorded, rest = message.split("Recorded by this call: ")[1].split(".", 1)
    assert "seed 1" in recorded and "seed 2" not in recorded and "seed 3" not in recorded
    lost, rest = rest.split("Lost (ended without a record): ")[1].split("Still queued or running: ")
    assert "seed 2" in lost and "slurm job 102 was cancelled" in lost
    assert "seed 3 (slurm job 103)" in rest and "seed 1" not in rest and "seed 2" not in rest
    assert "scancel 103." in rest
    assert _recorded(root) == [1]


def test_squeue_s_answers_job_gone_from_squeue_failed(tmp_path, monkeypatch):
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    squeue = bin_folder / "squeue"
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    for script, state in [
        ("echo PENDING", "PENDING"),
        ("true", None),
        ("echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1", None),
        ("echo 'slurm_load_jobs error: Unable to contact slurm controller' >&2; exit 1", executors.SQUEUE_FAILED),
    ]:
        squeue.write_text(f"#!/bin/sh\n{script}\n")
        squeue.chmod(0o755)
        assert slurm_state("7") == state, script


def test_squeue_failing_is_asked_again_not_taken_for_a_lost_job(root, monkeypatch):
    cluster = _Cluster(root, {"101": [executors.SQUEUE_FAILED, executors.SQUEUE_FAILED, "RUNNING", "COMPLETED"]})
    monkeypatch.setattr(executors, "slurm_state", cluster.squeue)
    _sleeps(monkeypatch, 100)
    carry_out(_runs(1), cluster)
    assert _recorded(root) == [1]


def test_submitits_sacct_warning_is_said_once(caplog):
    log = logging.getLogger("submitit")
    for installed in [f for f in log.filters if isinstance(f, executors._SacctWarningOnce)]:
        log.removeFilter(installed)  # a fresh process's filter, whatever the tests before said
    executors.quiet_sacct_warnings()
    executors.quiet_sacct_warnings()  # installed once however many executors are made
    with caplog.at_level(logging.WARNING, logger="submitit"):
        for call in range(1, 6):
            log.warning(
                f"Call #{call} - Bypassing sacct error Command '['sacct']' returned non-zero exit status 1., "
                "status may be inaccurate."
            )
        log.warning("Another warning")
    messages = [record.getMessage() for record in caplog.records]
    assert (
        len(messages) == 2 and "Call #1" in messages[0] and "squeue" in messages[0] and messages[1] == "Another warning"
    )


def test_files_an_earlier_job_of_the_same_number_left_are_not_this_jobs(root, monkeypatch):
    """Slurm numbers its jobs anew when its state is lost: job 102's folder may hold an earlier job's files."""
    old = root / "jobs" / "102"
    old.mkdir(parents=True)
    (old / "result.pkl").write_text("an earlier job's result")
    (old / "log.err").write_text("an earlier job's log\n")
    cluster = _Cluster(root, {"101": ["RUNNING", "COMPLETED"], "102": ["PENDING", "PENDING", "CANCELLED"]})
    monkeypatch.setattr(executors, "slurm_state", cluster.squeue)
    _sleeps(monkeypatch, 100)
    with pytest.raises(LatentlabError) as ended:
        carry_out(_runs(1, 2), cluster)
    assert "slurm job 102 was cancelled" in str(ended.value) and "no log: it never started" in str(ended.value)
    assert _recorded(root) == [1]
