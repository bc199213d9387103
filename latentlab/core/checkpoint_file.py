"""The checkpoint file: its layout, and reading one back without running code.

Checkpoints hold only tensors and plain Python values, so ``torch.load`` can use ``weights_only=True`` and an
untrusted file cannot execute anything. A folder's ``model.partial.pt`` holds everything resuming needs
(optimizer, scheduler, random states); a finished ``model.pt`` only what a reader needs: the weights, the
configuration, the history and, for an AE, its code statistics. Writing them is the run's business
(``checkpoint``); rebuilding the model of one, ``finished``'s.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import torch

from .config import TrainConfig, renamed
from .errors import LatentlabError, RecordRefused
from .validation import problem as schema_problem

FORMAT = "latentlab-checkpoint-v1"
MODEL_FILE = "model.pt"  # the finished model
PARTIAL_FILE = "model.partial.pt"  # written after every epoch while a run is under way


def read_checkpoint(path: Path, map_location="cpu") -> dict:
    """Load a checkpoint dictionary, refusing anything but tensors and plain values, and check its layout."""
    path = Path(path)
    if not path.is_file():
        raise LatentlabError(f"There is no checkpoint at {path}. Train a model first, or give the right path.")
    try:
        with warnings.catch_warnings():  # torch warns about a foreign pickle protocol: our message says more
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        # torch names the refused callable ("Unsupported global: GLOBAL builtins.open", or "unsupported
        # GLOBAL posix.system whose module posix is blocked"); anything else is not a pickle of objects.
        refused = [line for line in str(error).splitlines() if "unsupported global" in line.lower()]
        if not refused:
            raise LatentlabError(
                f"{path} is not a latentlab checkpoint (torch.load could not read it). "
                "Point to a model.pt written by a latentlab run."
            ) from None
        raise LatentlabError(
            f"{path} was refused: it contains Python objects other than tensors and plain values, "
            f"which could run code when loaded ({refused[0].strip()}). Only load checkpoints "
            "written by latentlab, or from people you trust, and never with weights_only=False."
        ) from None
    except Exception as error:
        raise LatentlabError(
            f"{path} is not a latentlab checkpoint (torch.load could not read it: {error.__class__.__name__}). "
            "Point to a model.pt written by a latentlab run."
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise LatentlabError(
            f"{path} is a PyTorch file but not a latentlab checkpoint (no '{FORMAT}' marker). "
            "Point to a model.pt written by a latentlab run."
        )
    problem = _layout_problem(state) or schema_problem(recorded_fields(state), "checkpoint")
    if problem:
        raise RecordRefused(
            f"{path} has the latentlab marker but is damaged: {problem}. The file was edited, "
            "or written by another program; train the model again or restore the file."
        )
    state["config"] = renamed(state["config"])  # older files name two fields otherwise (config.RENAMED)
    return state


# The entries that hold tensors: checked by _layout_problem and by loading them, not by checkpoint.schema.json.
TENSOR_ENTRIES = ("model", "latent_fit", "optimizer", "scheduler", "rng")


def recorded_fields(state: dict) -> dict:
    """A checkpoint's plain values, as latentlab/schemas/checkpoint.schema.json describes them: each entry that
    holds tensors left as an empty object."""
    return {key: {} if key in TENSOR_ENTRIES and isinstance(value, dict) else value for key, value in state.items()}


# What every checkpoint holds, and the type of each entry.
LAYOUT = {"config": dict, "model": dict, "epoch": int, "history": list, "train_seconds": (int, float), "device": str}


def _layout_problem(state: dict) -> str | None:
    """What is wrong with a marked checkpoint's entries, in words, or None."""
    for key, kind in LAYOUT.items():
        if key not in state:
            return f"it has no '{key}' entry"
        if not isinstance(state[key], kind):
            return f"its '{key}' entry is a {type(state[key]).__name__}"
    if not all(isinstance(t, torch.Tensor) for t in state["model"].values()):
        return "its 'model' entry holds something other than tensors"
    if not isinstance(state.get("provenance", {}), dict):  # absent from models trained before it was kept
        return f"its 'provenance' entry is a {type(state['provenance']).__name__}"
    try:
        TrainConfig.from_dict(state["config"]).check()
    except (TypeError, ValueError) as error:
        return f"its configuration is not valid ({error})"
    return None
