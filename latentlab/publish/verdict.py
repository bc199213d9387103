"""What ``reproduce`` changed in the committed tree, judged file by file (issue 50).

A rerun on another processor rewrites committed files with other last digits: a float summed in another
order, a t-SNE that lands a point elsewhere. Whether a *published* number moved is what a reader needs to
know, and a byte diff cannot say. Each file that differs from its committed version gets one judgement:

- a document (RESULTS.md, the READMEs, index.html, compare.html, interpolation.txt) prints its numbers as
  text: its words must be unchanged, and every number that differs is a published number that moved;
- a JSON or .npz file holds raw numbers: those whose last digits moved are listed, and they are published
  only through the documents and pages, so they count as "equal to their published digits" while those
  are; a field added or removed means the committed file is older than the code that writes it;
- an explorer page prints its numbers with two decimals (explorer.js's ``toFixed``): its printed arrays
  (named without a dot; a dotted name is a layer's weights, which it never prints) are compared so;
- a figure says how many pixels changed; a figure is not a number, so it never fails the verdict.

The verdict fails (``Verdict.failed``) when a published number differs, a field was added or removed, a
document's words changed, or a model file changed (``reproduce`` never retrains a finished one).
"""

from __future__ import annotations

import difflib
import io
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import LatentlabError
from ..core.progress import plural

PAGE_DECIMALS = 2  # explorer.js prints its numbers with toFixed(2) at most (tests/test_verdict.py checks)
DOCUMENTS = (".md", ".html", ".txt")
NUMBER = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
SHOWN = 12  # the differences listed per file; the rest are counted

IDENTICAL, EQUAL_AS_PUBLISHED, PUBLISHED_DIFFER, FIELDS_DIFFER, TEXT_DIFFERS, PIXELS, MODEL_CHANGED, NEW = (
    "byte-identical",
    "numbers equal to their published digits",
    "published numbers differ",
    "fields differ",
    "text differs",
    "pixels differ",
    "model changed",
    "new file",
)
FAILING = {PUBLISHED_DIFFER, FIELDS_DIFFER, TEXT_DIFFERS, MODEL_CHANGED, NEW}


@dataclass
class Judgement:
    path: str
    outcome: str
    details: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    judgements: list[Judgement]
    identical: int  # committed files left byte-identical

    @property
    def failed(self) -> bool:
        return any(j.outcome in FAILING for j in self.judgements)

    def text(self) -> str:
        lines = [f"{self.identical} committed files byte-identical; {len(self.judgements)} differ."]
        for j in self.judgements:
            lines.append(f"- {j.path}: {j.outcome}")
            lines += [f"    {detail}" for detail in j.details]
        lines.append(
            "Verdict: "
            + (
                "PUBLISHED NUMBERS OR FIELDS DIFFER (listed above)."
                if self.failed
                else "every published number is unchanged."
            )
        )
        return "\n".join(lines)


def git(root: Path, *args: str) -> bytes:
    try:
        return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise LatentlabError(
            f"{root} is not a git checkout git can read ({error}): the verdict compares the "
            "files reproduce rewrote with their committed versions. Run reproduce in a clone "
            "of the repository."
        ) from None


def changed_files(root: Path) -> tuple[list[tuple[str, bool]], int]:
    """([(path, is_new)], how many tracked files are unchanged) of a checkout against its HEAD."""
    status = git(root, "status", "--porcelain", "-z", "--untracked-files=all").decode("utf-8", "surrogateescape")
    changed = [(entry[3:], entry.startswith("??")) for entry in status.split("\0") if entry]
    tracked = git(root, "ls-files", "-z").count(b"\0")
    return changed, tracked - sum(not new for _, new in changed)


def judge(path: str, old: bytes, new: bytes) -> Judgement:
    """One file's judgement from its committed bytes and its bytes now."""
    suffix = Path(path).suffix.lower()
    if old == new:
        return Judgement(path, IDENTICAL)
    if suffix in (".png", ".gif"):
        return _figure(path, old, new)
    if suffix == ".json":
        return _json(path, json.loads(old), json.loads(new))
    if suffix == ".npz":
        return _arrays(path, _npz(old), _npz(new), decimals=None)
    if Path(path).name == "explorer.html":
        return _page(path, old, new)
    if suffix in DOCUMENTS:
        return _document(path, old.decode("utf-8"), new.decode("utf-8"))
    if suffix == ".pt":
        return Judgement(path, MODEL_CHANGED, ["reproduce never retrains a finished model: was it retrained?"])
    return Judgement(path, TEXT_DIFFERS, ["the bytes differ"])


def _figure(path: str, old: bytes, new: bytes) -> Judgement:
    import imageio.v3 as iio

    a, b = (iio.imread(data, index=None) for data in (old, new))
    if a.shape != b.shape:
        return Judgement(path, PIXELS, [f"its size changed: {a.shape} -> {b.shape}"])
    pixels = a.reshape(-1, a.shape[-1]) if a.ndim >= 3 and a.shape[-1] in (3, 4) else a.reshape(-1, 1)
    other = b.reshape(pixels.shape)
    differ = int((pixels != other).any(axis=1).sum())
    return Judgement(
        path,
        PIXELS if differ else IDENTICAL,
        [f"{differ:,} of {len(pixels):,} pixels differ"] if differ else ["same pixels, other bytes"],
    )


def _differences(old, new, at: str = ""):
    """("added" | "removed" | "changed", path, old, new) of two JSON values: a field added or removed is one
    difference however much it holds; a list that changed length is one changed value."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in new.keys() - old.keys():
            yield "added", f"{at}.{key}" if at else str(key), None, new[key]
        for key in old.keys() - new.keys():
            yield "removed", f"{at}.{key}" if at else str(key), old[key], None
        for key in old.keys() & new.keys():
            yield from _differences(old[key], new[key], f"{at}.{key}" if at else str(key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _differences(a, b, f"{at}[{i}]")
    elif old != new or type(old) is not type(new):
        yield "changed", at, old, new


def _json(path: str, old, new) -> Judgement:
    found = sorted(_differences(old, new), key=lambda d: d[1])
    fields = [f"{what} {name}" for what, name, _, _ in found if what != "changed"]
    if fields:
        return Judgement(path, FIELDS_DIFFER, _listed(fields))
    moved = [f"{name}: {a!r} -> {b!r}" for _, name, a, b in found]
    if not all(_is_number(a) and _is_number(b) for _, _, a, b in found):
        return Judgement(path, TEXT_DIFFERS, _listed(moved))
    return Judgement(path, EQUAL_AS_PUBLISHED, _listed(moved, "raw digits: "))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        return {name: loaded[name] for name in loaded.files}


def _arrays(path: str, old: dict, new: dict, decimals: int | None) -> Judgement:
    """Arrays by name: their raw differences, and with ``decimals`` those that print differently, named
    without a dot (printed)."""
    if old.keys() != new.keys() or any(old[n].shape != new[n].shape for n in old):
        changed = sorted(set(old) ^ set(new)) + [n for n in old.keys() & new.keys() if old[n].shape != new[n].shape]
        return Judgement(path, FIELDS_DIFFER, _listed([f"array {name} added, removed or reshaped" for name in changed]))
    raw, printed = [], []
    for name in old:
        a, b = old[name].astype(np.float64), new[name].astype(np.float64)
        differ = a != b
        if differ.any():
            raw.append(f"{name}: {int(differ.sum()):,} of {a.size:,} values, largest change {np.abs(a - b).max():.3g}")
            if decimals is not None and "." not in name:
                shown = np.round(a, decimals) != np.round(b, decimals)
                if shown.any():
                    printed.append(f"{name}: {int(shown.sum()):,} values print differently with {decimals} decimals")
    if printed:
        return Judgement(path, PUBLISHED_DIFFER, _listed(printed + raw))
    return Judgement(path, EQUAL_AS_PUBLISHED, _listed(raw, "raw digits: "))


def _page(path: str, old: bytes, new: bytes) -> Judgement:
    from .explorer import parse_page

    (meta_a, arrays_a), (meta_b, arrays_b) = parse_page(old.decode("utf-8")), parse_page(new.decode("utf-8"))
    if meta_a != meta_b:
        return _json(path, meta_a, meta_b)
    judgement = _arrays(path, arrays_a, arrays_b, decimals=PAGE_DECIMALS)
    if judgement.outcome == EQUAL_AS_PUBLISHED and not judgement.details:
        judgement.details = ["the same data in another template"]
    return judgement


def _document(path: str, old: str, new: str) -> Judgement:
    """The lines matched by their words (every number blanked); in each matched line the numbers one by one,
    each that moved listed with its line; then the lines whose words changed (a row added, a sentence
    rewritten), which hide no number: a moved number in an unchanged row is found among added rows too."""
    lines_a, lines_b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(
        None, [NUMBER.sub("#", line) for line in lines_a], [NUMBER.sub("#", line) for line in lines_b], autojunk=False
    )
    moved, rewritten = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            rewritten += [f"-{line}" for line in lines_a[i1:i2]] + [f"+{line}" for line in lines_b[j1:j2]]
            continue
        for line_a, line_b in zip(lines_a[i1:i2], lines_b[j1:j2], strict=True):
            moved += [
                f"{a} -> {b} in: {line_b.strip()[:140]}"
                for a, b in zip(NUMBER.findall(line_a), NUMBER.findall(line_b), strict=True)
                if a != b
            ]
    if moved:
        return Judgement(
            path,
            PUBLISHED_DIFFER,
            _listed(moved) + ([f"and the words of {plural(len(rewritten), 'line')} changed"] if rewritten else []),
        )
    return Judgement(path, TEXT_DIFFERS, _listed(rewritten))


def _listed(items: list[str], prefix: str = "") -> list[str]:
    more = len(items) - SHOWN
    return [prefix + item for item in items[:SHOWN]] + ([f"... and {more} more"] if more > 0 else [])


def is_checkout(root: Path) -> bool:
    try:
        return git(root, "rev-parse", "--is-inside-work-tree").strip() == b"true"
    except LatentlabError:
        return False


def untracked(root: Path) -> set[str]:
    """The files git does not track and does not ignore, before ``reproduce``: not the code's to judge."""
    return {path for path, is_new in changed_files(root)[0] if is_new}


def verdict(root: Path, before: set[str] = frozenset()) -> Verdict:
    """Every file of the checkout at ``root`` that differs from its HEAD, judged; ``before``: untracked files
    that were there before reproduce ran (``untracked``), left out."""
    changed, identical = changed_files(root)
    judgements = []
    for path, is_new in sorted(changed):
        if is_new and path in before:
            continue
        if is_new:
            judgements.append(Judgement(path, NEW, ["written by the code, not committed"]))
            continue
        new = root / path
        if not new.exists():
            judgements.append(Judgement(path, FIELDS_DIFFER, ["a committed file that the code no longer writes"]))
            continue
        judgement = judge(path, git(root, "show", f"HEAD:{path}"), new.read_bytes())
        if judgement.outcome == IDENTICAL:
            identical += 1  # the same content (a file whose mode alone changed, a figure re-encoded alike)
        else:
            judgements.append(judgement)
    return Verdict(judgements, identical)
