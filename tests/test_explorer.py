"""The explorer page: its JavaScript decoder matches PyTorch's, and the real page decodes what the pointer points at."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import torch

from latentlab import browser
from latentlab.cli import main
from latentlab.data import load_test_split
from latentlab.explorer import EXPLORER_FILE, HERE, export_decoder, pack, write_explorer
from latentlab.metrics import encode_split
from latentlab.checkpoint import trained_model
from latentlab.training import train

NODE = shutil.which("node")
POINTS = [[0.0, 0.0], [0.8, -0.5], [-1.3, 1.1]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny 2-D VAE trained for two epochs on synthetic digits, and its test split."""
    from conftest import TINY_WIDTHS, write_mnist
    from latentlab.config import TrainConfig

    root = tmp_path_factory.mktemp("explorer")
    config = TrainConfig(model="vae", latent_dim=2, epochs=2, batch_size=32, lr=5e-3, **TINY_WIDTHS, device="cpu", data_root=str(write_mnist(root / "data")), out_dir=str(root / "run"))
    model = trained_model(train(config), torch.device("cpu"))
    return model, load_test_split(config, torch.device("cpu")), root / "run"


@torch.no_grad()
def torch_decode(model, points) -> np.ndarray:
    return model.decode(torch.tensor(points, dtype=torch.float32)).numpy().reshape(len(points), 784)


@pytest.mark.skipif(NODE is None, reason="Node is not installed, so explorer.js cannot run outside a browser")
def test_the_javascript_decoder_matches_pytorch_to_1e_4_per_pixel(trained, tmp_path):
    model, _, _ = trained
    layers, arrays = export_decoder(model)
    payload, manifest = pack(arrays)
    (tmp_path / "net.json").write_text(json.dumps({"layers": layers, "manifest": manifest, "payload": payload,
                                                    "points": POINTS}))
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
            pixels = np.array(page.evaluate(
                "Array.from(document.getElementById('decoded').getContext('2d').getImageData(0, 0, 28, 28).data)"))
            expected = torch_decode(model, [shown])[0] * 255
            assert np.abs(pixels.reshape(784, 4)[:, 0] - expected).max() <= 2  # the canvas rounds to 1/255
        page.screenshot(path=str(tmp_path / "explorer.png"))
        assert not errors


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
