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
    """``1 epoch``, ``16 epochs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
