"""The results site for the web: index.html, compare.html, every explorer page, and every figure and
GIF they show, copied from the committed files into one folder that any static host serves
(``.github/workflows/pages.yml`` publishes it on GitHub Pages). Nothing is trained or drawn here.

What goes in is what the pages link, found by following their links from index.html and
compare.html, so nothing they do not show travels (no model.pt). The Markdown documents they link
(README.md, README.en.md, RESULTS.md) are carried as they are, and so is every file those link in turn
(CITATION.cff, LICENSE, figures, sources); a link to a whole result folder is not followed (a static
host lists no folder, and the folder holds model.pt). Links stay relative, as the pages write them, so
the folder names with Vietnamese letters resolve over HTTP as on disk.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..core.errors import LatentlabError
from ..experiments import check_repository_root
from .front_pages import COMPARE_FILE, INDEX_FILE

LINKING = {"a": "href", "img": "src", "iframe": "src", "script": "src", "link": "href", "source": "src"}


class _Links(HTMLParser):
    """The href and src values of a page's links, images, frames and scripts."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        wanted = LINKING.get(tag)
        self.found += [value for name, value in attrs if name == wanted and value]


# A Markdown link or image, [text](target "title") or ![alt](<target>), and a fenced code block (not links).
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCED_CODE = re.compile(r"^```.*?^```", re.S | re.M)


def markdown_links(text: str) -> list[str]:
    """The link targets of a Markdown document: its [text](target) links and images, and the href and src of
    the HTML written into it; code blocks left out."""
    text = FENCED_CODE.sub("", text)
    parser = _Links()
    parser.feed(text)
    return MARKDOWN_LINK.findall(text) + parser.found


def local_links(page: Path, root: Path) -> list[Path]:
    """The files under ``root`` that ``page`` (an HTML page or a Markdown document) links to: outside links,
    in-page anchors and, in a Markdown document, links to folders left out."""
    text = page.read_text(encoding="utf-8")
    if page.suffix == ".md":
        found = markdown_links(text)
    else:
        parser = _Links()
        parser.feed(text)
        found = parser.found
    targets = []
    for link in found:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or not parts.path:  # http(s), mailto, data:, or "#anchor"
            continue
        target = (page.parent / unquote(parts.path)).resolve()
        if not target.is_relative_to(root.resolve()):
            raise LatentlabError(
                f"{page} links {link}, which is outside {root}: a site cannot serve it. "
                "Regenerate the pages with `python -m latentlab report`."
            )
        if page.suffix == ".md" and target.is_dir():  # a result folder, browsed on GitHub: nothing to serve
            continue
        targets.append(target)
    return targets


def site_files(root: Path) -> list[Path]:
    """Every file the site needs, relative to ``root``: the two pages and all they link, followed through
    the pages and Markdown documents they link in turn."""
    root = root.resolve()
    queue = [root / name for name in (INDEX_FILE, COMPARE_FILE) if (root / name).is_file()]
    if not queue or queue[0].name != INDEX_FILE:
        raise LatentlabError(f"There is no {INDEX_FILE} in {root}: write it with `python -m latentlab report` first.")
    found, missing = {}, []
    while queue:
        path = queue.pop()
        if path in found:
            continue
        if not path.is_file():
            missing.append(str(path.relative_to(root)))
            continue
        found[path] = path.relative_to(root)
        if path.suffix in (".html", ".md"):
            queue += local_links(path, root)
    if missing:
        raise LatentlabError(
            f"The pages link {len(missing)} file(s) that are not there: {', '.join(sorted(missing))}. "
            "Rebuild them (python -m latentlab figures/explore FOLDER, then report) or restore them."
        )
    return sorted(found.values())


def build_site(out: Path, root: Path = Path(".")) -> list[Path]:
    """Copy the site into ``out``, replacing a site built there before; returns the files copied."""
    check_repository_root(root, "site")
    out = Path(out)
    if out.resolve() == Path(root).resolve() or Path(root).resolve().is_relative_to(out.resolve()):
        raise LatentlabError(f"--out {out} holds the repository itself; give the site a folder of its own.")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / INDEX_FILE).is_file())):
        raise LatentlabError(
            f"{out} exists and is not an earlier site (no {INDEX_FILE} in it): nothing was written. "
            "Give --out an empty or new folder."
        )
    files = site_files(Path(root))
    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for relative in files:
            (building / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(root) / relative, building / relative)
        os.chmod(building, 0o755)  # mkdtemp's private 0700 would hide the site from a web server's user
        if out.exists():
            shutil.rmtree(out)
        building.rename(out)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    size = sum((out / relative).stat().st_size for relative in files)
    pages = sum(relative.suffix == ".html" for relative in files)
    print(f"Wrote the site to {out}/: {pages} pages, {len(files)} files, {size / 1e6:.1f} MB")
    return files
