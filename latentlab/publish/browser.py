"""A headless Chromium for the explorer pages: the browser tests and the README's screenshots use it.

Playwright drives the system's Chromium (Debian: ``apt-get install -y chromium``); its own
browser download is never used. Neither is needed to train or to write the pages.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import LatentlabError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    return next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)


def missing() -> str | None:
    """Why no page can be opened here, or None when Playwright and Chromium are both installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -r requirements.txt)"
    if chromium_path() is None:
        return "no Chromium found on the PATH (Debian: apt-get install -y chromium)"
    return None


# No connections of Chromium's own (updates, sync, field trials): a closed network refuses them, and
# a page's test must see only the page's requests.
QUIET = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def open_browser():
    """Yield a headless Chromium (Playwright's Browser), closed afterwards."""
    reason = missing()
    if reason:
        raise LatentlabError(f"Cannot open a browser: {reason}.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=QUIET)
        try:
            yield browser
        finally:
            browser.close()


def watched_page(browser, width: int = 1040, height: int = 800):
    """A new page and the list its console errors and uncaught exceptions are added to."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


@contextmanager
def open_page(html: Path | str, width: int = 1040, height: int = 800, ready: str | None = "body[data-ready=yes]"):
    """Yield (page, console_errors) with ``html`` (a file, or an http:// address) opened and, unless ``ready``
    is None, its explorer ready."""
    with open_browser() as browser:
        page, errors = watched_page(browser, width, height)
        page.goto(html if str(html).startswith("http") else Path(html).resolve().as_uri())
        if ready:
            page.wait_for_selector(ready, state="attached", timeout=30_000)
        yield page, errors


def move_to_latent(page, point: tuple[float, float]) -> None:
    """Move the pointer over the scatter to the plot point ``point``, through the plot's content box
    (inside its border), where the canvas's pixels are."""
    box = page.locator("#scatter").bounding_box()
    px, py = page.evaluate("([x, y]) => window.explorer.view.toPixel(x, y)", list(point))
    c = page.evaluate(
        "(({width, height, clientLeft, clientTop, clientWidth, clientHeight}) => "
        "({width, height, clientLeft, clientTop, clientWidth, clientHeight}))"
        "(document.getElementById('scatter'))"
    )
    page.mouse.move(
        box["x"] + c["clientLeft"] + px * c["clientWidth"] / c["width"],
        box["y"] + c["clientTop"] + py * c["clientHeight"] / c["height"],
    )


def draw_seven(page) -> None:
    """Draw a "7" on the page's pad with the mouse: a bar, then a diagonal stroke."""
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 90, box["y"] + 45)
    page.mouse.down()
    for x, y in [(200, 40), (200, 60), (130, 240)]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
    page.mouse.up()


def wait_for_every_model(page, timeout_ms: int = 60_000) -> None:
    """compare.html: wait until every frame has loaded and answered the current input."""
    page.wait_for_selector("body[data-frames=ready]", state="attached", timeout=timeout_ms)
    page.wait_for_function("() => window.compare.results.size === window.compare.models.length", timeout=timeout_ms)


def screenshot_compare(html: Path, png: Path) -> None:
    """Save a screenshot of compare.html with a "7" drawn on its pad, once every model has answered."""
    with open_page(html, width=1300, height=900) as (page, errors):
        page.wait_for_selector("body[data-frames=ready]", state="attached", timeout=60_000)
        draw_seven(page)
        wait_for_every_model(page)
        # A full-page screenshot leaves the frames blank (each file:// page is a process of its own):
        # a window as tall as the page shows them.
        for _ in range(3):  # the frames resize to their content after the window does
            page.set_viewport_size({"width": 1300, "height": page.evaluate("document.body.scrollHeight") + 20})
            page.wait_for_timeout(300)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(png))
        if errors:
            raise LatentlabError(f"{html} reported errors in the browser: {'; '.join(errors)}")
    print(f"Wrote {png}")


def screenshot(html: Path, png: Path, point: tuple[float, float] | None = None, click: bool = False) -> None:
    """Save a screenshot of an explorer page, the pointer at ``point`` (clicked there if ``click``)."""
    with open_page(html) as (page, errors):
        if point is not None:
            move_to_latent(page, point)
            if click:
                page.mouse.down()
                page.mouse.up()
        page.screenshot(path=str(png), full_page=True)
        if errors:
            raise LatentlabError(f"{html} reported errors in the browser: {'; '.join(errors)}")
    print(f"Wrote {png}")
