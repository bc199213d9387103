"""The READMEs are the first five minutes and docs/ the reference: every generated block is what
``python -m latentlab report`` writes now, the READMEs name every experiment and torch.hub entry, stay
short, and link every docs page in their language, each of which exists in both languages."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
import torch

from latentlab.experiments import EXPERIMENTS
from latentlab.publish.report import DOCS, LANGUAGES, documents, regenerated

REPO = Path(__file__).resolve().parents[1]
READMES = list(LANGUAGES.values())
PAGES = sorted(path.relative_to(REPO).as_posix() for path in (REPO / DOCS).rglob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def local_links(document: Path) -> list[Path]:
    """The files a Markdown document links, resolved from where it lies (outside links and anchors left out)."""
    targets = [unquote(t.split("#")[0]) for t in LINK.findall(document.read_text(encoding="utf-8"))]
    return [(document.parent / t).resolve() for t in targets if t and not t.startswith(("http:", "https:", "mailto:"))]


@pytest.mark.parametrize("document", [path.relative_to(REPO).as_posix() for path, _ in documents(REPO)])
def test_every_generated_block_is_what_report_writes_now(document):
    language = next(language for path, language in documents(REPO) if path == REPO / document)
    assert regenerated(REPO / document, REPO, language) == (REPO / document).read_text(encoding="utf-8"), (
        f"{document} is stale: run python -m latentlab report"
    )


def test_both_readmes_and_some_docs_pages_hold_generated_blocks():
    holding = {path.name for path, _ in documents(REPO) if "<!-- " in path.read_text(encoding="utf-8")}
    assert set(READMES) <= holding and "architecture.md" in holding


@pytest.mark.parametrize("readme", READMES)
def test_the_readme_names_every_experiment_of_the_registry(readme):
    text = (REPO / readme).read_text(encoding="utf-8")
    assert [name for name in EXPERIMENTS if f"`{name}`" not in text] == []


@pytest.mark.parametrize("readme", READMES)
def test_the_readme_names_every_torch_hub_entry(readme):
    text = (REPO / readme).read_text(encoding="utf-8")
    hubconf = torch.hub._import_module("hubconf", str(REPO / "hubconf.py"))  # as torch.hub.list reads it
    entries = [name for name in dir(hubconf) if callable(getattr(hubconf, name)) and not name.startswith("_")]
    assert entries and [name for name in entries if f"`{name}`" not in text] == []


@pytest.mark.parametrize("readme", READMES)
def test_the_readme_is_under_250_lines(readme):
    assert len((REPO / readme).read_text(encoding="utf-8").splitlines()) < 250


@pytest.mark.parametrize("document", READMES + PAGES)
def test_every_file_a_readme_or_docs_page_links_exists(document):
    missing = [str(t) for t in local_links(REPO / document) if not t.exists()]
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_readme_links_every_docs_page_of_its_language(language):
    linked = set(local_links(REPO / LANGUAGES[language]))
    pages = sorted((REPO / DOCS / language).glob("*.md"))
    assert pages and [p.name for p in pages if p.resolve() not in linked] == []


def test_every_docs_page_exists_in_both_languages_and_links_its_other_language():
    names = {language: sorted(p.name for p in (REPO / DOCS / language).glob("*.md")) for language in LANGUAGES}
    assert names["en"] == names["vi"]
    assert sorted(p.relative_to(REPO / DOCS).parts[0] for p in (REPO / DOCS).rglob("*.md")) == sorted(
        language for language in LANGUAGES for _ in names[language]
    )  # no page outside docs/<language>/
    for name in names["en"]:
        for language, other in (("en", "vi"), ("vi", "en")):
            counterpart = (REPO / DOCS / other / name).resolve()
            assert counterpart in local_links(REPO / DOCS / language / name), (language, name)


@pytest.mark.parametrize("readme", READMES)
def test_the_readmes_bibtex_braces_a_group_author_whole_and_gives_every_entry_a_year_and_url(readme):
    text = (REPO / readme).read_text(encoding="utf-8")
    block = text.split("<!-- bibtex:start -->", 1)[1].split("<!-- bibtex:end -->")[0]
    entries = re.findall(r"@misc\{(\w+),\n(.*?)\n\}", block, re.S)
    assert [key for key, _ in entries] == ["latentlab_paper", "latentlab"]
    for key, fields in entries:
        # braced whole: not the first name "latentlab" and the last name "authors"
        assert re.search(r"^author = \{\{latentlab authors\}\},$", fields, re.M), key
        assert re.search(r"^year = \{\d{4}\}", fields, re.M) and re.search(r"^url = \{https://", fields, re.M), key
    paper_title = re.search(r"^title = \{(.*)\},$", entries[0][1], re.M).group(1)
    assert paper_title.startswith("{") and paper_title.endswith("}")  # no style lower-cases the Vietnamese


@pytest.mark.parametrize("document", READMES + PAGES)
def test_every_script_a_readme_or_docs_page_names_exists(document):
    named = set(re.findall(r"Models/\w+\.py", (REPO / document).read_text(encoding="utf-8")))
    assert sorted(path for path in named if not (REPO / path).is_file()) == []


@pytest.mark.parametrize("readme", READMES)
def test_the_first_five_minutes_train_only_into_a_folder_outside_the_committed_results(readme):
    text = (REPO / readme).read_text(encoding="utf-8")
    first_section = text.split("\n## ")[1]
    out_dirs = re.findall(r"--out-dir (\S+)", first_section)
    committed = {e.out_dir.as_posix() for e in EXPERIMENTS.values()}
    assert out_dirs and all(d.startswith("/tmp/") and d.rstrip("/") not in committed for d in out_dirs)
