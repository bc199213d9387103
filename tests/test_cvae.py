"""The conditional VAE, the kind of latentlab/core/kinds/cvae.py: q(z|x, y) and p(x|z, y) with the label as a
one-hot input, its loss the negative ELBO given the label, its figures and its explorer page."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY_WIDTHS, as_flags, synthetic_digits
from latentlab.cli import main
from latentlab.core.config import TrainConfig
from latentlab.core.data import Classes, DeviceSplit
from latentlab.core.kinds.cvae import ConditionalVariationalAutoencoder
from latentlab.publish import browser


def tiny_cvae(seed: int = 0) -> ConditionalVariationalAutoencoder:
    torch.manual_seed(seed)
    return ConditionalVariationalAutoencoder(2, classes=10, **TINY_WIDTHS).eval()


def digits(n: int = 4, seed: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = synthetic_digits(n, seed)
    return torch.from_numpy(images).float().div(255).view(n, 1, 28, 28), torch.from_numpy(labels).long()


def test_the_loss_is_the_negative_elbo_given_the_label_computed_by_hand():
    model = tiny_cvae()
    x, y = digits()
    with torch.no_grad():
        torch.manual_seed(7)
        terms = model.loss_per_image(x, y)
        # By hand: the one-hot label beside the encoder's features, then beside z; one draw z = mean + sd * eps.
        one_hot = torch.eye(10)[y]
        h = torch.cat([model.encoder(x), one_hot], dim=1)
        mean, log_var = h @ model.mean.weight.T + model.mean.bias, h @ model.log_var.weight.T + model.log_var.bias
        torch.manual_seed(7)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        x_hat = model.decoder(torch.cat([z, one_hot], dim=1))
        reconstruction = ((x_hat - x) ** 2).sum(dim=(1, 2, 3))  # Gaussian -log p(x|z, y), constant dropped
        kl = 0.5 * (torch.exp(log_var) + mean**2 - 1 - log_var).sum(dim=1)
    assert torch.allclose(terms["reconstruction"], reconstruction, atol=1e-4)
    assert torch.allclose(terms["kl"], kl, atol=1e-5)
    assert torch.allclose(model.loss(x, y)["kl"], kl.mean(), atol=1e-5)  # the batch mean


def test_the_label_changes_the_decoded_digit_and_nothing_else_does():
    model = tiny_cvae()
    z = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        as_three, as_seven = model.decode(z, torch.full((3,), 3)), model.decode(z, torch.full((3,), 7))
        again = model.decode(z, torch.full((3,), 3))
    assert (as_three - as_seven).abs().amax(dim=(1, 2, 3)).min() > 1e-3  # every image changed
    assert torch.equal(as_three, again)


def test_decoding_without_a_label_says_the_label_is_needed():
    from latentlab.core.errors import LatentlabError

    with pytest.raises(LatentlabError, match="given each image's label"):
        tiny_cvae().decode(torch.zeros(1, 2))


def test_the_label_changes_the_code_the_encoder_gives():
    model = tiny_cvae()
    x, _ = digits(2)
    with torch.no_grad():
        given_one, given_eight = model.code(x, torch.tensor([1, 1])), model.code(x, torch.tensor([8, 8]))
    assert not torch.allclose(given_one, given_eight)


def test_a_trained_cvae_reconstructs_its_training_digits_better_with_their_own_labels(tiny_config):
    from latentlab.core.training import train

    config = TrainConfig(**{**tiny_config.__dict__, "model": "cvae", "epochs": 4})
    finished = train(config)
    model, test = finished.model, finished.test
    x, y = next(test.labelled_batches(64))
    wrong = (y + 5) % 10
    with torch.no_grad():
        right_error = model.loss_per_image(x, y)["reconstruction"].mean()
        wrong_error = model.likelihood.reconstruction_per_image(model.decode(model.code(x, y), wrong), x).mean()
    assert right_error < wrong_error  # the square the synthetic label puts in its place moves with the label


def test_every_figure_of_a_conditional_run_is_written(tiny_config, capsys):
    assert main(train_flags(tiny_config)) == 0
    out = Path(tiny_config.out_dir)
    written = {p.name for p in out.iterdir()}
    assert {
        "style_planes.png",
        "analogies.png",
        "interpolation.png",
        "interpolation.txt",
        "samples.png",
        "cvae_style_walk.gif",
        "reconstructions.png",
        "latent_scatter.png",
        "loss_curves.png",
        "explorer.html",
        "metrics.json",
    } <= written
    assert "manifold.png" not in written  # one plane per label instead
    table = (out / "interpolation.txt").read_text()
    assert "label of image 1 for r < 0.5" in table and len(table.strip().splitlines()) > 4


def test_the_label_obedience_is_reported_per_class_and_overall_with_the_classifiers_own_accuracy(tiny_config):
    assert main(train_flags(tiny_config)) == 0
    metrics = json.loads((Path(tiny_config.out_dir) / "metrics.json").read_text())
    assert metrics["label_classifier"].startswith("3-NN on the raw pixels")
    assert 0 <= metrics["label_classifier_test_accuracy"] <= 1
    for source in ("prior", "test_codes"):
        per_class = metrics[f"label_accuracy_{source}_per_class"]
        assert list(per_class) == [str(d) for d in range(10)]
        assert metrics[f"label_accuracy_{source}"] == pytest.approx(np.mean(list(per_class.values())))


def test_a_reused_cvae_folder_run_without_the_label_stops_as_the_others_do(tiny_config, capsys):
    assert main(train_flags(tiny_config)) == 0
    model_file = Path(tiny_config.out_dir) / "model.pt"
    before = model_file.read_bytes()
    capsys.readouterr()
    assert main(train_flags(tiny_config, model="vae")) != 0
    error = capsys.readouterr().err
    assert "Traceback" not in error and "trained with other settings" in error and "cvae" in error
    assert model_file.read_bytes() == before


def train_flags(config: TrainConfig, **change) -> list[str]:
    """``train``'s flags for the tiny recipe of ``config`` as a CVAE, with ``change`` made."""
    settings = dict(
        model="cvae",
        latent_dim=2,
        epochs=1,
        batch_size=32,
        lr=5e-3,
        **TINY_WIDTHS,
        device="cpu",
        data_root=config.data_root,
        out_dir=config.out_dir,
    )
    return ["train", *as_flags({**settings, **change})]


def _conditional_page(folder):
    """explorer.html of an untrained tiny CVAE over 64 synthetic test digits, and the model."""
    from latentlab.core.passes import encode_split
    from latentlab.publish.explorer import write_explorer

    model = tiny_cvae()
    images, labels = synthetic_digits(64, seed=4)
    test = DeviceSplit(torch.from_numpy(images), torch.from_numpy(labels).long(), torch.device("cpu"))
    return model, test, write_explorer(model, test, encode_split(model, test), "tiny CVAE", folder)


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_the_pages_encode_and_decode_with_a_label_equal_pytorchs_in_chromium(tmp_path):
    model, test, page_path = _conditional_page(tmp_path)
    x, _ = digits(2)
    z = [[0.3, -0.8], [-1.2, 0.4]]
    with browser.open_page(page_path) as (page, errors):
        for label in (0, 6):
            codes = page.evaluate(
                "([images, label]) => images.map((x) => Object.fromEntries(Object.entries("
                "window.explorer.encode(x, label)).map(([k, v]) => [k, Array.from(v)])))",
                [x.view(2, 784).tolist(), label],
            )
            decoded = page.evaluate(
                "([points, label]) => points.map((z) => Array.from(window.explorer.decode(z, label)))", [z, label]
            )
            with torch.no_grad():
                y = torch.full((2,), label)
                mean, log_var = model.encode(x, y)
                expected = model.decode(torch.tensor(z), y).view(2, 784)
            assert np.abs(np.array([c["mean"] for c in codes]) - mean.numpy()).max() <= 1e-4
            assert np.abs(np.array([c["log_var"] for c in codes]) - log_var.numpy()).max() <= 1e-4
            assert np.abs(np.array(decoded) - expected.numpy()).max() <= 1e-4
        assert not errors


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser here: {browser.missing()}")
def test_a_label_button_redecodes_the_plane_and_a_drawing_is_written_as_every_digit(tmp_path):
    model, _, page_path = _conditional_page(tmp_path)
    with browser.open_page(page_path, width=400) as (page, errors):
        buttons = page.locator("#label-buttons button")
        assert buttons.count() == 10 and page.is_visible("#labels")
        browser.move_to_latent(page, (0.5, -0.5))
        decoded = "Array.from(document.getElementById('decoded').getContext('2d').getImageData(0, 0, 28, 28).data)"
        before = page.evaluate(decoded)
        buttons.nth(4).click()
        assert buttons.nth(4).get_attribute("aria-pressed") == "true"
        assert page.evaluate("window.explorer.label") == 4
        page.evaluate("window.explorer.moveTo([0.5, -0.5])")
        assert page.evaluate(decoded) != before
        browser.draw_seven(page)
        assert page.locator("#every-label canvas").count() == 10
        assert page.evaluate("document.documentElement.scrollWidth") <= 400  # usable on a 400 px screen
        assert not errors


def test_class_names_of_an_image_folder_label_the_buttons_as_text(tmp_path):
    from latentlab.core.passes import encode_split
    from latentlab.publish.explorer import read_page, write_explorer

    model = tiny_cvae()
    images, labels = synthetic_digits(64, seed=4)
    names = tuple(f"<b>{d}</b>" for d in range(10))
    test = DeviceSplit(torch.from_numpy(images), torch.from_numpy(labels).long(), torch.device("cpu"), Classes(names))
    meta, _ = read_page(write_explorer(model, test, encode_split(model, test), "tiny CVAE", tmp_path))
    assert meta["conditional"] and meta["classes"] == list(names)
    assert "<b>" not in (tmp_path / "explorer.html").read_text().split('id="meta">', 1)[1].split("</script>", 1)[0]
