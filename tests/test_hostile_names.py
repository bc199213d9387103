"""Names from outside the code (a reader's class folders, values read back from JSON files) are data
wherever they are written: shown literally on the pages, in Markdown tables and in figures, never run."""

import json
import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentlab.core.data import Classes
from latentlab.publish import browser
from latentlab.publish.tables import code_span, markdown_table, markdown_text

# Each a kind of name that has broken a page somewhere: an element with a handler, a comment that swallows
# the page's script, a closing script tag, quotes that leave an attribute, an entity, mathtext, a newline.
HOSTILE = [
    '<img src=x onerror="alert(1)">',
    "<!--<script>",
    "</script><script>alert(2)</script>",
    "\"' onmouseover=alert(3) x='",
    "&lt;b&gt; & co",
    "$\\frac{1}{0}$",
    "two\nlines|pipe`tick`",
]
REPO = Path(__file__).resolve().parents[1]
NEEDS_BROWSER = pytest.mark.skipif(
    browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}"
)


def _committed_metrics(experiment, **changes) -> dict:
    """The committed metrics.json of ``experiment`` (a whole, valid record) with ``changes``."""
    return {**json.loads((REPO / experiment.out_dir / "metrics.json").read_text(encoding="utf-8")), **changes}


def _page_of_hostile_classes(tmp_path, latent_dim: int):
    from conftest import untrained_vae_page

    return untrained_vae_page(tmp_path, latent_dim, HOSTILE[0], tuple(HOSTILE))


@NEEDS_BROWSER
@pytest.mark.parametrize("latent_dim", [2, 32])
def test_a_page_of_hostile_class_names_shows_each_literally_and_runs_nothing_else(tmp_path, latent_dim):
    path = _page_of_hostile_classes(tmp_path, latent_dim)
    with browser.open_browser() as chromium:
        page, errors = browser.watched_page(chromium)
        dialogs, requests = [], []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=30_000)
        page.mouse.move(300, 300)
        legend = page.locator("#legend span").all_text_contents()
        title = page.locator("h1").text_content()
        page.wait_for_timeout(300)
    assert not dialogs and not errors
    assert requests == [path.resolve().as_uri()]  # the page itself, nothing else
    assert legend == HOSTILE
    assert title.startswith(HOSTILE[0])


def test_the_pages_data_block_writes_every_angle_bracket_as_an_escape(tmp_path):
    text = _page_of_hostile_classes(tmp_path, 2).read_text(encoding="utf-8")
    block = text.split('<script type="application/json" id="meta">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block
    assert json.loads(block)["classes"] == HOSTILE


@NEEDS_BROWSER
def test_a_handler_that_slipped_into_a_page_is_blocked_by_its_content_security_policy(tmp_path):
    path = _page_of_hostile_classes(tmp_path, 2)
    slipped = path.read_text(encoding="utf-8").replace(
        "<body>", '<body><img src="data:," onerror="alert(1)"><script>alert(2)</script>', 1
    )
    path.write_text(slipped, encoding="utf-8")
    with browser.open_browser() as chromium:
        page, errors = browser.watched_page(chromium)
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=30_000)
    assert not dialogs  # the page's own script ran (it is ready); the slipped ones did not
    assert errors and all("Content Security Policy" in e for e in errors)


def test_a_markdown_cell_shows_outside_text_literally_on_one_line():
    table = markdown_table(["name"], [[name] for name in HOSTILE])
    for name, line in zip(HOSTILE, table.splitlines()[2:], strict=True):
        cell = line[2:-2]
        assert "\n" not in cell and all(cell[i - 1] == "\\" for i, c in enumerate(cell) if c in "<>|`$")
        assert cell.replace("\\", "") == " ".join(name.replace("\\", "").splitlines())


def test_a_code_span_holds_backticks_without_ending_early():
    assert code_span("a `b` c") == "``a `b` c``"
    assert markdown_text("R&D &amp;") == "R&D \\&amp;"  # an & is escaped only where it starts a reference


def test_a_value_read_back_from_metrics_json_is_escaped_on_index_html_and_in_the_markdown_summary(tmp_path):
    from latentlab.experiments import EXPERIMENTS
    from latentlab.publish.front_pages import index_html
    from latentlab.publish.summary_table import summary

    device = '<img src=x onerror="alert(1)">|'
    folder = tmp_path / EXPERIMENTS["ae-2d"].out_dir
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(
        json.dumps(_committed_metrics(EXPERIMENTS["ae-2d"], device=device)), encoding="utf-8"
    )
    page, markdown = index_html(tmp_path), summary(tmp_path)
    assert "<img" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;|" in page
    assert '\\<img src=x onerror="alert(1)"\\>\\|' in markdown


def test_a_class_name_with_dollar_signs_is_drawn_literally_not_as_mathtext(tmp_path):
    from latentlab.publish.figures import latent_scatter_2d

    classes = Classes(("$\\frac{1}{0}$", "$\\notacommand$"))
    codes, labels = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    latent_scatter_2d(codes, labels, classes, "a $title$", tmp_path / "scatter.png")  # mathtext would refuse these
    assert (tmp_path / "scatter.png").stat().st_size > 0


def test_device_names_read_back_from_json_are_escaped_in_the_summary_note(tmp_path):
    from latentlab.experiments import SCRIPT_EXPERIMENTS
    from latentlab.publish.summary_table import summary_rows

    device = "<img src=x onerror=alert(1)>*bold*"
    for experiment in SCRIPT_EXPERIMENTS.values():
        folder = tmp_path / experiment.out_dir
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(
            json.dumps(_committed_metrics(experiment, device=device)), encoding="utf-8"
        )
    _, note = summary_rows(tmp_path)
    assert "\\<img src=x onerror=alert(1)\\>\\*bold\\*" in note and device not in note


# --- Issue 46: the terminal, the Markdown tables and the text files ----------------------------------------------

TERMINAL_ESCAPES = "\x1b]2;TITLE\x07\x1b[2J\x1b[HAll good: 0 errors\n\u202eevil\u200b"


def test_shown_escapes_control_bidi_and_zero_width_characters_and_keeps_vietnamese_letters():
    from latentlab.core.display import shown

    assert shown(TERMINAL_ESCAPES) == ("\\x1b]2;TITLE\\x07\\x1b[2J\\x1b[HAll good: 0 errors\\n\\u202eevil\\u200b")
    assert shown("Kết_quả_huấn_luyện café") == "Kết_quả_huấn_luyện café"
    assert shown("caf\udce9") == "caf\\xe9"  # a byte that is not UTF-8, as os.fsdecode keeps it


def test_a_data_set_and_class_folders_named_with_terminal_escapes_reach_the_terminal_escaped(tmp_path, capsys):
    from PIL import Image

    from latentlab.cli import main

    root = tmp_path / f"mine{TERMINAL_ESCAPES}"  # printed in the configuration before training, and in the error
    rng = np.random.default_rng(0)
    for split, names in (("train", ["a", "b"]), ("test", ["a", "b", TERMINAL_ESCAPES.replace("\n", " ")])):
        for name in names:
            (root / split / name).mkdir(parents=True)
            Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(root / split / name / "0.png")
    (root / "train" / f"notes{TERMINAL_ESCAPES}.txt").write_text("a file beside the classes")
    assert (
        main(["train", "--dataset", str(root), "--epochs", "1", "--device", "cpu", "--out-dir", str(tmp_path / "run")])
        == 1
    )
    said = capsys.readouterr()
    for stream in (said.out, said.err):
        assert "\x1b" not in stream and "\x07" not in stream and "\u202e" not in stream and "\u200b" not in stream
    assert "\\x1b]2;TITLE\\x07" in said.err and "notes\\x1b]2;TITLE" in said.out
    assert not any(line.startswith("\\u202e") or line.startswith("All good") for line in said.out.splitlines())


def test_info_shows_a_recorded_device_name_with_its_escapes_escaped(tmp_path, capsys):
    import torch

    from latentlab.cli import main

    state = torch.load(REPO / "Kết_quả_huấn_luyện_Autoencoder" / "2D_latent_AE" / "model.pt", weights_only=True)
    state["device"] = "cuda\x1b[2J\x1b]2;pwned\x07"
    torch.save(state, tmp_path / "model.pt")
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "cuda\\x1b[2J\\x1b]2;pwned\\x07" in out


def _rendered(markdown: str) -> str:
    """``markdown`` as GitHub renders it: cmark-gfm with its table, autolink and strikethrough extensions."""
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (GitHub's Markdown parser) is in requirements.txt")
    from cmarkgfm.cmark import Options

    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


RECORDED = [
    "/data/a|b `c` | d",
    "www.example.org",
    "http://example.org/x",
    "ops@example.org",
    "<script>alert(1)</script>",
    "a\nb|c",
    "``",
    "x\\|y",
    "[link](http://example.org)",
    "*bold* _it_ ~~gone~~",
]


@pytest.mark.parametrize("value", RECORDED)
def test_a_recorded_value_in_a_markdown_table_stays_one_cell_of_one_row_and_is_neither_link_nor_html(value):
    from latentlab.publish.tables import Markdown, code_span

    html = _rendered(
        markdown_table(
            ["data set", "as code", "device"], [[value, Markdown(code_span(value)), "cpu"], ["mnist", "mnist", "cpu"]]
        )
    )
    rows = html.split("<tbody>", 1)[1].split("<tr>")[1:]
    assert len(rows) == 2 and all(row.count("<td>") == 3 for row in rows)
    assert "<a " not in html and "<script" not in html and "<del>" not in html and "<em>" not in html
    assert rows[0].rsplit("<td>", 1)[1].startswith("cpu</td>")


@pytest.mark.parametrize("value", RECORDED)
def test_a_recorded_value_in_markdown_prose_is_neither_link_nor_html(value):
    html = _rendered(f"Trained on {markdown_text(value)} here.")
    assert "<a " not in html and "<script" not in html and "<del>" not in html and html.count("<p>") == 1


def test_a_data_set_path_with_a_pipe_keeps_every_column_of_its_results_row(tmp_path):
    from latentlab.publish.report import COLUMNS, results_markdown

    _recorded_folder(tmp_path, dataset="/data/mine|evil `x` <b>", device="www.example.org")
    html = _rendered(results_markdown(tmp_path))
    table = next(t for t in html.split("<table>")[1:] if t.count("<th>") == len(COLUMNS))
    assert all(row.count("<td>") == len(COLUMNS) for row in table.split("<tbody>", 1)[1].split("<tr>")[1:])
    assert "<a " not in table and "<b>" not in table


def _recorded_folder(root: Path, dataset: str, device: str) -> None:
    """A metrics.json in the 32-D AE's folder, of a run on ``dataset`` recorded on ``device``."""
    from latentlab.experiments import EXPERIMENTS

    e = EXPERIMENTS["ae-32d"]
    metrics = _committed_metrics(e, device=device, dataset=dataset)
    metrics["config"] = {**metrics["config"], "dataset": dataset}
    (root / e.out_dir).mkdir(parents=True)
    (root / e.out_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")


def test_interpolation_txt_keeps_one_record_per_line_when_a_class_name_holds_a_newline(tmp_path):
    import torch

    from conftest import TINY_WIDTHS, synthetic_digits
    from latentlab import VariationalAutoencoder
    from latentlab.core.data import DeviceSplit
    from latentlab.publish.unconditional_gallery import interpolation

    torch.manual_seed(0)
    model = VariationalAutoencoder(2, **TINY_WIDTHS).eval()
    images, labels = synthetic_digits(64, seed=4)
    test = DeviceSplit(
        torch.from_numpy(images),
        torch.from_numpy(labels % 2).long(),
        torch.device("cpu"),
        Classes(("two\nlines 1 2 3", "ok")),
    )
    interpolation(model, "VAE, 2-D latent", test, tmp_path)
    table = np.loadtxt(tmp_path / "interpolation.txt", comments="#", dtype=str, ndmin=2)
    assert table.shape == (1, 9)  # one pair between two classes: pair, classes, two indices, five scores
    assert "two\\nlines" in (tmp_path / "interpolation.txt").read_text(encoding="utf-8")


def test_a_class_name_of_255_characters_is_shortened_in_the_scatter_legend_not_widening_the_figure(tmp_path):
    from PIL import Image

    from latentlab.publish.figures import latent_scatter_2d

    codes, labels = np.random.default_rng(0).normal(size=(60, 2)), np.arange(60) % 3
    widths = []
    for first in ("a", "x" * 255):
        latent_scatter_2d(codes, labels, Classes((first, "b", "c")), "title", tmp_path / "scatter.png")
        widths.append(Image.open(tmp_path / "scatter.png").size[0])
    assert widths[1] < 1.5 * widths[0]  # it was 3702 px against 909


WIDTHS = "[document.documentElement.scrollWidth, window.innerWidth]"


def _evaluated(path: Path, script: str, ready: str = "body"):
    """What ``script`` gives on the page at ``path`` in a headless browser, once ``ready`` is there."""
    with browser.open_browser() as chromium:
        page, errors = browser.watched_page(chromium)
        page.goto(path.resolve().as_uri())
        page.wait_for_selector(ready, state="attached", timeout=30_000)
        assert not errors
        return page.evaluate(script)


@NEEDS_BROWSER
@pytest.mark.parametrize("latent_dim", [2, 32])
def test_a_class_name_of_255_characters_keeps_the_explorer_page_its_width_and_is_whole_one_hover_away(
    tmp_path, latent_dim
):
    from conftest import untrained_vae_page

    long = "x" * 255
    path = untrained_vae_page(tmp_path, latent_dim, "VAE " + long, (long, "b", "c"))
    scroll, window, title = _evaluated(
        path, WIDTHS[:-1] + ", document.querySelector('#legend span').title]", "body[data-ready=yes]"
    )
    assert scroll <= window  # it was 3580 px in a window of 1040
    assert title == long


@NEEDS_BROWSER
def test_a_data_set_of_255_characters_keeps_index_html_its_width(tmp_path):
    from latentlab.publish.front_pages import index_html

    _recorded_folder(tmp_path, dataset="/data/" + "y" * 255, device="cpu")
    (tmp_path / "index.html").write_text(index_html(tmp_path), encoding="utf-8")
    scroll, window = _evaluated(tmp_path / "index.html", WIDTHS)
    assert scroll <= window  # it was 3205 px in a window of 1040


# Characters a folder name may hold that have broken a terminal, a table or a file: controls (C0, DEL, C1), bidi
# overrides, zero-width characters, line separators, combining accents (NFD), Markdown's markup, Vietnamese letters.
HOSTILE_CHARACTERS = "\x01\x07\x08\t\n\r\x1b\x7f\x85\u202e\u2066\u200b\ufeff\u2028\u0301|`<>*_[]()$&\\@:. ếđươ" + "abce"


def _fuzzed_name(draw_text: str, raw: bytes) -> str:
    """A class folder's name: drawn characters, then bytes that may not be UTF-8 (os.fsdecode keeps them as
    surrogates), never hidden and never a path separator."""
    return "n" + draw_text + os.fsdecode(raw.replace(b"/", b"").replace(b"\x00", b""))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.text(HOSTILE_CHARACTERS, max_size=12),
    second=st.text(HOSTILE_CHARACTERS, max_size=12),
    raw=st.binary(max_size=3),
    decomposed=st.booleans(),
)
def test_class_folders_of_fuzzed_names_are_read_whole_or_refused_with_the_projects_message(
    tmp_path_factory, first, second, raw, decomposed
):
    from PIL import Image

    from latentlab.core.data import dataset_classes, load_image_folder
    from latentlab.core.display import shown
    from latentlab.core.errors import LatentlabError

    a = _fuzzed_name(first, raw)
    b = unicodedata.normalize("NFD", a) if decomposed else _fuzzed_name(second, b"")
    root = tmp_path_factory.mktemp("fuzz")
    try:
        for split in ("train", "test"):
            for name in {a, b}:
                (root / split / name).mkdir(parents=True)
                Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)).save(
                    root / split / name / "0.png"
                )
    except OSError:  # a name this file system refuses (too long in bytes) is no case here
        return
    try:
        load_image_folder(root, "test")
        names = dataset_classes(str(root)).names
    except LatentlabError as error:
        message = shown(str(error))
        assert message.isprintable()
        return
    json.dumps(names, ensure_ascii=False).encode("utf-8")  # recordable
    assert all(unicodedata.is_normalized("NFC", name) for name in names)
    assert all(shown(name).isprintable() for name in names)
    table = markdown_table(["class"], [[name] for name in names])
    assert len(table.splitlines()) == 2 + len(names)


def test_class_names_of_255_characters_are_shortened_over_the_analogies_columns_not_widening_the_figure(tmp_path):
    import torch
    from PIL import Image

    from latentlab.publish.figures import analogies

    images = torch.rand(2, 1, 28, 28)
    widths = []
    for names in (["a", "b", "c"], ["x" * 255, "y" * 255, "z" * 255]):
        analogies(images, images, torch.rand(2, 3, 1, 28, 28), names, "title", tmp_path / "analogies.png")
        widths.append(Image.open(tmp_path / "analogies.png").size[0])
    assert widths[1] < 1.5 * widths[0]
