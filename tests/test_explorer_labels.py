"""The pages that never mislead (issue 49): the conditional VAE reads a drawing's label itself (Bayes' rule with
its ELBO at the posterior mean under each label), a photo of a digit is prepared as MNIST's digits were and
encoded like a drawing, nothing covers anything on a 400 px screen, and the posterior inset has axes.

The label tests run the committed CVAE's own page (refilled in today's template), its first test digits drawn
on the pad as pen strokes: each row's run of ink, chained down the digit (``strokes_of``)."""

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab.cli import main
from latentlab.experiments import EXPERIMENTS
from latentlab.publish import browser
from latentlab.publish.explorer import EXPLORER_FILE, HERE, read_page

REPO = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")
NO_BROWSER = browser.missing()
needs_browser = pytest.mark.skipif(NO_BROWSER is not None, reason=f"no headless browser here: {NO_BROWSER}")
needs_node = pytest.mark.skipif(
    NODE is None, reason="Node is not installed, so explorer.js cannot run outside a browser"
)
INK = 200  # the grey level above which a test digit's pixel is drawn (its anti-aliased edge left to the pen)
SCALE = 12  # pad pixels per pixel of the digit: the pad's 22-pixel pen is then 1.8 of them wide


def committed(name: str) -> Path:
    return REPO / EXPERIMENTS[name].out_dir


@pytest.fixture(scope="module")
def cvae_page(tmp_path_factory) -> Path:
    """The committed CVAE's explorer.html and model.pt, the page refilled in today's template."""
    folder = tmp_path_factory.mktemp("cvae")
    for name in (EXPLORER_FILE, "model.pt"):
        shutil.copy(committed("cvae-2d") / name, folder / name)
    assert main(["explore", "--template-only", str(folder)]) == 0
    return folder / EXPLORER_FILE


@pytest.fixture(scope="module")
def test_digits(cvae_page) -> tuple[np.ndarray, np.ndarray]:
    """The first test images the page carries (uint8, (N, 28, 28)) and their labels."""
    _, arrays = read_page(cvae_page)
    return arrays["pick_images"].reshape(-1, 28, 28), arrays["labels"][: len(arrays["pick_images"])]


def strokes_of(image: np.ndarray) -> list[list[tuple[float, float]]]:
    """A 28 x 28 digit as pen strokes in its pixel coordinates: each row's runs of ink (pixels above INK),
    chained down the digit while a run overlaps the one above it, and drawn back and forth along the chain."""
    chains = []
    for y, row in enumerate(image > INK):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]])))
        for x0, x1 in zip(edges[::2], edges[1::2] - 1, strict=True):
            chain = next((c for c in chains if c[-1][0] == y - 1 and x0 <= c[-1][2] and x1 >= c[-1][1]), None)
            if chain is None:
                chains.append(chain := [])
            chain.append((y, x0, x1))
    strokes = []
    for chain in chains:
        points = []
        for i, (y, x0, x1) in enumerate(chain):
            inset = min(0.4, (x1 - x0) / 2)  # the round pen reaches past a run's end pixels
            ends = [(x0 + 0.5 + inset, y + 0.5), (x1 + 0.5 - inset, y + 0.5)]
            points += ends if i % 2 == 0 else ends[::-1]
        strokes.append(points)
    return strokes


def draw_digit(page, image: np.ndarray) -> None:
    """Clear the pad, then draw ``image`` on it with the mouse, stroke by stroke, its ink centred on the pad."""
    page.click("#clear")
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()
    rows, cols = np.nonzero(image > INK)
    left = box["x"] + box["width"] / 2 - SCALE * (cols.min() + cols.max() + 1) / 2
    top = box["y"] + box["height"] / 2 - SCALE * (rows.min() + rows.max() + 1) / 2
    for stroke in strokes_of(image):
        (x, y), rest = stroke[0], stroke[1:]
        page.mouse.move(left + SCALE * x, top + SCALE * y)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(left + SCALE * x, top + SCALE * y, steps=2)
        page.mouse.up()


def photo_of(image: np.ndarray) -> bytes:
    """A test digit as a phone might photograph it: dark ink on light grey, noisy paper, blurred, eight times
    larger and off-centre in a 480 x 360 frame. PNG bytes."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    ink = Image.fromarray(image).resize((224, 224), Image.BILINEAR)
    paper = np.clip(rng.normal(215, 6, (360, 480)), 0, 255)
    paper[60:284, 40:264] -= np.asarray(ink, dtype=float) * 170 / 255
    photo = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.5))
    out = io.BytesIO()
    photo.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def point_elbo_labels(model, x: torch.Tensor) -> torch.Tensor:
    """p(y|x) of each image by the page's rule, in PyTorch: softmax over y of minus the point loss given y."""
    with torch.no_grad():
        scores = torch.stack(
            [sum(model.point_loss_per_image(x, torch.full((len(x),), y)).values()) for y in range(model.classes)], dim=1
        )
    return torch.softmax(-scores.double(), dim=1)


# --- The pure functions, in Node -------------------------------------------------------------------------


def run_node(tmp_path, script: str, data: dict):
    (tmp_path / "data.json").write_text(json.dumps(data))
    runner = (
        f"const page = require({json.dumps(str(HERE / 'explorer.js'))});"
        f"const data = JSON.parse(require('fs').readFileSync({json.dumps(str(tmp_path / 'data.json'))}, 'utf8'));"
        f"{script}"
    )
    done = subprocess.run([NODE, "-e", runner], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@needs_node
def test_the_label_posterior_is_the_softmax_of_minus_the_scores_whatever_their_offset(tmp_path):
    scores = [[30.0, 12.5, 14.0, 50.0], [1030.0, 1012.5, 1014.0, 1050.0]]
    shown = run_node(tmp_path, "console.log(JSON.stringify(data.scores.map(page.labelPosterior)));", {"scores": scores})
    expected = torch.softmax(-torch.tensor(scores[0], dtype=torch.float64), 0).numpy()
    assert np.allclose(shown[0], expected, atol=1e-12) and np.allclose(shown[1], expected, atol=1e-12)


@needs_node
def test_a_dark_on_light_photo_is_inverted_and_its_paper_taken_to_black(tmp_path):
    grey = np.full((10, 12), 0.85)
    grey[3:7, 4:8] = 0.1  # the pen's stroke
    ink = np.array(
        run_node(
            tmp_path,
            "console.log(JSON.stringify(Array.from(page.photoInk(data.grey, 12, 10))));",
            {"grey": grey.ravel().tolist()},
        )
    ).reshape(10, 12)
    assert np.all(ink[3:7, 4:8] == 1) and np.all(ink[grey > 0.5] == 0)


@needs_node
def test_ink_is_fitted_to_a_20_pixel_box_and_centred_by_its_mass_as_mnists_digits_were(tmp_path):
    ink = np.zeros((90, 120))
    ink[5:85, 70:110] = 1.0  # 80 x 40, far off-centre
    ink[5:15, 70:110] = 0.0
    ink[5:45, 70:80] = 1.0  # more mass on the left at the top
    pixels = np.array(
        run_node(
            tmp_path,
            "console.log(JSON.stringify(Array.from(page.prepareInk(data.ink, 120, 90))));",
            {"ink": ink.ravel().tolist()},
        )
    ).reshape(28, 28)
    rows, cols = np.nonzero(pixels > 0)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 == 10  # aspect kept
    centre = np.array([(pixels.sum(1) * np.arange(28)).sum(), (pixels.sum(0) * np.arange(28)).sum()]) / pixels.sum()
    assert np.abs(centre - 13.5).max() <= 0.5
    assert abs(pixels.sum() - ink.sum() / 16) <= 1  # each new pixel the mean of the area it covers (4 x 4)


# --- The conditional VAE reads the label ---------------------------------------------------------------


@needs_browser
def test_the_pages_label_posterior_is_pytorchs_point_elbo_rule_on_test_images(cvae_page, test_digits):
    from latentlab.core.finished import load_model

    images, _ = test_digits
    x = torch.tensor(images[:6]).float().div(255).view(6, 1, 28, 28)
    with browser.open_page(cvae_page) as (page, errors):
        shown = [
            page.evaluate(
                "(x) => { window.explorer.analyse(x); return window.explorer.labelProbabilities; }",
                image.view(784).tolist(),
            )
            for image in x
        ]
        assert not errors
    expected = point_elbo_labels(load_model(cvae_page.parent / "model.pt").eval(), x).numpy()
    assert np.abs(np.array(shown) - expected).max() <= 1e-3


@needs_browser
def test_the_first_ten_test_digits_drawn_as_strokes_get_their_own_label_without_a_click(cvae_page, test_digits):
    images, labels = test_digits
    with browser.open_page(cvae_page, width=1280, height=900) as (page, errors):
        read = []
        for image in images[:10]:
            draw_digit(page, image)
            read.append(page.evaluate("window.explorer.label"))
        pressed = page.locator("#label-buttons button[aria-pressed=true]").inner_text()
        text = page.inner_text("#label-text")
        assert not errors
    assert sum(np.array(read) == labels[:10]) >= 8, (read, labels[:10].tolist())
    assert pressed == str(read[-1]) and "the likeliest" in text


@needs_browser
def test_the_label_buttons_are_beside_the_pad_in_a_1280_by_900_window(cvae_page):
    with browser.open_page(cvae_page, width=1280, height=900) as (page, errors):
        page.evaluate("document.getElementById('pad').scrollIntoView({block: 'center'})")
        pad, buttons = page.locator("#pad").bounding_box(), page.locator("#label-buttons").bounding_box()
        assert not errors
    assert 0 <= pad["y"] and pad["y"] + pad["height"] <= 900
    assert 0 <= buttons["y"] and buttons["y"] + buttons["height"] <= 900 and buttons["x"] + buttons["width"] <= 1280
    assert buttons["x"] >= pad["x"] + pad["width"]  # beside it, not above


@needs_browser
def test_a_pressed_label_stays_until_the_pad_is_cleared_then_the_likeliest_is_used_again(cvae_page, test_digits):
    images, labels = test_digits
    seven = int(np.flatnonzero(labels == 7)[0])
    with browser.open_page(cvae_page, width=1280, height=900) as (page, errors):
        draw_digit(page, images[seven])
        inferred = page.evaluate("window.explorer.label")
        page.locator("#label-buttons button").nth(3).click()
        after_press = page.evaluate("window.explorer.label")
        page.locator("#pad").scroll_into_view_if_needed()
        box = page.locator("#pad").bounding_box()
        page.mouse.move(box["x"] + 30, box["y"] + 250)  # one more stroke: the pick holds
        page.mouse.down()
        page.mouse.move(box["x"] + 60, box["y"] + 250, steps=3)
        page.mouse.up()
        after_stroke = page.evaluate("window.explorer.label")
        draw_digit(page, images[seven])  # clears the pad first
        after_clear, source = page.evaluate("[window.explorer.label, window.explorer.labelSource]")
        assert not errors
    assert inferred == 7 and after_press == after_stroke == 3 and after_clear == 7 and source == "the likeliest"


@needs_browser
def test_a_picked_test_image_given_another_label_shows_one_code(cvae_page):
    with browser.open_page(cvae_page, width=1280, height=900) as (page, errors):
        point = page.evaluate("[window.explorer.arrays.pick_codes[0], window.explorer.arrays.pick_codes[1]]")
        browser.move_to_latent(page, tuple(point))
        page.mouse.down()
        page.mouse.up()
        own = page.evaluate("window.explorer.label")
        page.locator("#label-buttons button").nth(2).click()
        pinned, code, label = page.evaluate(
            "[window.explorer.pinned, Array.from(window.explorer.yours.z), window.explorer.label]"
        )
        chosen = page.inner_text("#chosen-text")
        assert not errors
    assert own == 7 and label == 2
    assert np.allclose(pinned, code)  # the pin, the cross and the ellipse: the code given 2
    assert f"y = 2: ({code[0]:+.2f}, {code[1]:+.2f})" in chosen
    assert f"{point[0]:+.2f}, {point[1]:+.2f}" not in chosen  # the code given 7 is no longer shown


# --- A photo of a digit --------------------------------------------------------------------------------


@needs_browser
def test_a_photo_of_a_digit_is_read_in_the_page_and_gets_its_label_with_no_request(cvae_page, test_digits, tmp_path):
    images, labels = test_digits
    photo = tmp_path / "photo.png"
    photo.write_bytes(photo_of(images[1]))
    with browser.open_page(cvae_page, width=1280, height=900) as (page, errors):
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.set_input_files("#photo", str(photo))
        page.wait_for_selector("body[data-photo='photo.png']", state="attached")
        label = page.evaluate("window.explorer.label")
        pixels = np.array(page.evaluate("Array.from(window.explorer.input())")).reshape(28, 28)
        assert not errors
    assert requests == [] and label == labels[1]
    rows, cols = np.nonzero(pixels > 0.1)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 21  # fitted to 20 x 20, light on black
    assert pixels[0].max() == pixels[:, 0].max() == 0


@needs_browser
def test_on_compare_the_cvae_reads_drawn_digits_and_a_photos_label_itself(cvae_page, test_digits, tmp_path):
    from latentlab.publish.front_pages import COMPARE_FILE, compare_html

    images, labels = test_digits
    folder = tmp_path / EXPERIMENTS["cvae-2d"].out_dir
    folder.mkdir(parents=True)
    shutil.copy(cvae_page, folder / EXPLORER_FILE)
    (tmp_path / COMPARE_FILE).write_text(compare_html(tmp_path), encoding="utf-8")
    photo = tmp_path / "photo.png"
    photo.write_bytes(photo_of(images[2]))
    with browser.open_page(tmp_path / COMPARE_FILE, width=1300, height=900) as (page, errors):
        page.wait_for_selector("body[data-frames=ready]", state="attached", timeout=30_000)
        frame = page.frames[1]

        def label_of_current_input():
            frame.wait_for_function(
                "(x) => window.explorer.current && window.explorer.current.every((v, i) => v === x[i])",
                arg=page.evaluate("Array.from(window.compare.input())"),
                polling=100,
            )
            return frame.evaluate("window.explorer.label")

        read = []
        for image in images[:10]:
            draw_digit(page, image)
            read.append(label_of_current_input())
        page.click("#clear")
        page.set_input_files("#photo", str(photo))
        page.wait_for_selector("body[data-photo='photo.png']", state="attached")
        from_photo = label_of_current_input()
        row = page.locator("#summary tbody tr").inner_text()
        assert not errors
    assert sum(np.array(read) == labels[:10]) >= 8, (read, labels[:10].tolist())
    assert from_photo == labels[2] and f"given y = {labels[2]} (the likeliest" in row


# --- Nothing covers anything; every number named --------------------------------------------------------


def overlapping(boxes: dict) -> list:
    names = list(boxes)
    return [
        (a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if boxes[a]["x"] < boxes[b]["x"] + boxes[b]["width"]
        and boxes[b]["x"] < boxes[a]["x"] + boxes[a]["width"]
        and boxes[a]["y"] < boxes[b]["y"] + boxes[b]["height"]
        and boxes[b]["y"] < boxes[a]["y"] + boxes[a]["height"]
    ]


@needs_browser
@pytest.mark.parametrize("scrolled_to", ["#scatter", "#pad"])
def test_at_400_px_the_title_plot_pad_buttons_and_decoded_image_never_overlap(cvae_page, scrolled_to):
    with browser.open_browser() as chromium:
        page = chromium.new_context(viewport={"width": 400, "height": 760}, is_mobile=True, has_touch=True).new_page()
        page.goto(cvae_page.resolve().as_uri())
        page.wait_for_selector("body[data-ready=yes]", state="attached")
        page.evaluate(f"document.querySelector('{scrolled_to}').scrollIntoView({{block: 'end'}})")
        boxes = {
            name: page.locator(name).bounding_box() for name in ("h1", "#scatter", "#decoded", "#pad", "#label-buttons")
        }
        width = page.evaluate("document.documentElement.scrollWidth")
    assert overlapping(boxes) == [] and width <= 400


@needs_browser
def test_a_drawn_digits_sum_at_the_mean_is_named_a_point_estimate_not_an_elbo(tmp_path):
    from conftest import untrained_vae_page

    with browser.open_page(untrained_vae_page(tmp_path, 2, "tiny VAE")) as (page, errors):
        browser.draw_seven(page)
        text = page.inner_text("#yours-text")
        assert not errors
    assert "negative ELBO" not in text and "a point estimate and not a bound" in text
    assert "KL(q(z|x) ‖ N(0, I)) in closed form" in text


@needs_browser
def test_the_posterior_inset_has_ticks_in_z_units_and_defines_both_gaps(tmp_path):
    folder = committed("vae-2d")
    for name in (EXPLORER_FILE, "model.pt", "posterior_gaps.json", "posterior_page.npz"):
        shutil.copy(folder / name, tmp_path / name)
    assert main(["explore", "--template-only", str(tmp_path)]) == 0
    with browser.open_page(tmp_path / EXPLORER_FILE) as (page, errors):
        point = page.evaluate("[window.explorer.arrays.pick_codes[0], window.explorer.arrays.pick_codes[1]]")
        browser.move_to_latent(page, tuple(point))
        page.mouse.down()
        page.mouse.up()
        text = page.inner_text("#posterior-text")
        size = page.evaluate(
            "[document.getElementById('posterior').width, document.getElementById('posterior').height]"
        )
        margins = page.evaluate(
            """([w, h]) => {
            const data = document.getElementById('posterior').getContext('2d').getImageData(0, 0, w, h).data;
            const dark = (x0, y0, x1, y1) => { let n = 0; for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++)
                if (data[4 * (y * w + x)] < 120) n++; return n; };
            return [dark(0, 20, 30, h - 30), dark(45, h - 22, w - 10, h - 12)]; }""",
            size,
        )
        assert not errors
    assert min(margins) > 20  # the tick labels: dark text on the left and below the box
    assert "Approximation gap" in text and "= log p(x) − ELBO(q*)" in text
    assert "Amortization gap" in text and "= ELBO(q*) − ELBO(q)" in text
