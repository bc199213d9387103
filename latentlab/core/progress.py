"""What the user reads while work runs: one-line status for steps that take seconds, and counts in words."""

from __future__ import annotations

import time
from contextlib import contextmanager


@contextmanager
def status(message: str):
    """Print ``message ...`` now and ``done (N s)`` on the same line when the block ends."""
    print(f"{message} ...", end="", flush=True)
    started = time.perf_counter()
    yield  # on an error the line stays open; the error message starts on a new line
    print(f" done ({time.perf_counter() - started:.1f} s)", flush=True)


def plural(count: int, noun: str) -> str:
    """``1 epoch``, ``16 epochs``, ``1 step``, ``2 classes``."""
    return f"{count} {noun if count == 1 else plural_of(noun)}"


def plural_of(noun: str) -> str:
    """The plural of an English noun of this code's words: ``digits``, ``classes``, ``images``."""
    # "ch" said as k (epoch) takes a plain s
    sibilant = noun.endswith(("s", "x", "z", "sh")) or (noun.endswith("ch") and not noun.endswith("och"))
    return noun + ("es" if sibilant else "s")
