"""The explorer page: its JavaScript decoder matches PyTorch's, and the real page decodes what the pointer points at."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import torch

from latentlab.cli import main
from latentlab.core.passes import encode_split
from latentlab.core.training import train
from latentlab.publish import browser
from latentlab.publish.explorer import EXPLORER_FILE, HERE, export_decoder, pack, write_explorer

NODE = shutil.which("node")
POINTS = [[0.0, 0.0], [0.8, -0.5], [-1.3, 1.1]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny 2-D VAE trained for two epochs on synthetic digits, and its test split."""
    from conftest import tiny_train_config, write_mnist

    root = tmp_path_factory.mktemp("explorer")
    finished = train(tiny_train_config(write_mnist(root / "data"), root / "run"))
    return finished.model, finished.test, root / "run"


@torch.no_grad()
def torch_decode(model, points) -> np.ndarray:
    return model.decode(torch.tensor(points, dtype=torch.float32)).numpy().reshape(len(points), 784)


@pytest.mark.skipif(NODE is None, reason="Node is not installed, so explorer.js cannot run outside a browser")
def test_the_javascript_decoder_matches_pytorch_to_1e_4_per_pixel(trained, tmp_path):
    model, _, _ = trained
    layers, arrays = export_decoder(model)
    payload, manifest = pack(arrays)
    (tmp_path / "net.json").write_text(
        json.dumps({"layers": layers, "manifest": manifest, "payload": payload, "points": POINTS})
    )
    runner = f"""
        const {{decode, readArrays}} = require({json.dumps(str(HERE / "explorer.js"))});
        const net = JSON.parse(require("fs").readFileSync({json.dumps(str(tmp_path / "net.json"))}, "utf8"));
        const blob = require("zlib").gunzipSync(Buffer.from(net.payload, "base64"));
        const arrays = readArrays(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length), net.manifest);
        console.log(JSON.stringify(net.points.map((z) => Array.from(decode(net.layers, arrays, Float32Array.from(z))))));
    """
    done = subprocess.run([NODE, "-e", runner], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    in_javascript = np.array(json.loads(done.stdout))
    assert np.abs(in_javascript - torch_decode(model, POINTS)).max() <= 1e-4


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_the_page_decodes_the_point_under_the_pointer_like_pytorch(trained, tmp_path):
    model, test, _ = trained
    page_path = write_explorer(model, test, encode_split(model, test), "tiny VAE", tmp_path)
    with browser.open_page(page_path) as (page, errors):
        for point in POINTS:
            browser.move_to_latent(page, point)
            shown = page.evaluate("Array.from(window.explorer.point)")  # the latent the page decoded
            assert np.allclose(shown, point, atol=0.05)  # the pointer lands on the pixel nearest the point
            pixels = np.array(
                page.evaluate(
                    "Array.from(document.getElementById('decoded').getContext('2d').getImageData(0, 0, 28, 28).data)"
                )
            )
            expected = torch_decode(model, [shown])[0] * 255
            assert np.abs(pixels.reshape(784, 4)[:, 0] - expected).max() <= 2  # the canvas rounds to 1/255
        page.screenshot(path=str(tmp_path / "explorer.png"))
        assert not errors


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae"])
def test_the_test_pass_gives_the_page_the_point_losses_it_would_compute_itself(kind):
    from conftest import TINY_WIDTHS, synthetic_digits
    from latentlab.core.data import DeviceSplit
    from latentlab.core.kinds import traits
    from latentlab.core.passes import code_split, losses_and_codes

    torch.manual_seed(0)
    options = {"classes": 10} if traits(kind).conditional else {}
    model = traits(kind).model(2, **options, **TINY_WIDTHS).eval()
    images, labels = synthetic_digits(40, seed=0)
    test = DeviceSplit(torch.from_numpy(images), torch.from_numpy(labels).long(), torch.device("cpu"))
    _, coded = losses_and_codes(model, test, seed=0, batch_size=16)
    codes, point_losses = coded.codes, coded.point_losses
    with torch.no_grad():  # what the page computes for a drawn digit, image by image
        on_its_own = torch.cat([sum(model.point_loss_per_image(x, y).values()) for x, y in test.labelled_batches(16)])
    assert torch.equal(point_losses, on_its_own)
    assert torch.equal(codes, encode_split(model, test))
    coded = code_split(model, test, batch_size=16)
    assert torch.equal(coded.codes, codes) and torch.equal(coded.point_losses, point_losses)


def test_explore_on_a_folder_without_a_model_says_so_and_exits_1(tmp_path, capsys):
    assert main(["explore", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "no checkpoint" in error and "Traceback" not in error
    assert not (tmp_path / EXPLORER_FILE).exists()


def test_explore_on_a_broken_model_says_so_and_leaves_the_folder_as_it_was(tmp_path, capsys):
    (tmp_path / "model.pt").write_bytes(b"not a checkpoint")
    assert main(["explore", str(tmp_path)]) == 1
    assert "not a latentlab checkpoint" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def _run_node(tmp_path, script: str, data: dict):
    (tmp_path / "net.json").write_text(json.dumps(data))
    runner = f"""
        const {{decode, encode, readArrays}} = require({json.dumps(str(HERE / "explorer.js"))});
        const net = JSON.parse(require("fs").readFileSync({json.dumps(str(tmp_path / "net.json"))}, "utf8"));
        const blob = require("zlib").gunzipSync(Buffer.from(net.payload, "base64"));
        const arrays = readArrays(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length), net.manifest);
        {script}
    """
    done = subprocess.run([NODE, "-e", runner], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(NODE is None, reason="Node is not installed, so explorer.js cannot run outside a browser")
@pytest.mark.parametrize(
    "kind, latent_dim, likelihood",
    [
        ("vae", 2, "gaussian"),
        ("ae", 2, "gaussian"),
        ("vae", 32, "gaussian"),
        ("ae", 32, "gaussian"),
        ("vae", 32, "bernoulli"),
    ],
)
def test_the_javascript_encoder_matches_pytorch_to_1e_4(kind, latent_dim, likelihood, tmp_path):
    from conftest import TINY_WIDTHS, synthetic_digits
    from latentlab import Autoencoder, VariationalAutoencoder
    from latentlab.publish.explorer import export_encoder

    torch.manual_seed(0)
    model = (Autoencoder if kind == "ae" else VariationalAutoencoder)(latent_dim, likelihood=likelihood, **TINY_WIDTHS)
    for module in model.modules():  # BatchNorm statistics other than the initial 0 and 1, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(-1.5, 1.5)  # negative scales too
    model.eval()
    images = torch.from_numpy(synthetic_digits(3, seed=5)[0]).float().div(255).view(3, 1, 28, 28)
    layers, heads, arrays = export_encoder(model)
    payload, manifest = pack(arrays)
    codes = _run_node(
        tmp_path,
        "console.log(JSON.stringify(net.images.map((x) => "
        "Object.fromEntries(Object.entries(encode(net.layers, net.heads, arrays, x)).map(([k, v]) => [k, Array.from(v)])))));",
        {
            "layers": layers,
            "heads": heads,
            "manifest": manifest,
            "payload": payload,
            "images": images.view(3, 784).tolist(),
        },
    )
    with torch.no_grad():
        expected = model.encode(images)
    expected = {"z": expected} if kind == "ae" else {"mean": expected[0], "log_var": expected[1]}
    for name, values in expected.items():
        assert np.abs(np.array([code[name] for code in codes]) - values.numpy()).max() <= 1e-4, name


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_a_digit_drawn_on_the_pad_goes_through_the_javascript_encoder_like_pytorch(trained, tmp_path):
    model, test, _ = trained
    page_path = write_explorer(model, test, encode_split(model, test), "tiny VAE", tmp_path)
    with browser.open_page(page_path) as (page, errors):
        assert "draw" in page.get_attribute("#pad", "aria-label")
        page.locator("#pad").scroll_into_view_if_needed()
        box = page.locator("#pad").bounding_box()
        page.mouse.move(box["x"] + 140, box["y"] + 40)  # a "7": a bar, then a diagonal stroke
        page.mouse.down()
        for x, y in [(200, 40), (200, 60), (150, 240)]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
        page.mouse.up()
        pixels = np.array(page.evaluate("Array.from(window.explorer.input())"), dtype=np.float32)
        shown = page.evaluate(
            "Object.fromEntries(Object.entries(window.explorer.encode(window.explorer.input()))"
            ".map(([k, v]) => [k, Array.from(v)]))"
        )
        text = page.inner_text("#yours-text")
        recon = np.array(
            page.evaluate(
                "Array.from(document.getElementById('recon').getContext('2d').getImageData(0, 0, 28, 28).data)"
            )
        ).reshape(784, 4)[:, 0]
        assert not errors
    assert pixels.shape == (784,) and pixels.max() > 0.9 and 0.05 < (pixels > 0.1).mean() < 0.4
    image = pixels.reshape(28, 28)
    rows, cols = np.nonzero(image > 0)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) <= 21  # fitted to a 20 x 20 box
    centre = np.array([(image.sum(1) * np.arange(28)).sum(), (image.sum(0) * np.arange(28)).sum()]) / image.sum()
    assert np.abs(centre - 13.5).max() <= 1.0  # centred by its centre of mass
    with torch.no_grad():
        mean, log_var = model.encode(torch.from_numpy(pixels).view(1, 1, 28, 28))
        expected = model.decode(mean)[0, 0].numpy().reshape(784) * 255
    assert np.abs(np.array(shown["mean"]) - mean[0].numpy()).max() <= 1e-4
    assert np.abs(np.array(shown["log_var"]) - log_var[0].numpy()).max() <= 1e-4
    assert np.abs(recon - expected).max() <= 1  # the canvas rounds to 1/255
    assert "KL" in text and "test images" in text


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_a_pinned_point_is_unpinned_by_a_second_click_or_escape(trained, tmp_path):
    model, test, _ = trained
    page_path = write_explorer(model, test, encode_split(model, test), "tiny VAE", tmp_path)
    with browser.open_page(page_path) as (page, errors):
        browser.move_to_latent(page, (0.5, 0.5))
        page.mouse.down()
        page.mouse.up()
        assert page.evaluate("window.explorer.pinned !== null")
        page.keyboard.press("Escape")
        assert page.evaluate("window.explorer.pinned === null")
        page.mouse.down()
        page.mouse.up()
        browser.move_to_latent(page, (-1.0, 0.3))
        page.mouse.down()
        page.mouse.up()
        assert page.evaluate("window.explorer.pinned === null")
        assert not errors


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_two_clicks_on_a_32_d_page_choose_a_then_b(tmp_path):
    with browser.open_page(_tiny_32_d_page(tmp_path)) as (page, errors):
        ends = []
        for pick in (18, 61 % 64):
            point = page.evaluate(
                f"Array.from(window.explorer.arrays.pick_scatter.subarray({2 * pick}, {2 * pick + 2}))"
            )
            browser.move_to_latent(page, point)
            page.mouse.down()
            page.mouse.up()
            ends.append(page.evaluate("window.explorer.ends.slice()"))
        assert not errors
    first, second = ends
    assert first[0] == 18 and second == [18, 61 % 64]


def _tiny_32_d_page(tmp_path):
    from conftest import untrained_vae_page

    return untrained_vae_page(tmp_path, 32, "tiny 32-D VAE")


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_the_keyboard_chooses_a_and_b_on_a_32_d_page(tmp_path):
    with browser.open_page(_tiny_32_d_page(tmp_path)) as (page, errors):
        page.focus("#scatter")
        for key in ["ArrowRight"] * 3 + ["Enter"] + ["ArrowRight"] * 2 + [" "]:  # digit 2 as A, then digit 4 as B
            page.keyboard.press(key)
        ends = page.evaluate("window.explorer.ends.slice()")
        scrolled = page.evaluate("window.scrollY")
        assert not errors
    assert ends == [2, 4] and scrolled == 0  # the keys moved the choice, not the page


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
@pytest.mark.parametrize("two_d", [True, False])
def test_a_400_px_phone_screen_has_no_sideways_scroll_and_keeps_the_decoded_image_in_view(trained, tmp_path, two_d):
    if two_d:
        model, test, _ = trained
        page_path = write_explorer(model, test, encode_split(model, test), "tiny VAE", tmp_path)
    else:
        page_path = _tiny_32_d_page(tmp_path)
    with browser.open_browser() as chromium:
        context = chromium.new_context(
            viewport={"width": 400, "height": 760}, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        page = context.new_page()
        page.goto(page_path.resolve().as_uri())
        page.wait_for_selector("body[data-ready=yes]", state="attached")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        page.evaluate("document.getElementById('scatter').scrollIntoView({block: 'end'})")  # the plot low on screen
        box = page.locator("#scatter").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.9)  # low on the plot
        image = page.locator("#decoded").bounding_box()
    assert widths[0] <= widths[1] == 400  # no sideways scroll, no zooming out
    assert 0 <= image["y"] and image["y"] + image["height"] <= 760 and image["x"] + image["width"] <= 400


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_compare_sends_one_drawn_digit_through_every_models_own_page(trained, tmp_path):
    from conftest import TINY_WIDTHS
    from latentlab import Autoencoder
    from latentlab.experiments import EXPERIMENTS
    from latentlab.publish.front_pages import COMPARE_FILE, compare_html

    vae, test, _ = trained
    torch.manual_seed(0)
    ae = Autoencoder(32, **TINY_WIDTHS).eval()
    models = {"vae-2d": vae, "ae-32d": ae}
    for name, model in models.items():
        (tmp_path / EXPERIMENTS[name].out_dir).mkdir(parents=True)
        write_explorer(model, test, encode_split(model, test), name, tmp_path / EXPERIMENTS[name].out_dir)
    page_text = compare_html(tmp_path)
    (tmp_path / COMPARE_FILE).write_text(page_text, encoding="utf-8")
    assert len(page_text.encode()) < 1_000_000 and 'id="payload"' not in page_text  # frames, no weights
    with browser.open_page(tmp_path / COMPARE_FILE) as (page, errors):
        assert "draw" in page.get_attribute("#pad", "aria-label")
        page.wait_for_selector("body[data-frames=ready]", state="attached", timeout=30_000)
        browser.draw_seven(page)
        browser.wait_for_every_model(page)
        pixels = np.array(page.evaluate("Array.from(window.compare.input())"), dtype=np.float32)
        rows = page.locator("#summary tbody tr").count()
        seen = {}
        for frame in page.frames[1:]:
            name = "vae-2d" if "2D_latent_VAE" in frame.url else "ae-32d"
            seen[name] = {
                "input": np.array(frame.evaluate("Array.from(window.explorer.input())"), dtype=np.float32),
                "code": frame.evaluate(
                    "Object.fromEntries(Object.entries(window.explorer.encode("
                    "window.explorer.input())).map(([k, v]) => [k, Array.from(v)]))"
                ),
            }
        assert not errors
    assert rows == 2 and sorted(seen) == ["ae-32d", "vae-2d"]
    x = torch.from_numpy(pixels).view(1, 1, 28, 28)
    with torch.no_grad():
        expected = {"vae-2d": vae.encode(x)[0][0].numpy(), "ae-32d": ae.encode(x)[0].numpy()}
    for name, shown in seen.items():
        assert np.array_equal(shown["input"], pixels)  # every model sees the same 784 values
        code = shown["code"].get("mean", shown["code"].get("z"))
        assert np.abs(np.array(code) - expected[name]).max() <= 1e-4


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_a_page_of_another_data_set_prepares_a_drawing_as_its_images_were_made_and_speaks_of_images(trained, tmp_path):
    from latentlab.core.data import DATASETS, DeviceSplit

    model, test, _ = trained
    other = DeviceSplit(test.images, test.labels, test.device, DATASETS["fashion-mnist"].classes)  # another data set's
    page_path = write_explorer(model, other, encode_split(model, other), "tiny VAE", tmp_path)
    text = page_path.read_text(encoding="utf-8")
    assert "Your own drawing" in text and "chữ số" not in text and "longer side" in text
    with browser.open_page(page_path) as (page, errors):
        browser.draw_seven(page)
        pixels = np.array(page.evaluate("Array.from(window.explorer.input())"), dtype=np.float32)
        assert not errors
    rows, cols = np.nonzero(pixels.reshape(28, 28) > 0)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert max(height, width) >= 27  # the longer side scaled to 28 pixels, not fitted into 20 x 20
    assert abs((cols.min() + cols.max()) / 2 - 13.5) <= 1 and abs((rows.min() + rows.max()) / 2 - 13.5) <= 1  # centred


def test_a_page_refilled_in_todays_template_keeps_its_data_byte_for_byte(tmp_path, capsys):
    page = _tiny_32_d_page(tmp_path)
    old = page.read_text(encoding="utf-8").replace("<h1>", "<h1>yesterday's template ", 1)
    page.write_text(old, encoding="utf-8")
    assert main(["explore", "--template-only", str(tmp_path)]) == 0
    new = page.read_text(encoding="utf-8")

    def data(text):
        return [text.split(f'id="{block}">', 1)[1].split("</script>", 1)[0] for block in ("meta", "payload")]

    assert data(new) == data(old) and "yesterday's template" not in new


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_the_2d_vae_page_shows_a_picked_images_true_posterior_and_its_two_gaps_as_posterior_gaps_json_has_them(
    tmp_path,
):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "Kết_quả_huấn_luyện_Variational_Autoecoder" / "2D_latent_VAE"
    for name in ("explorer.html", "model.pt", "posterior_gaps.json", "posterior_page.npz"):
        shutil.copy(folder / name, tmp_path / name)
    assert main(["explore", "--template-only", str(tmp_path)]) == 0
    image = json.loads((folder / "posterior_gaps.json").read_text(encoding="utf-8"))["images"][46]
    with browser.open_page(tmp_path / EXPLORER_FILE) as (page, errors):
        point = page.evaluate("[window.explorer.arrays.pick_codes[92], window.explorer.arrays.pick_codes[93]]")
        browser.move_to_latent(page, tuple(point))
        page.mouse.down()
        page.mouse.up()
        chosen, shown = page.evaluate("window.explorer.chosen"), page.locator("#posterior-text").text_content()
        drawn = page.evaluate(
            "Array.from(document.getElementById('posterior').getContext('2d')"
            ".getImageData(0, 0, 168, 168).data).some((v, i) => i % 4 === 0 && v > 200)"
        )
        assert not errors
    assert chosen == image["test_index"] == 46 and shown.startswith("The true posterior p(z|x)")
    approximation, amortization = image["log_px"] - image["elbo_q_star"], image["elbo_q_star"] - image["elbo_q"]
    for number in (image["log_px"], image["elbo_q_star"], image["elbo_q"], approximation, amortization):
        assert f"{number:.2f}" in shown
    assert f"ELBO(q refined) = {image['refined']['elbo'][-1]:.2f}" in shown  # the encoder's q refined (#48)
    assert drawn  # the heat map, not an empty box


def _prior_page_model(kind: str):
    """A tiny untrained model of ``kind`` with BatchNorm statistics as after training, in eval mode."""
    from conftest import TINY_WIDTHS
    from latentlab import VariationalAutoencoder
    from latentlab.core.kinds.vampprior import VampPriorVAE
    from toy_kinds import TwoBumpsVAE

    torch.manual_seed(0)
    model = {"vae": VariationalAutoencoder, "vampprior": VampPriorVAE, "two-bumps": TwoBumpsVAE}[kind](2, **TINY_WIDTHS)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.mark.skipif(NODE is None, reason="Node is not installed, so explorer.js cannot run outside a browser")
@pytest.mark.parametrize("kind", ["vae", "vampprior", "two-bumps"])
def test_the_pages_kl_of_a_drawing_is_the_one_pytorch_gives_a_test_image_with_the_models_own_prior(kind, tmp_path):
    """explorer.js's KL of an encoded image against the prior the page holds equals the point loss's KL of
    distributions.kl_divergence: closed form for N(0, I), log q - log p at the mean for a mixture."""
    from conftest import synthetic_digits

    model = _prior_page_model(kind)
    images = torch.from_numpy(synthetic_digits(4, seed=5)[0]).float().div(255).view(4, 1, 28, 28)
    with torch.no_grad():
        mean, log_var = model.encode(images)
        expected = model.point_loss_per_image(images)["kl"].numpy()
        prior_mean, prior_log_var = (t.numpy().ravel().tolist() for t in model.prior.mixture())
    shown = _run_node(
        tmp_path,
        "const {klDivergence} = require(" + json.dumps(str(HERE / "explorer.js")) + ");"
        "console.log(JSON.stringify(net.codes.map(([m, v]) => klDivergence(m, v, net.prior))));",
        {
            "manifest": {},
            "payload": "H4sIAAAAAAAAAwMAAAAAAAAAAAA=",
            "codes": list(zip(mean.tolist(), log_var.tolist(), strict=True)),
            "prior": {"mean": prior_mean, "log_var": prior_log_var, "components": len(prior_mean) // 2},
        },
    )
    assert np.abs(np.array(shown) - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_a_vampprior_page_shades_its_prior_and_gives_a_drawings_kl_to_it_as_pytorch_does(tmp_path):
    from conftest import synthetic_digits
    from latentlab.core.data import DeviceSplit

    model = _prior_page_model("vampprior")
    images, labels = synthetic_digits(64, seed=4)
    test = DeviceSplit(torch.from_numpy(images), torch.from_numpy(labels).long(), torch.device("cpu"))
    page_path = write_explorer(model, test, encode_split(model, test), "tiny VampPrior VAE", tmp_path)
    with browser.open_page(page_path) as (page, errors):
        legend = page.inner_text("body")
        browser.draw_seven(page)
        pixels = np.array(page.evaluate("Array.from(window.explorer.input())"), dtype=np.float32)
        text = page.inner_text("#yours-text")
        assert not errors
    with torch.no_grad():
        kl = model.point_loss_per_image(torch.from_numpy(pixels).view(1, 1, 28, 28))["kl"].item()
    assert "the density of the prior p(z), the VampPrior" in legend
    assert f"KL(q(z|x) ‖ VampPrior) at z = mean, log q(z|x) − log p(z) (a mixture has no closed form): {kl:.2f}" in text
