"""Every file latentlab writes and reads back, checked on every read against its published JSON Schema.

The schemas are latentlab/schemas/<name>.schema.json (JSON Schema, draft 2020-12), shipped with the package: a
reader who parses metrics.json can validate it with them too (config.schema.json's description says how). ``read_json`` reads a
file, parses it and checks it (``validation``); ``check`` checks a value already in hand (an explorer page's
data block). A file that fails, or that is not JSON at all (damaged, empty, not UTF-8), is
refused in one paragraph naming the file, the field, what was expected and what to do: nothing is read from
it, so nothing is rewritten from it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .errors import RecordRefused
from .validation import problem, shown

# How each file is written again, for the refusal's last sentence.
REMEDIES = {
    "metrics": "python -m latentlab evaluate FOLDER writes it again from the folder's model.pt",
    "config": "it is written with model.pt when a run finishes: restore it, or train the folder again with --retrain",
    "seeds": "python -m latentlab seeds reruns the study's missing runs into it; delete it to start the study afresh",
    "posterior_gaps": "python -m latentlab posterior FOLDER writes it again from the folder's model.pt",
    "bound_vs_k": "delete it and run python -m latentlab bound-vs-k on the folder again",
    "binarization_spread": "delete it and run python -m latentlab binarization-spread FOLDER again",
    "record": "delete it: the run is then measured again from its model",
    "job": "delete it: the run's job is then submitted again",
    "checkpoint": "train the model again, or restore the file",
    "explorer": "python -m latentlab explore FOLDER writes the page again from the folder's model.pt",
}


def read_json(path: Path, schema: str) -> Any:
    """The JSON value of ``path``, checked against the schema ``schema`` (``metrics`` for metrics.schema.json)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise refused(path, schema, f"it cannot be read ({error.strerror or error})") from None
    return check(parse(data, path, schema), schema, path)


class NotFinite(ValueError):
    """A number that is not finite: NaN, Infinity, or a literal too large for a float (1e999)."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotFinite(text)
    return value


def _no_constant(text: str):
    raise NotFinite(text)


def parse(data: bytes, source: Path | str, schema: str) -> Any:
    """``data`` as JSON, refused when it is none. NaN and Infinity, which Python's json reads and JSON has no
    room for, are refused too: every number a table or a page shows from these files must be one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise refused(
            source,
            schema,
            f"it is not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start}): the file is damaged",
        ) from None
    if not text.strip():
        raise refused(source, schema, "it is empty")
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except NotFinite as error:
        problem = f"it holds the number {shown(str(error), 20)}, which is not finite and no JSON number"
    except json.JSONDecodeError as error:
        problem = (
            f"it is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}): the file is damaged"
        )
    except ValueError as error:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        problem = f"it is not JSON latentlab can read ({error})"
    except RecursionError:
        problem = "it is nested too deeply to be one of latentlab's files"
    raise refused(source, schema, problem)


def check(value: Any, schema: str, source: Path | str) -> Any:
    """``value``, if it satisfies the schema ``schema``; else the refusal naming ``source`` and the field."""
    found = problem(value, schema)
    if found is not None:
        raise refused(source, schema, found)
    return value


def refused(source: Path | str, schema: str, what: str) -> RecordRefused:
    return RecordRefused(
        f"{source} was refused: {what}. The file was damaged, or changed by hand or by another "
        f"program; nothing was read from it or written. Restore it (git checkout -- FILE, where it "
        f"is committed), or {REMEDIES[schema]}."
    )
