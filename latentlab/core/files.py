"""Writing into result folders safely: files atomically (a crash mid-write leaves the previous
version, never half a file), and one run per folder at a time.

Every file goes to a temporary name in the same folder and is renamed over the old one
(a rename within a folder is atomic on POSIX and Windows).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import LatentlabError


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside ``path``; on success rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's private 0600 would make results unreadable to others
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(text: str, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(data: dict, path: Path) -> None:
    write_text_atomic(json.dumps(data, indent=2, ensure_ascii=False) + "\n", path)


# --- One run per result folder ---------------------------------------------------------

def check_writable(folder: Path) -> None:
    """Fail before training, not after it, when results could not be saved."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise LatentlabError(
            f"Cannot write to the result folder {folder} ({error.strerror or error}). "
            "Choose a writable folder with --out-dir PATH."
        ) from None


LOCK_FILE = ".latentlab.lock"


@contextmanager
def hold_folder(folder: Path, wait_s: float = 0.0):
    """Hold ``folder`` for one run: a second run into it stops at once instead of mixing its files in
    (or, with ``wait_s``, waits up to that long for the holder to finish: a short write such as the
    merge of a study's record).

    The lock is the operating system's (``flock``) on ``<folder>/.latentlab.lock``, so it ends with the
    process that holds it, however that process ends: a killed run never blocks the next. The file
    names the holder while the run lasts and is removed when it ends, so a folder is left as it was.
    """
    import fcntl  # POSIX; on Windows there is no lock (one run per folder is then up to the user)

    folder = Path(folder)
    check_writable(folder)
    path = folder / LOCK_FILE
    give_up = time.monotonic() + wait_s
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            if time.monotonic() < give_up:
                time.sleep(0.05)
                continue
            raise LatentlabError(
                f"The result folder {folder} is in use by another run ({holder}). Wait for that run to end, "
                "or give this one its own --out-dir. Nothing was written."
            ) from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder removed this file as we opened it: take the lock on the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()}: {' '.join(sys.argv) or 'python'}, started "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')}".encode())
        yield
    finally:
        os.unlink(path)  # while still holding the lock, so no other run can be holding this file
        os.close(fd)


def is_held(folder: Path) -> bool:
    """Whether a run holds ``folder`` now (its lock is taken), without taking it."""
    import fcntl

    path = Path(folder) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    """The file's SHA-256, to tell whether a result was computed from this very file."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
