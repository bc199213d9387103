"""The results site as readers get it on the web: built from the committed files, served over HTTP (not
file://), every page opened in headless Chromium with no failed request and no console error, every link
and image resolved, and a digit drawn on compare.html reaching every model's frame."""

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urldefrag, urljoin
from urllib.request import urlopen

import pytest

from latentlab.core.errors import LatentlabError
from latentlab.experiments import EXPERIMENTS
from latentlab.publish import browser
from latentlab.publish.static_site import build_site, local_links

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("site") / "public"


@pytest.fixture(scope="module")
def built(site) -> list[Path]:
    return build_site(site, REPO)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site, built):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_the_site_holds_the_pages_and_what_they_show_and_no_model(built):
    names = {path.name for path in built}
    assert {"index.html", "compare.html", "explorer.html", "latent_scatter.png", "sampling_1.gif"} <= names
    pages = [e for e in EXPERIMENTS.values() if (REPO / e.out_dir / "explorer.html").is_file()]
    assert sum(path.name == "explorer.html" for path in built) == len(pages) == len(EXPERIMENTS)
    assert not any(path.suffix in (".pt", ".json") for path in built)


def test_the_site_carries_the_documents_its_pages_link_and_what_they_link_in_turn(built):
    carried = {path.as_posix() for path in built}
    assert {"README.md", "README.en.md", "RESULTS.md", "CITATION.cff", "LICENSE", "compare.png"} <= carried
    assert not any(path.suffix in (".pt", ".json") for path in built)  # a linked result folder is not carried whole


def test_a_page_that_links_a_missing_file_stops_the_build_naming_it(tmp_path):
    root = tmp_path / "repo"
    (root / "Kết_quả_huấn_luyện_Autoencoder").mkdir(parents=True)
    (root / "index.html").write_text('<img src="K%E1%BA%BFt_qu%E1%BA%A3_hu%E1%BA%A5n_luy%E1%BB%87n_Autoencoder/a.png">')
    with pytest.raises(LatentlabError, match="Kết_quả_huấn_luyện_Autoencoder/a.png"):
        build_site(tmp_path / "out", root)
    assert not (tmp_path / "out").exists()


def test_a_folder_that_is_not_an_earlier_site_is_never_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LatentlabError, match="not an earlier site"):
        build_site(tmp_path, REPO)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def _links_of(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('a[href], img[src], iframe[src]')]
        .map(e => e.href || e.src).filter(u => u.startsWith(location.origin))""")


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_every_page_opens_over_http_without_a_failed_request_or_console_error_and_every_link_resolves(
    site, served, built
):
    pages = [path for path in built if path.suffix == ".html"]
    started, checked = time.perf_counter(), set()
    with browser.open_browser() as chromium:
        for path in pages:
            page, errors = browser.watched_page(chromium)
            failed = []
            page.on("requestfailed", lambda request, failed=failed: failed.append(request.url))
            page.on(
                "response",
                lambda response, failed=failed: failed.append(response.url) if response.status >= 400 else None,
            )
            page.goto(served + quote(path.as_posix()), wait_until="load")
            if path.name == "explorer.html":
                page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=30_000)
            # index.html loads its figures lazily: ask for all of them now, and wait until each has arrived
            page.evaluate("[...document.images].forEach(i => { i.loading = 'eager'; })")
            page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=60_000)
            broken_images = page.evaluate("[...document.images].filter(i => !i.naturalWidth).map(i => i.src)")
            links = _links_of(page)
            page.close()
            assert (failed, errors, broken_images) == ([], [], []), path
            for link in {urldefrag(link).url for link in links} - checked:
                with urlopen(link) as response:  # noqa: S310 (our own server on 127.0.0.1)
                    assert response.status == 200, link
                checked.add(link)
    # The documents are served as they are: their links are read here, as the build read them in the repository
    # (where a link to a folder, browsed on GitHub, is left out of the site).
    documents = [path for path in built if path.suffix == ".md"]
    for path in documents:
        for target in local_links(REPO / path, REPO):
            link = served + quote(target.relative_to(REPO.resolve()).as_posix())
            if link not in checked:
                with urlopen(link) as response:  # noqa: S310 (our own server on 127.0.0.1)
                    assert response.status == 200, (path, link)
                checked.add(link)
    print(
        f"\ncrawled {len(pages)} pages, {len(documents)} documents and {len(checked)} links over HTTP in "
        f"{time.perf_counter() - started:.1f} s"
    )
    assert len(checked) >= len(built) - 1  # everything but index.html itself is linked from somewhere


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_a_digit_drawn_on_compare_reaches_every_models_frame_over_http(served):
    with browser.open_page(urljoin(served, "compare.html"), width=1300, height=900) as (page, errors):
        page.wait_for_selector("body[data-frames=ready]", state="attached", timeout=60_000)
        browser.draw_seven(page)
        browser.wait_for_every_model(page)
        frames = [frame for frame in page.frames[1:] if frame.url.endswith("explorer.html#embed")]
        inputs = [frame.evaluate("Array.from(window.explorer.input() || [])") for frame in frames]
        rows = page.locator("#summary tbody tr").count()
        iframes = page.locator("iframe").count()
        assert not errors
    mnist = [e for e in EXPERIMENTS.values() if e.config().dataset == "mnist"]
    assert len(frames) == rows == iframes == len(mnist)  # every MNIST model, the conditional one too
    assert all(sum(pixels) > 10 for pixels in inputs)


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_index_html_fits_a_400_px_screen_and_shows_commands_as_code_not_backticks(served):
    with browser.open_page(f"{served}index.html", width=400, height=800, ready=None) as (page, errors):
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        text = page.evaluate("document.body.innerText")
        codes = page.locator("p.en code").all_text_contents()
        assert not errors
    assert widths[0] <= widths[1] == 400
    assert "`" not in text and "python -m latentlab seeds" in codes
