"""A headless Chromium for the explorer pages: the browser test and the README's screenshot use it.

Playwright drives the system's Chromium (Debian: ``apt-get install -y chromium``); its own
browser download is never used. Neither is needed to train or to write the pages.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from .errors import LatentlabError

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


@contextmanager
def open_page(html: Path, width: int = 1040, height: int = 800):
    """Yield (page, console_errors) with ``html`` opened from disk and its explorer ready."""
    reason = missing()
    if reason:
        raise LatentlabError(f"Cannot open {html} in a browser: {reason}.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(Path(html).resolve().as_uri())
            page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=30_000)
            yield page, errors
        finally:
            browser.close()


def move_to_latent(page, point: tuple[float, float]) -> None:
    """Move the pointer over the scatter to the plot point ``point``, through the plot's content box
    (inside its border), where the canvas's pixels are."""
    box = page.locator("#scatter").bounding_box()
    px, py = page.evaluate("([x, y]) => window.explorer.view.toPixel(x, y)", list(point))
    c = page.evaluate("(({width, height, clientLeft, clientTop, clientWidth, clientHeight}) => "
                      "({width, height, clientLeft, clientTop, clientWidth, clientHeight}))"
                      "(document.getElementById('scatter'))")
    page.mouse.move(box["x"] + c["clientLeft"] + px * c["clientWidth"] / c["width"],
                    box["y"] + c["clientTop"] + py * c["clientHeight"] / c["height"])


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
