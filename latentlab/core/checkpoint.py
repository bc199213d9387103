"""A run on disk: checkpoints written atomically; a run found finished, started, resumed bit for bit after
an interruption, saved after every epoch, and published when done, so that the loop in ``training`` reads as
a loop. The file's layout and reading it back are ``checkpoint_file``'s; rebuilding its model, ``finished``'s.

``config.json`` is written with ``model.pt`` and never before it, so a failed or interrupted ``--retrain``
leaves the old model's record in place.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import torch

from .checkpoint_file import FORMAT, MODEL_FILE, PARTIAL_FILE, read_checkpoint
from .config import TrainConfig
from .cuda_graphs import load_optimizer_state
from .errors import Interrupted, LatentlabError
from .files import atomic_path, write_json_atomic
from .progress import plural
from .provenance import provenance


def save_atomic(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


RESUME_ONLY = ("optimizer", "scheduler", "rng")  # what only resuming an unfinished run needs


def published(state: dict) -> dict:
    """A finished checkpoint without what only resuming needs: about a third of the file's size."""
    return {key: value for key, value in state.items() if key not in RESUME_ONLY}


# --- A run: found finished, resumed, saved each epoch, published ----------------------------


class TrainingInterrupted(Interrupted):
    """Ctrl-C during training; the message says how to resume."""


def differences(asked: TrainConfig, found: dict) -> str:
    """The recipe's settings that differ, in words: "epochs: asked 2, found 16; dataset: ..."."""
    found = TrainConfig.from_dict(found).recipe()
    return "; ".join(
        f"{key}: asked {value}, found {found[key]}" for key, value in asked.recipe().items() if found[key] != value
    )


def finished_run(config: TrainConfig) -> dict | None:
    """The folder's finished checkpoint, unless ``--retrain``: a finished model is never trained again,
    and never reused for settings other than its own."""
    found = None if config.retrain else _finished_and_differences(Path(config.out_dir), config)
    if found is None:
        return None
    state, changed = found
    path = Path(config.out_dir) / MODEL_FILE
    if changed:
        raise LatentlabError(
            f"{path} holds a finished model trained with other settings ({changed}). Nothing was changed. "
            "Pass --retrain to replace it with a model of these settings (the old one stays until the new "
            "run finishes), or give this run its own --out-dir."
        )
    print(
        f"Found the finished model {path} ({plural(state['epoch'], 'epoch')}): not retraining "
        "(pass --retrain to train again). Rebuilding metrics and figures from it."
    )
    return state


def finished_with_recipe(folder: Path, config: TrainConfig) -> dict | None:
    """``folder``'s finished checkpoint when it was trained with exactly ``config``'s recipe, else None: a
    study's job takes its experiment's committed model.pt for the seed that made it."""
    found = _finished_and_differences(Path(folder), config)
    return found[0] if found is not None and not found[1] else None


def _finished_and_differences(folder: Path, config: TrainConfig) -> tuple[dict, str] | None:
    """``folder``'s finished checkpoint and how its recipe differs from ``config``'s (``differences``), or None."""
    path = folder / MODEL_FILE
    if not path.exists():  # anything there but a checkpoint is refused by read_checkpoint, in words
        return None
    state = read_checkpoint(path)
    return state, differences(config, state["config"])


class TrainingRun:
    """The state of one training run that is saved after each epoch: model, optimizer, scheduler,
    the shuffling and sampling random states, the loss history and the training time."""

    def __init__(self, config: TrainConfig, device: torch.device, model, optimizer, scheduler):
        self.config, self.device = config, device
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.shuffle = torch.Generator().manual_seed(config.seed)  # the order of the training images
        self.epoch, self.history, self.seconds = 0, [], 0.0
        out = Path(config.out_dir)
        self.finished_path, self.partial_path = out / MODEL_FILE, out / PARTIAL_FILE
        if self.partial_path.exists() and not config.retrain:
            self._resume()

    def _resume(self) -> None:
        state = read_checkpoint(self.partial_path, map_location=self.device)
        changed = differences(self.config, state["config"])
        if changed:
            raise LatentlabError(
                f"{self.partial_path} holds an unfinished run with other settings ({changed}). Run the same "
                "command as before to resume it, pass --retrain to start over with the new settings, "
                "or choose another --out-dir."
            )
        self.model.load_state_dict(state["model"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.shuffle.set_state(state["rng"]["shuffle"])
        torch.set_rng_state(state["rng"]["torch"])
        if self.device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"])
        self.epoch, self.history, self.seconds = state["epoch"], state["history"], state["train_seconds"]
        print(f"Resuming {self.partial_path} after epoch {self.epoch} of {self.config.epochs}.")

    def checkpoint(self, finished: bool) -> dict:
        rng = {"shuffle": self.shuffle.get_state(), "torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state()
        return {
            "format": FORMAT,
            "config": self.config.__dict__ | {"retrain": False},
            "epoch": self.epoch,
            "finished": finished,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng,
            "history": self.history,
            "train_seconds": self.seconds,
            "device": str(self.device),
        }

    def end_epoch(self, record: dict, seconds: float) -> None:
        """Record a finished epoch's losses and time, and save the run so far."""
        self.seconds += seconds
        self.epoch += 1
        self.history.append(
            {"epoch": self.epoch, **record, "lr": self.scheduler.get_last_lr()[0], "seconds": round(self.seconds, 2)}
        )
        save_atomic(self.checkpoint(finished=False), self.partial_path)

    def diverged(self, loss: float, step: int) -> LatentlabError:
        """The error that stops a run whose loss is no longer finite, in the epoch under way."""
        return LatentlabError(
            f"The loss became {loss} in epoch {self.epoch + 1}, at or before step {step}. Training stopped; "
            + (
                f"{self.partial_path} holds the last good epoch ({self.epoch}) and was not touched. "
                if self.epoch
                else "no epoch had finished, so no checkpoint was written. "
            )
            + f"Lower --lr (now {self.config.lr:g}) and run again with --retrain."
        )

    @contextmanager
    def interruptible(self):
        """Ctrl-C becomes a message saying what was saved and how to go on."""
        try:
            yield
        except KeyboardInterrupt:
            if self.epoch:  # a checkpoint of this run exists (written now, or the one it resumed from)
                advice = (
                    f"{self.partial_path} holds epoch {self.epoch}. Run the same command again to resume "
                    "(the result equals an uninterrupted run), or add --retrain to start over."
                )
            else:
                advice = "no epoch had finished, so nothing was saved. Run the same command again to start over."
            raise TrainingInterrupted(f"Interrupted during epoch {self.epoch + 1}; {advice}") from None

    def publish(self, extra: dict) -> dict:
        """Write the finished model.pt (with ``extra`` entries) and config.json, each with the run's
        provenance (the code, the versions, the device, the date); drop the partial file."""
        made_by = provenance(self.device)
        state = published(self.checkpoint(finished=True)) | extra | {"provenance": made_by}
        save_atomic(state, self.finished_path)
        write_json_atomic(self.config.__dict__ | {"provenance": made_by}, self.finished_path.parent / "config.json")
        self.partial_path.unlink(missing_ok=True)
        print(
            f"Saved {self.finished_path} ({os.path.getsize(self.finished_path) / 1e6:.1f} MB) after "
            f"{self.seconds:.0f} s of training."
        )
        return state
