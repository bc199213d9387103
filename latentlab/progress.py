"""One-line status for steps that take seconds: what is running, then how long it took."""

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
