"""Where a study's jobs run: in this process one after another (the default), as N local processes at once
(``--jobs N``, submitit's LocalExecutor), or on a Slurm cluster (``--cluster slurm``, submitit's Slurm
executor). Each starts a job, says whether it is done, gives its result or its failure with the log to
read, and says how to cancel it; ``study`` decides what to run. Scheduling is submitit's and Slurm's:
the local executor runs every job it is given at once, so at most ``capacity`` are given at a time.

A Slurm job is watched with squeue, not with submitit's sacct: a cluster without accounting storage has no
sacct to ask, and submitit would wait forever for a job that ended without a result (cancelled while
pending, killed at its time limit). Such a job is ``JobLost``: it ended, or Slurm no longer lists it, and it
left no result.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import Interrupted, LatentlabError
from ..core.files import write_json_atomic
from ..core.recorded import read_json

JOB_FILE = "job.json"  # in a run's scratch folder: the job submitted for it, so that a second call waits for it
ACTIVE_SLURM_STATES = {
    "PENDING",
    "RUNNING",
    "CONFIGURING",
    "COMPLETING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "RESIZING",
    "SUSPENDED",
    "STAGE_OUT",
    "SIGNALING",
    "RESV_DEL_HOLD",
    "REQUEUE_FED",
}
SQUEUE_FAILED = "SQUEUE_FAILED"  # squeue could not answer (not the same as a job Slurm no longer lists)


class JobLost(Exception):
    """A job that ended without leaving a result: cancelled, ended by its time limit, killed with its node,
    or no longer listed by Slurm. ``state`` is Slurm's (None: no longer listed)."""

    def __init__(self, job_id: str, state: str | None, log: Path | None, time_min: int | None = None):
        self.job_id, self.state, self.log, self.time_min = job_id, state, log, time_min
        if state is None:
            what = "is no longer listed by Slurm (squeue) and left no result: it was cancelled or killed"
        elif state == "CANCELLED":
            what = "was cancelled (scancel) before it left a result"
        elif state == "TIMEOUT":
            limit = f" of {time_min} min" if time_min else ""
            what = f"was ended by its time limit{limit} before it left a result (--time MINUTES gives it more)"
        else:
            what = f"ended as {state} without leaving a result"
        if log is not None and Path(log).is_file() and Path(log).stat().st_size:
            where = f"log: {log}"
        else:
            where = "no log: it never started" if state in (None, "CANCELLED") else "it left no log"
        super().__init__(f"slurm job {job_id} {what} ({where})")


class Finished:
    """A job that ran in this process: done as soon as it exists."""

    def __init__(self, fn, *args):
        self.job_id, self.log = None, None
        try:
            self._result, self._error = fn(*args), None
        except (KeyboardInterrupt, SystemExit, Interrupted):  # Ctrl-C stops the study, not just this run
            raise
        except Exception as error:  # a failed run is reported with the others; the study goes on
            self._result, self._error = None, error

    def done(self) -> bool:
        return True

    def result(self) -> dict:
        if self._error is not None:
            raise self._error
        return self._result


class SubmititJob:
    """A job of submitit's (local or Slurm). A Slurm job is done once its result is there or once squeue no
    longer says it is queued or running (asked at most every ``poll_s`` seconds); a job that ended without a
    result is given ``grace_s`` more seconds for its result file to appear on a shared file system, and is
    then lost (``result`` raises ``JobLost``)."""

    poll_s = 5.0
    grace_s = 10.0

    def __init__(self, job, kind: str, time_min: int | None = None):
        self.job, self.kind, self.job_id, self.time_min = job, kind, str(job.job_id), time_min
        self.log = job.paths.stderr
        self._asked_at = float("-inf")
        self._ended_at = None  # when squeue first said the job was no longer queued or running
        self.state = None  # Slurm's last word on the job
        # Slurm numbers its jobs anew when its state is lost (or on another cluster that shares this folder):
        # files an earlier job of the same number left in its folder are not this job's
        self._stale = {path: _mtime(path) for path in (job.paths.result_pickle, self.log)}

    def _fresh(self, path: Path) -> bool:
        mtime = _mtime(path)
        return mtime is not None and mtime != self._stale[path]

    def _has_result(self) -> bool:
        return self._fresh(self.job.paths.result_pickle)

    def done(self) -> bool:
        if self._has_result():
            return True
        if self.kind != "slurm":
            return self.job.done()
        now = time.monotonic()
        if self._ended_at is None and now - self._asked_at < self.poll_s:
            return False
        self._asked_at = now
        if self._ended_at is None:
            state = slurm_state(self.job_id)
            if state in ACTIVE_SLURM_STATES or state == SQUEUE_FAILED:  # a failed squeue is asked again
                return False
            self.state, self._ended_at = state, now
        return now - self._ended_at >= self.grace_s

    def result(self) -> dict:
        log = self.log if self._fresh(self.log) else None
        if self.kind == "slurm" and not self._has_result():  # submitit would wait for sacct here, forever
            raise JobLost(self.job_id, self.state, log, self.time_min)
        try:
            return self.job.result()
        except Exception as error:
            if "Job not requeued because: timed-out" in str(error):  # submitit caught Slurm's warning signal
                raise JobLost(self.job_id, "TIMEOUT", log, self.time_min) from None
            raise


def _mtime(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def slurm_state(job_id: str) -> str | None:
    """The job's state as squeue says it; None once Slurm no longer lists it (it keeps an ended job for
    MinJobAge, 300 s by default); SQUEUE_FAILED when squeue could not answer."""
    try:
        done = subprocess.run(
            ["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return SQUEUE_FAILED
    lines = done.stdout.split()
    if done.returncode == 0:
        return lines[0] if lines else None
    return None if "invalid job id" in done.stderr.lower() else SQUEUE_FAILED


class _SacctWarningOnce(logging.Filter):
    """Lets submitit's "Bypassing sacct error" warning through once: without accounting storage sacct fails
    on every call, and the jobs are watched with squeue anyway."""

    def __init__(self):
        super().__init__()
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "Bypassing sacct error" not in record.getMessage():
            return True
        if self.seen:
            return False
        self.seen = True
        record.msg = (
            f"{record.getMessage()} (said once: latentlab watches its Slurm jobs with squeue; "
            "sacct needs accounting storage)"
        )
        record.args = ()
        return True


def quiet_sacct_warnings() -> None:
    """Install the filter on submitit's logger, once."""
    log = logging.getLogger("submitit")
    if not any(isinstance(existing, _SacctWarningOnce) for existing in log.filters):
        log.addFilter(_SacctWarningOnce())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class InProcess:
    """Today's behaviour: each run in this process, one after another, with ``threads`` threads (None:
    PyTorch's default, the machine's cores)."""

    threads: int | None
    capacity: int = 1
    kind: str = "in-process"

    def start(self, fn, run) -> Finished:
        import torch

        threads = torch.get_num_threads()
        try:
            return Finished(fn, run, self.threads)
        finally:
            torch.set_num_threads(threads)  # the run's thread count is the run's, not this process's from now on

    def cancel_hint(self, handles: list) -> str:
        return ""


@dataclass
class LocalJobs:
    """``--jobs N``: N local processes at once, each with ``threads`` threads and, on a machine with GPUs,
    one GPU (round robin)."""

    capacity: int
    threads: int
    folder: Path
    gpus: int = 0
    kind: str = "local"
    _started: int = field(default=0, repr=False)

    def __post_init__(self):
        import submitit

        self.executor = submitit.LocalExecutor(folder=str(self.folder / "%j"))
        self.executor.update_parameters(timeout_min=7 * 24 * 60)  # a run ends when it is done, not at a deadline

    def start(self, fn, run) -> SubmititJob:
        if self.gpus:
            self.executor.update_parameters(gpus_per_node=1, visible_gpus=[self._started % self.gpus])
        self._started += 1
        return SubmititJob(self.executor.submit(fn, run, self.threads), self.kind)

    def cancel_hint(self, handles: list) -> str:
        return (
            "The local jobs end with this command (Ctrl-C reaches them too). Run the same command again to go on: "
            "finished runs are recorded, and only the missing ones start again."
        )


@dataclass
class SlurmJobs:
    """``--cluster slurm``: one sbatch job per run, submitted through submitit; Slurm queues them."""

    folder: Path
    threads: int
    partition: str | None = None
    time_min: int = 24 * 60
    gpus: int = 0
    sbatch: dict = field(default_factory=dict)
    capacity: int | None = None
    kind: str = "slurm"

    def __post_init__(self):
        import shutil

        import submitit

        if shutil.which("sbatch") is None:
            raise LatentlabError(
                "--cluster slurm needs Slurm's sbatch on the PATH, and there is none here. Run "
                "the study on a machine of the cluster, or use --jobs N for local processes."
            )
        self.executor = submitit.AutoExecutor(folder=str(self.folder / "%j"), cluster="slurm")
        parameters = {
            "timeout_min": self.time_min,
            "cpus_per_task": self.threads,
            "slurm_additional_parameters": self.sbatch,
        }
        if self.partition:
            parameters["slurm_partition"] = self.partition
        if self.gpus:
            parameters["gpus_per_node"] = self.gpus
        self.executor.update_parameters(name="latentlab", **parameters)
        quiet_sacct_warnings()

    def start(self, fn, run) -> SubmititJob:
        return SubmititJob(self.executor.submit(fn, run, self.threads), self.kind, self.time_min)

    def cancel_hint(self, handles: list) -> str:
        ids = " ".join(handle.job_id for handle in handles)
        return (
            f"They stay in Slurm's queue. To cancel them: scancel {ids}. To record what has finished later, "
            "without submitting anything: the same command with --collect."
        )


def write_job_file(scratch: Path, handle, kind: str) -> None:
    """Note the job submitted for a run in its scratch folder, so that a second call does not submit it again."""
    if handle.job_id is not None:
        scratch.mkdir(parents=True, exist_ok=True)
        write_json_atomic({"executor": kind, "job_id": handle.job_id, "log": str(handle.log)}, scratch / JOB_FILE)


def submitted_and_unfinished(scratch: Path) -> dict | None:
    """The job noted in a run's scratch folder if it is still queued or running (wherever it was submitted
    from), else None."""
    path = scratch / JOB_FILE
    record = read_json(path, "job") if path.is_file() else {}
    if record.get("executor") == "local" and _alive(int(record["job_id"])):
        return record
    if record.get("executor") == "slurm" and slurm_state(str(record["job_id"])) in ACTIVE_SLURM_STATES:
        return record
    return None


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def make_executor(
    jobs: int | None,
    cluster: str | None,
    threads: int | None,
    folder: Path,
    device: str,
    partition: str | None = None,
    time_min: int = 24 * 60,
    gpus: int = 0,
    sbatch: dict | None = None,
):
    """The executor the flags ask for: in this process, ``jobs`` local processes, or the Slurm cluster."""
    if cluster == "slurm":
        return SlurmJobs(folder, threads or 1, partition, time_min, gpus, sbatch or {})
    if jobs is None:
        return InProcess(threads)
    import torch

    gpus_here = torch.cuda.device_count() if device in ("auto", "cuda") else 0
    return LocalJobs(jobs, threads or max(1, cores() // jobs), folder, gpus_here)
