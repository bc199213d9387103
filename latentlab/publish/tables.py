"""A Markdown table, the one format RESULTS.md and the READMEs' generated blocks are written in, and how
their numbers are printed."""

import math
import re
import statistics

# What Markdown (GitHub's, with its tables, HTML and math) reads as markup inside a table cell.
# An "&" is markup only where it starts a character reference such as "&lt;".
MARKUP = re.compile(r"([\\`*_\[\]<>|~$]|&(?=#?\w+;))")
# What GitHub's autolink extension makes a link of in plain text: "www.", "scheme://" and e-mail addresses
# (also "mailto:" and "xmpp:" ones). No backslash or entity stops an e-mail address from becoming a link.
LINK_PRONE = re.compile(r"www\.|://|@", re.IGNORECASE)


class Markdown(str):
    """Text this package writes as Markdown on purpose (a code span, a link): a table keeps it as it is."""


def markdown_text(value: str) -> str:
    """Text from outside the code (a folder or class name, a value read from a JSON file) as literal
    Markdown on one line, whatever it holds, by these rules of GitHub-Flavoured Markdown:

    - its line breaks become spaces: a line break would end a table's row, and a blank line a paragraph;
    - each character that is markup (emphasis, code span, link, raw HTML, table cell, strikethrough, math, a
      character reference) is backslash-escaped, so that ``<script>`` is text and a ``|`` ends no cell;
    - a value the autolink extension would make a link of (``www.example.org``, ``http://...``, an e-mail
      address) is written as a code span instead, where GitHub makes no links (``code_span``).

    In a table, ``markdown_table`` also escapes the ``|`` of a code span, which would end its cell."""
    text = " ".join(str(value).splitlines())
    if LINK_PRONE.search(text):
        return code_span(text)
    return MARKUP.sub(r"\\\1", text)


def code_span(text: str) -> Markdown:
    """``text`` as a Markdown code span, fenced by more backticks than it holds in a row."""
    text = " ".join(str(text).splitlines())
    fence = "`" * (1 + max((len(run) for run in re.findall("`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def in_cell(markdown: str) -> str:
    """Markdown as one cell of a table: its line breaks become spaces and each ``|`` not yet escaped is, even
    inside a code span, where GitHub's tables still read it as the end of the cell (their rule: the cells are
    split at unescaped pipes before anything else is parsed, and ``\\|`` is a ``|`` again inside the cell)."""
    return re.sub(r"(?<!\\)\|", r"\\|", " ".join(markdown.splitlines()))


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """Every cell is escaped as text, but for those marked ``Markdown``; no cell can end early or end its row."""

    def cells(values: list[str]) -> str:
        return "| " + " | ".join(in_cell(v if isinstance(v, Markdown) else markdown_text(v)) for v in values) + " |"

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
    """ "mean ± sd" of a metric over seeded runs, or None with fewer than two. An sd too small for
    ``digits`` decimals gets two significant digits (and the mean as many decimals), not "± 0.0000"."""
    found = spread(runs, key)
    if found is None:
        return None
    mean, sd, _ = found
    digits = decimals(sd, digits)
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def over_seeds(runs: list[dict], key: str, digits: int) -> str | None:
    """ "mean ± sd (n=N)" of a metric over seeded runs, "value (one seed)" with one, or None with none."""
    found = plus_minus(runs, key, digits)
    if found is not None:
        return f"{found} (n={sum(run.get(key) is not None for run in runs)})"
    one = [run[key] for run in runs if run.get(key) is not None]
    return f"{one[0]:.{digits}f} (one seed)" if one else None


def decimals(sd: float, digits: int) -> int:
    """``digits``, or more where the sd would otherwise print as 0: then two significant digits of it."""
    return 1 - math.floor(math.log10(sd)) if 0 < sd < 10**-digits else digits
