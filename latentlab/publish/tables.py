"""A Markdown table, the one format RESULTS.md and the READMEs' generated blocks are written in, and how
their numbers are printed."""

import math
import re

import statistics

# What Markdown (GitHub's, with its tables, HTML and math) reads as markup inside a table cell.
# An "&" is markup only where it starts a character reference such as "&lt;".
MARKUP = re.compile(r"([\\`*_\[\]<>|~$]|&(?=#?\w+;))")


class Markdown(str):
    """Text this package writes as Markdown on purpose (a code span, a link): a table keeps it as it is."""


def markdown_text(value: str) -> str:
    """Text from outside the code (a folder or class name, a value read from a JSON file) as literal
    Markdown on one line: each character that Markdown would read as markup is backslash-escaped."""
    return MARKUP.sub(r"\\\1", " ".join(str(value).splitlines()))


def code_span(text: str) -> Markdown:
    """``text`` as a Markdown code span, fenced by more backticks than it holds in a row."""
    text = " ".join(str(text).splitlines())
    fence = "`" * (1 + max((len(run) for run in re.findall("`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """Every cell is escaped as text, but for those marked ``Markdown``."""
    def cells(values: list[str]) -> str:
        return "| " + " | ".join(v if isinstance(v, Markdown) else markdown_text(v) for v in values) + " |"
    return "\n".join([cells(header), "| " + " | ".join("---" for _ in header) + " |"] + [cells(row) for row in rows])


def spread(runs: list[dict], key: str) -> tuple[float, float, int] | None:
    """(mean, sample standard deviation, n) of a metric over runs, or None with fewer than two values."""
    values = [run[key] for run in runs if run.get(key) is not None]
    if len(values) < 2:
        return None
    return statistics.fmean(values), statistics.stdev(values), len(values)


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
