"""A Markdown table, the one format RESULTS.md and the READMEs' generated blocks are written in, and how
their numbers are printed."""

import math

from ..studies.records import spread


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def fmt(value, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def plus_minus(runs: list[dict], key: str, digits: int) -> str | None:
    """"mean ± sd" of a metric over seeded runs, or None with fewer than two. An sd too small for
    ``digits`` decimals gets two significant digits (and the mean as many decimals), not "± 0.0000"."""
    found = spread(runs, key)
    if found is None:
        return None
    mean, sd, _ = found
    digits = decimals(sd, digits)
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def decimals(sd: float, digits: int) -> int:
    """``digits``, or more where the sd would otherwise print as 0: then two significant digits of it."""
    return 1 - math.floor(math.log10(sd)) if 0 < sd < 10 ** -digits else digits
