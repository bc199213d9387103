"""How text from outside the code (a class folder's name, a path, a device name read back from a file) is shown
on a terminal: every character a terminal would act on rather than show is written as its escape instead.

A name is data. Written raw, ``\\x1b]2;...\\x07`` retitles the terminal, ``\\x1b[2J`` clears it, a newline starts
what looks like a line of our own, U+202E (right-to-left override) turns the rest of the line around and a
zero-width space makes two different names look alike. Ordinary letters of any script (``Kết_quả``) are shown
as they are.
"""

from __future__ import annotations

import unicodedata

# Unicode's categories of characters that are no letter, digit, mark, punctuation, symbol or space: controls
# (C0, DEL, C1: ESC, BEL, newline), formats (bidi overrides and isolates, zero-width spaces and joiners, the
# soft hyphen), surrogates, private-use and unassigned code points; and the line and paragraph separators.
HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def escaped(character: str) -> str:
    """One character as Python writes it in a string literal: ``\\n``, ``\\x1b``, ``\\u202e``, ``\\U000e0001``. A
    lone surrogate from U+DC80 to U+DCFF is what ``os.fsdecode`` makes of a byte that is not UTF-8: it is
    shown as that byte, ``\\xe9``."""
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return character.encode("unicode_escape").decode("ascii")


def shown(text) -> str:
    """``text`` on one line with every control, format, separator, surrogate or unassigned character escaped:
    safe to print, and two names that differ are shown differently. A backslash is left as it is."""
    return "".join(escaped(c) if unicodedata.category(c) in HIDDEN else c for c in str(text))


def terminal_text(message) -> str:
    """A message of several lines (one of ours, with names in it) ready to print: its line breaks kept, every
    other character ``shown`` would escape escaped."""
    return "\n".join(shown(line) for line in str(message).split("\n"))


LONGEST_SHOWN = 32  # characters of a name in a figure's legend or caption: a 255-character folder name would widen it


def shortened(name, limit: int = LONGEST_SHOWN) -> str:
    """``name``, cut to ``limit`` characters with an ellipsis where it is longer: for figures, where nothing can be
    hovered to read the rest (the pages show the whole name on hover), so that one long name cannot make a figure
    thousands of pixels wide."""
    name = str(name)
    return name if len(name) <= limit else name[: limit - 1] + "…"
