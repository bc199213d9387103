"""Every figure and GIF renders from a tiny untrained model on synthetic digits."""

import re
from dataclasses import replace

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TINY_WIDTHS, synthetic_digits
from latentlab import Autoencoder, VariationalAutoencoder
from latentlab.core import losses
from latentlab.core.data import DeviceSplit, to_float
from latentlab.core.passes import encode_split
from latentlab.publish.shared_figures import INTERPOLATION_PAIRS, RATIOS
from latentlab.publish.unconditional_gallery import write_gallery

COMMON = [
    "reconstructions.png",
    "latent_scatter.png",
    "interpolation.png",
    "interpolation.txt",
    "loss_curves.png",
    "samples.png",
]
WALKS = {"ae": ["sampling_1.gif", "sampling_2.gif"], "vae": ["sampling_1.gif", "sampling_2.gif", "vae_latent_walk.gif"]}


def _test_split() -> DeviceSplit:
    images, _ = synthetic_digits(80, seed=3)
    labels = np.arange(80) % 10  # every digit the interpolation pairs ask for is present
    return DeviceSplit(torch.from_numpy(images), torch.from_numpy(labels).long(), torch.device("cpu"))


def _state(model) -> dict:
    history = [
        {
            "epoch": e,
            "train_recon": 60.0 / e,
            "test_recon": 65.0 / e,
            "train_kl": 3.0 * (model.kind == "vae"),
            "test_kl": 3.1 * (model.kind == "vae"),
        }
        for e in (1, 2, 3)
    ]
    fit = {"mean": torch.zeros(model.latent_dim), "cov": torch.eye(model.latent_dim)}
    return {"history": history, "latent_fit": fit}


@pytest.fixture(scope="module", params=[("ae", 2), ("vae", 2), ("ae", 32), ("vae", 32)], ids=lambda p: f"{p[0]}{p[1]}")
def rendered(request, tmp_path_factory):
    kind, latent_dim = request.param
    torch.manual_seed(0)
    model = (Autoencoder if kind == "ae" else VariationalAutoencoder)(latent_dim, **TINY_WIDTHS)
    out = tmp_path_factory.mktemp(f"{kind}{latent_dim}")
    split = _test_split()
    write_gallery(
        model.eval(), f"{kind.upper()}, {latent_dim}-D latent", _state(model), split, encode_split(model, split), out
    )
    return model.eval(), split, out


def test_every_file_of_the_result_folder_is_written(rendered):
    model, _, out = rendered
    expected = COMMON + (
        ["manifold.png"] + WALKS[model.kind]
        if model.latent_dim == 2
        else ["latent_distribution.png", "interpolation.gif"]
    )
    missing = [name for name in expected if not (out / name).is_file()]
    assert not missing


def test_pngs_open_with_a_white_background_and_readable_size(rendered):
    _, _, out = rendered
    for path in out.glob("*.png"):
        with Image.open(path) as image:
            assert image.width >= 600 and image.height >= 200, path.name
            assert image.convert("RGB").getpixel((0, 0)) == (255, 255, 255), path.name


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_manifold_holds_a_20_by_20_grid(kind, monkeypatch, tmp_path):
    from latentlab.publish import figures
    from latentlab.publish.unconditional_gallery import write_manifold

    model = (Autoencoder if kind == "ae" else VariationalAutoencoder)(2, **TINY_WIDTHS).eval()
    drawn = []
    monkeypatch.setattr(figures, "save", lambda fig, path: drawn.append(fig))
    codes = np.random.default_rng(0).normal(size=(100, 2))
    write_manifold(model, f"{kind.upper()}, 2-D latent", codes, tmp_path)
    grid = drawn[0].axes[0].images[0].get_array()
    assert grid.shape[:2] == (20 * 28, 20 * 28)  # 20 x 20 decoded images, each 28 x 28, no padding


def test_the_manifolds_axes_label_their_first_and_last_column_in_three_significant_digits(monkeypatch, tmp_path):
    from latentlab.publish import figures

    drawn = []
    monkeypatch.setattr(figures, "save", lambda fig, path: drawn.append(fig))
    z1, z2 = np.linspace(-1.6449, 1.6449, 20), np.linspace(87.25, -115.5, 20)
    figures.manifold(torch.zeros(400, 1, 28, 28), z1, z2, "a plane", tmp_path / "m.png")
    ax = drawn[0].axes[0]
    x_labels = [tick.get_text() for tick in ax.get_xticklabels()]
    y_labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert x_labels[0] == "\u22121.64" and x_labels[-1] == "1.64"
    assert y_labels[0] == "87.2" and y_labels[-1] == "\u2212116"


def test_a_title_wider_than_the_analogies_grid_is_wrapped_to_its_width(monkeypatch, tmp_path):
    from latentlab.publish import figures

    drawn = []
    monkeypatch.setattr(figures, "save", lambda fig, path: drawn.append(fig))
    title = "CVAE, 2-D latent: each test digit's code (posterior mean given its label) decoded with every label"
    figures.analogies(
        torch.zeros(10, 1, 28, 28),
        torch.zeros(10, 1, 28, 28),
        torch.zeros(10, 10, 1, 28, 28),
        [str(c) for c in range(10)],
        title,
        tmp_path / "a.png",
    )
    fig = drawn[0]
    renderer = fig.canvas.get_renderer()
    title_box = fig.axes[0].title.get_window_extent(renderer)
    grid_box = fig.axes[0].get_window_extent(renderer)
    assert "\n" in fig.axes[0].get_title()
    assert title_box.x0 >= grid_box.x0 - 1 and title_box.x1 <= grid_box.x1 + 1


def test_walk_gifs_loop_forever_with_at_least_60_frames_under_4_mb(rendered):
    model, _, out = rendered
    if model.latent_dim != 2:
        pytest.skip("walk animations are drawn for a 2-D latent only")
    for name in WALKS[model.kind]:
        path = out / name
        assert path.stat().st_size <= 4 * 2**20, name
        assert iio.improps(path, index=None).shape[0] >= 60, name
        assert iio.immeta(path, index=0).get("loop") == 0, name


def test_interpolation_gif_has_at_least_40_frames(rendered):
    model, _, out = rendered
    if model.latent_dim == 2:
        pytest.skip("the interpolation GIF is drawn for larger latents")
    assert iio.improps(out / "interpolation.gif", index=None).shape[0] >= 40


def _rows(out) -> list[list[float]]:
    lines = [line for line in (out / "interpolation.txt").read_text().splitlines() if not line.startswith("#")]
    return [[float(v) for v in re.split(r"\s+", line.strip())[-5:]] for line in lines]


def test_interpolation_txt_holds_five_values_for_each_of_at_least_three_pairs(rendered):
    _, _, out = rendered
    rows = _rows(out)
    assert len(rows) >= 3 and all(len(row) == len(RATIOS) == 5 for row in rows)


@torch.no_grad()
def test_interpolation_values_equal_an_independent_computation(rendered):
    model, split, out = rendered
    written = _rows(out)
    for number, (a, b) in enumerate(INTERPOLATION_PAIRS, start=1):
        x = to_float(split.images[[int((split.labels == a).nonzero()[0]), int((split.labels == b).nonzero()[0])]])
        if model.kind == "vae":
            mean, log_var = model.encode(x)
            torch.manual_seed(number)  # the seed the gallery documents: seed 0 + pair number
            latent_1, latent_2 = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        else:
            latent_1, latent_2 = model.encode(x)
        for k, r in enumerate(RATIOS):
            decoded = model.decode(((1 - r) * latent_1 + r * latent_2)[None])  # (1, 1, 28, 28)
            if model.kind == "vae":
                # ELBO = -(E_q[squared error] + KL), the expectation over 100 draws from q(z | decoded)
                mean, log_var = model.encode(decoded)
                torch.manual_seed(0)
                eps = torch.randn(100, 1, model.latent_dim)  # the same 100 draws for every image
                draws = model.decode(mean + torch.exp(0.5 * log_var) * eps[:, 0])  # (100, 1, 28, 28)
                recon = ((draws - decoded) ** 2).sum(dim=(1, 2, 3)).mean()
                expected = -(recon + (-0.5 * (1 + log_var - mean.pow(2) - log_var.exp())).sum())  # KL to N(0, I)
            else:
                expected = ((model(decoded) - decoded) ** 2).sum()
            assert written[number - 1][k] == pytest.approx(expected.item(), abs=0.006)


@torch.no_grad()
def test_an_ae_with_a_bernoulli_decoder_scores_its_interpolation_by_cross_entropy():
    model = Autoencoder(2, likelihood="bernoulli", **TINY_WIDTHS).eval()
    decoded = model.decode(torch.randn(7, 2))  # (7, 1, 28, 28) in (0, 1), as the interpolation decodes
    assert torch.equal(model.score(decoded, seed=0), losses.bernoulli_nll_per_image(model(decoded), decoded))
    assert model.score_name.startswith("cross-entropy")


def test_figure_names_say_the_bound_a_model_was_trained_on_as_the_tables_do():
    from latentlab.experiments import EXPERIMENTS
    from latentlab.publish.names import figure_name

    assert figure_name(EXPERIMENTS["vae-2d"].config()) == "VAE, 2-D latent"
    assert figure_name(EXPERIMENTS["vae-2d-iwae5"].config()) == "VAE, 2-D latent, IWAE K=5"
    assert figure_name(replace(EXPERIMENTS["vae-2d"].config(), beta=4.0)) == "VAE, 2-D latent, β=4"


def _iwae_finished():
    from latentlab.core.config import TrainConfig
    from latentlab.core.finished import Finished

    config = TrainConfig(model="vae", latent_dim=2, objective="iwae", iw_samples=5, **TINY_WIDTHS)
    return Finished({}, config, VariationalAutoencoder(2, **TINY_WIDTHS), (_test_split(), _test_split()))


def test_a_runs_figures_and_explorer_page_are_named_from_its_configuration_not_its_model(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from latentlab import workflow

    named = []
    monkeypatch.setattr(workflow, "write_gallery", lambda model, name, *rest, **kw: named.append(name))
    monkeypatch.setattr(workflow, "write_explorer", lambda model, test, codes, name, *rest: named.append(name))
    workflow.draw(_iwae_finished(), tmp_path, coded=SimpleNamespace(codes=torch.zeros(80, 2), point_losses=None))
    assert named == ["VAE, 2-D latent, IWAE K=5"] * 2  # two models of one kind, trained on two bounds, told apart


@pytest.mark.parametrize("command", ["explore", "posterior", "surgery"])
def test_the_commands_on_a_finished_folder_name_its_model_from_its_configuration(command, monkeypatch, tmp_path):
    from types import SimpleNamespace

    from latentlab import commands

    finished, named = _iwae_finished(), []
    if command == "explore":
        monkeypatch.setattr(commands, "_open", lambda *args: finished)
        monkeypatch.setattr(commands, "code_test", lambda f: SimpleNamespace(codes=None, point_losses=None))
        monkeypatch.setattr(commands, "write_explorer", lambda model, test, codes, name, *rest: named.append(name))
        commands.explore(tmp_path, None, "cpu")
    elif command == "posterior":
        monkeypatch.setattr(commands, "write_posterior_gaps", lambda *args: named.append(args[4]))
        commands._write_posterior(tmp_path, finished, 10, 10)
    else:
        monkeypatch.setattr(commands, "write_surgery", lambda *args: named.append(args[4]))
        commands._write_surgery(tmp_path, finished)
    assert named == ["VAE, 2-D latent, IWAE K=5"]
