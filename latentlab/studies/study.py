"""A study: many runs, each one job that trains into its scratch folder, evaluates, and leaves its record there
(record.json). The command that started them merges each record into its seeds.json as the job finishes
(``records.merge``, under the folder's lock). Where the jobs run is the executor's business (``executors``);
here: what to run, the job itself, waiting, merging, and saying what failed.

A run already recorded is skipped; a finished job's record that was never merged (its command was stopped) is
merged without running anything; a run recorded before the study measured one of its fields (``_fields_of``)
gets it from its kept model in this process, without training; a run whose job is still queued or running,
from this call or another, is not submitted again; a failed job is reported with its log while the others go
on, and the next call submits only what is missing. A job that ended without a result (cancelled while
pending, ended by its time limit, no longer listed by Slurm) is reported as lost, with its log if it has one;
the others are merged as they finish, and the command ends with an error that names the lost runs.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.config import QUICK_BOUND_IMAGES, TrainConfig
from ..core.display import terminal_text
from ..core.errors import Interrupted, LatentlabError
from ..core.files import file_sha256, hold_folder, is_held, write_json_atomic
from ..core.kept import LOG_PX_KEY, SURGERY_KEY
from ..core.recorded import read_json
from ..experiments import Experiment, check_repository_root
from .executors import JobLost, submitted_and_unfinished, write_job_file
from .records import merge, recipe_of, record_file, recorded_run, scratch_folder

RECORD_FILE = "record.json"  # a finished job's record, in its scratch folder


class StudyInterrupted(Interrupted):
    """Ctrl-C while a study's jobs are under way; the message names them and how to cancel or collect them."""


@dataclass(frozen=True)
class StudyRun:
    """One run of a study: an experiment's recipe with one seed, trained in its scratch folder
    (``config.out_dir``) and recorded in ``record``."""

    experiment: Experiment
    config: TrainConfig
    record: Path
    root: Path  # the repository root, where every path of the study starts

    @classmethod
    def of(cls, experiment: Experiment, config: TrainConfig) -> StudyRun:
        scratch = scratch_folder(experiment, config)
        return cls(
            experiment, dataclasses.replace(config, out_dir=str(scratch)), record_file(experiment, config), Path.cwd()
        )

    @property
    def scratch(self) -> Path:
        return Path(self.config.out_dir)

    @property
    def name(self) -> str:
        return f"{self.experiment.name} ({self.scratch.parent.name}), seed {self.config.seed}"


def run_settings(device: str, data_root: str | None, bound_test_images: int | None, **more) -> dict:
    """The TrainConfig fields a study sets on every run: where it runs and reads its data, and the bound's
    images only where asked (otherwise the recipe's own)."""
    bound = {} if bound_test_images is None else {"bound_test_images": bound_test_images}
    return {"device": device, "data_root": data_root, **bound, **more}


def check_study(seeds: list[int], command: str) -> None:
    """Refuse a study that names a seed twice, or that runs outside the repository root."""
    if len(set(seeds)) != len(seeds):
        raise LatentlabError(f"--seeds names a seed twice ({' '.join(map(str, seeds))}); name each seed once.")
    check_repository_root(Path("."), command)


def run_job(run: StudyRun, threads: int | None) -> dict:
    """The job: the road every run takes (``core.measure.train_and_measure``: train the run's model in its
    scratch folder, or find it there or committed in the experiment's folder with this very recipe, and
    measure it into metrics.json), then leave its record in record.json there. The same function in this
    process, a local process or a Slurm job. ``threads`` (None: PyTorch's default) is set and recorded in
    each, because PyTorch's CPU kernels sum in another order with another number of threads (the last digits
    of a run change): with the same threads, a run's numbers do not depend on where it ran."""
    import torch

    from ..core.measure import RECORDED, train_and_measure

    os.chdir(run.root)  # a cluster's job starts where sbatch puts it; the study's paths start at the repository
    if threads is not None:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    config = run.config
    with hold_folder(run.scratch, wait_s=5):
        print(f"=== {run.name} -> {run.scratch}/")
        # A scratch model of another recipe stops here (never recorded under this one).
        measured = train_and_measure(config, reuse_from=run.experiment.out_dir)
        metrics, state = measured.metrics, measured.finished.state
        record = {
            "seed": config.seed,
            "device": state["device"],
            "torch": str(torch.__version__),
            "threads": threads,
            "train_seconds": round(state["train_seconds"], 1),
            "recipe": config.recipe(),
            **{key: metrics[key] for key in (*RECORDED, "bound_samples", "bound_test_images") if key in metrics},
        }
        record |= _measurements(run, measured.finished, _fields_of(run), _kept_model(run))
        write_json_atomic(record, run.scratch / RECORD_FILE)
    return record


def _fields_of(run: StudyRun) -> tuple[str, ...]:
    """The fields a run's record holds beyond the evaluation's: a 2-D model's log p(x) by quadrature, and a VAE's
    ELBO surgery (where its KL term goes, for the seeds' spread)."""
    from ..core import kinds, log_likelihood

    traits = kinds.traits(run.config.model)
    fields = [LOG_PX_KEY] if log_likelihood.applies(traits, run.config.latent_dim) else []
    return tuple(fields + ([SURGERY_KEY] if traits.encoder_distribution else []))


def _missing(run: StudyRun, recorded: dict) -> tuple[list[str], Path | None]:
    """The fields of ``_fields_of`` that a recorded run lacks and must get, and the kept model that made the
    record (``_kept_model``, read only where a field is missing). log p(x) always: where that model is gone, the
    run is trained again. The split only where that model is kept: it is not worth training for, so its seeds'
    spread is over the seeds whose models were kept."""
    missing = [f for f in _fields_of(run) if f not in recorded]
    model = _kept_model(run, recorded) if missing else None
    if SURGERY_KEY in missing and model is None:
        missing.remove(SURGERY_KEY)
    return missing, model


def _measurements(run: StudyRun, finished, fields: tuple[str, ...], model_file: Path) -> dict:
    """``fields`` (of ``_fields_of``) measured of the run's finished model, read from ``model_file``."""
    from ..core import log_likelihood, surgery

    model, config, found = finished.model, run.config, {}
    if LOG_PX_KEY in fields:  # the number the evaluation's bounds only bound
        train_labels = finished.train.labels if model.traits.conditional else None
        images = min(log_likelihood.IMAGES, QUICK_BOUND_IMAGES) if config.quick() else log_likelihood.IMAGES
        found[LOG_PX_KEY] = log_likelihood.record(model, finished.test, train_labels, images)
    if SURGERY_KEY in fields:
        split = surgery.of_model(model, finished.test, config.seed).record()
        found[SURGERY_KEY] = split | {"model_sha256": file_sha256(model_file)}
    return found


def _complete(run: StudyRun, recorded: dict, missing: list[str], model_file: Path) -> str | None:
    """Measure the fields a recorded run lacks from the model that made it and merge the record, in this
    process: the evaluation's numbers stay as recorded, nothing is trained, and the threads are the record's
    (PyTorch sums in another order with others). Returns why it could not, or None."""
    import torch

    from ..core.finished import open_finished

    threads = torch.get_num_threads()
    try:
        with hold_folder(run.scratch, wait_s=5):
            print(f"=== {run.name}: measuring {', '.join(missing)} of the model that made its record, {model_file}")
            torch.set_num_threads(recorded.get("threads", threads))
            finished = open_finished(model_file, run.config.device, run.config.data_root)
            record = recorded | _measurements(run, finished, tuple(missing), model_file)
            write_json_atomic(record, run.scratch / RECORD_FILE)
    except LatentlabError as error:
        return f"{run.name}: {', '.join(missing)} not measured: {error}"
    finally:
        torch.set_num_threads(threads)
    _merge(run, record)
    return None


def _kept_model(run: StudyRun, recorded: dict | None = None) -> Path | None:
    """The run's finished model.pt of this very recipe where ``core.measure.train_and_measure`` takes it from:
    committed in the experiment's folder (the seed that made it), else in the scratch folder; None where
    neither is kept. With ``recorded``, only the model that made that record (a seeds.json is shared, the
    scratch folders are this machine's): trained on the same device for the same seconds."""
    from ..core.checkpoint import finished_with_recipe
    from ..core.checkpoint_file import MODEL_FILE

    folders = [run.scratch]
    if run.config.seed == run.experiment.config().seed:  # only that seed's recipe can match the committed model
        folders.insert(0, run.experiment.out_dir)
    for folder in folders:
        state = finished_with_recipe(folder, run.config)
        if state is not None:
            same = recorded is None or (
                state["device"] == recorded.get("device")
                and round(state["train_seconds"], 1) == recorded.get("train_seconds")
            )
            return Path(folder) / MODEL_FILE if same else None
    return None


def _record_of_finished_job(run: StudyRun) -> dict | None:
    """A record a job left in the scratch folder for this very recipe, with every field the study measures today,
    if it was never merged."""
    path = run.scratch / RECORD_FILE
    if not path.is_file():
        return None
    record = read_json(path, "record")
    return record if recipe_of(record) == run.config.recipe() and not _missing(run, record)[0] else None


def _waiting_on(run: StudyRun) -> str | None:
    """Why the run must not be started now (its job is queued or running), or None."""
    if is_held(run.scratch):
        return "running (its scratch folder is held)"
    job = submitted_and_unfinished(run.scratch)
    return f"{job['executor']} job {job['job_id']} is still queued or running" if job else None


def _merge(run: StudyRun, record: dict) -> None:
    merge(run.record, run.experiment.name, record)
    kept_out = (
        ""
        if run.record.parent == run.experiment.out_dir
        else " (not the experiment's own recipe: kept out of the published file)"
    )
    print(f"Recorded {run.name} in {run.record}{kept_out}")


def carry_out(runs: list[StudyRun], executor, collect: bool = False) -> None:
    """Run what is missing of ``runs`` with ``executor`` (with ``collect``: nothing, only merge what finished).
    A recorded run lacking a field is completed here from its kept model (``_complete``), not as a job."""
    todo, incomplete = [], []
    for run in runs:
        retrain = run.config.retrain
        recorded = None if retrain else recorded_run(run.record, run.config)
        missing, model = ([], None) if recorded is None else _missing(run, recorded)
        if recorded is not None and not missing:
            print(f"{run.name}: already in {run.record}; skipped (--retrain runs it again)")
        elif not retrain and (record := _record_of_finished_job(run)) is not None:
            _merge(run, record)
        elif (why := _waiting_on(run)) is not None:
            print(f"{run.name}: {why}; not submitted again (--collect records it once it has finished)")
        elif recorded is not None and not collect and model is not None:
            if (failed := _complete(run, recorded, missing, model)) is not None:
                print(failed)
                incomplete.append(failed)
        else:
            todo.append(run)
    if collect:
        if todo:
            print(
                f"--collect: {len(todo)} run(s) neither recorded nor under way: {'; '.join(r.name for r in todo)}. "
                "Run the command without --collect to start them."
            )
        return
    outcome = _run_all(todo, executor)
    if outcome.lost or outcome.failed or incomplete:
        parts = [outcome.summary(len(todo))] if outcome.lost or outcome.failed else []
        if incomplete:
            parts.append(
                f"Not measured, their records kept as they were: {'; '.join(incomplete)}. "
                "Run the same command again once that is mended."
            )
        raise LatentlabError(" ".join(parts))


@dataclass
class Outcome:
    """What became of the jobs this call started: a line for each run recorded, failed or lost."""

    recorded: list = dataclasses.field(default_factory=list)  # run names
    failed: list = dataclasses.field(default_factory=list)  # "name: why (log: ...)"
    lost: list = dataclasses.field(default_factory=list)  # (run, "name: slurm job N was ... (log: ...)")

    def summary(self, started: int) -> str:
        """The paragraph the command ends with when a job failed or was lost."""
        parts = []
        if self.lost:
            seeds = " ".join(str(run.config.seed) for run, _ in self.lost)
            parts.append(
                f"{len(self.lost)} of {started} job(s) lost, ended without a record: "
                + "; ".join(line for _, line in self.lost)
                + f". Lost seed(s): {seeds}."
            )
        if self.failed:
            parts.append(f"{len(self.failed)} of {started} run(s) failed: " + "; ".join(self.failed) + ".")
        timed_out = any("time limit" in line for _, line in self.lost)
        parts.append(
            f"{len(self.recorded)} run(s) were recorded. Run the same command again"
            + (" with a longer --time" if timed_out else "")
            + " to run only what is missing: recorded "
            "runs are skipped"
            + (", so only the lost seed(s) are submitted again." if self.lost and not self.failed else ".")
        )
        return " ".join(parts)


def _run_all(todo: list[StudyRun], executor) -> Outcome:
    """Start the runs (at most ``executor.capacity`` at a time), merge each record as its job finishes,
    and say what became of each."""
    queue, active, outcome = list(todo), [], Outcome()  # active: (run, handle) pairs
    try:
        while queue or active:
            while queue and (executor.capacity is None or len(active) < executor.capacity):
                run = queue.pop(0)
                if (why := _waiting_on(run)) is not None:  # another call started it meanwhile
                    print(f"{run.name}: {why}; not submitted again")
                    continue
                handle = executor.start(run_job, run)
                write_job_file(run.scratch, handle, executor.kind)
                if handle.job_id is not None:
                    print(f"{run.name}: {executor.kind} job {handle.job_id} (log: {handle.log})")
                active.append((run, handle))
            finished = [pair for pair in active if pair[1].done()]
            if not finished:
                time.sleep(1)
            for run, handle in finished:
                _collect(run, handle, outcome)
                active.remove((run, handle))
    except KeyboardInterrupt:
        raise StudyInterrupted(_interrupted(outcome, active, executor)) from None
    return outcome


def _interrupted(outcome: Outcome, active: list, executor) -> str:
    """Ctrl-C's message: what this call recorded, what failed or was lost, what finished but is not merged
    yet, and what is still queued or running (with how to cancel it or record it later)."""
    ended = [run for run, _ in active if _record_of_finished_job(run) is not None]
    under_way = [(run, handle) for run, handle in active if run not in ended]
    waiting = [
        f"{run.name} ({executor.kind} job {handle.job_id})" for run, handle in under_way if handle.job_id is not None
    ]
    parts = [
        "Interrupted.",
        (
            f"Recorded by this call: {'; '.join(outcome.recorded)}."
            if outcome.recorded
            else "Nothing was recorded by this call."
        ),
    ]
    if outcome.lost:
        parts.append("Lost (ended without a record): " + "; ".join(line for _, line in outcome.lost) + ".")
    if outcome.failed:
        parts.append("Failed: " + "; ".join(outcome.failed) + ".")
    if ended:
        parts.append(
            f"Finished but not merged yet: {'; '.join(run.name for run in ended)} "
            "(the same command with --collect records them)."
        )
    if waiting:
        parts.append(f"Still queued or running: {'; '.join(waiting)}.")
    if under_way:
        parts.append(executor.cancel_hint([handle for _, handle in under_way]))
    return " ".join(part for part in parts if part)


def _reason(error: Exception) -> str:
    """The line that says why a job failed: submitit wraps the job's traceback, whose last exception line
    ("LatentlabError: ...") is the one a reader needs."""
    raised = [line for line in str(error).splitlines() if re.match(r"^[A-Za-z_][\w.]*: ", line)]
    return raised[-1].split(": ", 1)[1] if raised else (str(error).strip().splitlines() or [type(error).__name__])[0]


def _collect(run: StudyRun, handle, outcome: Outcome) -> None:
    """Merge a finished job's record, or note (and print) why there is none."""
    try:
        record = handle.result()
    except JobLost as lost:
        outcome.lost.append((run, f"{run.name}: {lost}"))
        print(terminal_text(f"LOST {run.name}: {lost}"))
        return
    except Exception as error:  # a job's failure, whatever it was, is reported and the study goes on
        failure = f"{run.name}: {_reason(error)}" + (f" (log: {handle.log})" if handle.log else "")
        outcome.failed.append(failure)
        print(terminal_text(f"FAILED {failure}"))  # a job's message quotes the user's names
        return
    _merge(run, record)
    outcome.recorded.append(run.name)
