"""Names from outside the code (a reader's class folders, values read back from JSON files) are data
wherever they are written: shown literally on the pages, in Markdown tables and in figures, never run."""

import json

import numpy as np
import pytest

from latentlab.core.data import Classes
from latentlab.publish import browser
from latentlab.publish.tables import code_span, markdown_table, markdown_text

# Each a kind of name that has broken a page somewhere: an element with a handler, a comment that swallows
# the page's script, a closing script tag, quotes that leave an attribute, an entity, mathtext, a newline.
HOSTILE = ['<img src=x onerror="alert(1)">', "<!--<script>", "</script><script>alert(2)</script>",
           "\"' onmouseover=alert(3) x='", "&lt;b&gt; & co", "$\\frac{1}{0}$", "two\nlines|pipe`tick`"]
NEEDS_BROWSER = pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")


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
        "<body>", '<body><img src="data:," onerror="alert(1)"><script>alert(2)</script>', 1)
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
    for name, line in zip(HOSTILE, table.splitlines()[2:]):
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
    (folder / "metrics.json").write_text(json.dumps({"parameters": 1, "epochs": 1, "train_seconds": 60.0,
                                                     "device": device, "test_mse": 0.1}), encoding="utf-8")
    page, markdown = index_html(tmp_path), summary(tmp_path)
    assert "<img" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;|" in page
    assert "\\<img src=x onerror=\"alert(1)\"\\>\\|" in markdown


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
        (folder / "metrics.json").write_text(json.dumps({"parameters": 1, "epochs": 1, "train_seconds": 60.0,
                                                         "device": device, "test_mse": 0.1}), encoding="utf-8")
    _, note = summary_rows(tmp_path)
    assert "\\<img src=x onerror=alert(1)\\>\\*bold\\*" in note and device not in note
