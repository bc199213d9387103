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

from .display import shown
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


def check_writable(folder: Path, out_dir_flag: bool = False) -> None:
    """Fail before training, not after it, when results could not be saved. ``out_dir_flag``: the command has
    --out-dir (training does; the commands on a finished folder do not), so the message may offer it."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise LatentlabError(
            f"Cannot write to the result folder {folder} ({error.strerror or error}). "
            + (
                "Choose a writable folder with --out-dir PATH."
                if out_dir_flag
                else "Make it writable, or copy the folder somewhere writable and run the command on the copy."
            )
        ) from None


LOCK_FILE = ".latentlab.lock"
HOLDER_FILE = ".latentlab.holder"  # who holds the folder: read by the run that is refused
LOCK_FILES = (LOCK_FILE, HOLDER_FILE)


@contextmanager
def hold_folder(folder: Path, wait_s: float = 0.0, out_dir_flag: bool = False):
    """Hold ``folder`` for one run: a second run into it stops at once instead of mixing its files in
    (or, with ``wait_s``, waits up to that long for the holder to finish: a short write such as the
    merge of a study's record).

    The lock is ``filelock``'s on ``<folder>/.latentlab.lock``: the operating system's (``flock`` on
    POSIX, ``LockFileEx`` on Windows), so it ends with the process that holds it, however that process
    ends: a killed run never blocks the next. ``<folder>/.latentlab.holder`` names the holder while the
    run lasts (Windows lets no other process read a locked file); both are removed when it ends, so a
    folder is left as it was. ``out_dir_flag`` as for ``check_writable``.
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    check_writable(folder, out_dir_flag)
    path, note = folder / LOCK_FILE, folder / HOLDER_FILE
    lock = FileLock(path, timeout=wait_s, poll_interval=0.05)
    try:
        lock.acquire()
    except Timeout:
        raise LatentlabError(
            f"The result folder {folder} is in use by another run ({_holder(note)}). Wait for that run to end"
            + (", or give this one its own --out-dir" if out_dir_flag else "")
            + ". Nothing was written."
        ) from None
    try:
        note.write_text(
            f"process {os.getpid()}: {' '.join(map(shown, sys.argv)) or 'python'}, started "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}",
            encoding="utf-8",
        )
        yield
    finally:
        try:
            for name in (note, path):  # while still holding the lock, so no other run can be holding them
                try:
                    name.unlink()
                except FileNotFoundError:
                    pass
                except PermissionError:  # Windows keeps a locked file: filelock removes it on release
                    pass
        finally:
            lock.release()


def _holder(note: Path) -> str:
    """What the holder of a folder wrote about itself (nothing yet if it took the lock a moment ago)."""
    try:
        return note.read_text(encoding="utf-8", errors="replace").strip() or "another process"
    except OSError:
        return "another process"


def is_held(folder: Path) -> bool:
    """Whether a run holds ``folder`` now (its lock is taken); a free lock is let go at once."""
    from filelock import FileLock, Timeout

    path = Path(folder) / LOCK_FILE
    if not path.exists():
        return False
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def file_sha256(path: Path) -> str:
    """The file's SHA-256, to tell whether a result was computed from this very file."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
