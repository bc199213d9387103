"""log p(x) by quadrature for a model's mean over many images (core/log_likelihood.py, issue 48): checked on linear
decoders whose p(x), p(x|y) and p(y|x) are known in closed form, then on tiny trained models through the seed study
and the posterior command."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from test_posterior import LinearGaussian

from conftest import tiny_train_config, write_mnist
from latentlab import commands
from latentlab.core import log_likelihood, posterior
from latentlab.core.distributions import StandardNormal
from latentlab.core.kept import saved_entry
from latentlab.core.recorded import read_json

# --- The quadrature against closed forms ---------------------------------------------------------------------------


def test_log_px_on_the_grid_is_the_linear_decoders_closed_form():
    model = LinearGaussian()
    x = model.sample(40)
    grid = posterior.Grid.covering(6.0, log_likelihood.SPACING)
    found = log_likelihood.on_grid(posterior.grid_log_likelihood(model.decode, "gaussian", x, grid), grid)
    exact = model.log_px(x)
    summary = found.summary()
    assert torch.allclose(found.log_px, exact, atol=1e-3)
    assert summary["images"] == 40 and summary["se"] == pytest.approx((exact.std() / 40**0.5).item(), abs=1e-3)


def test_on_a_grid_too_coarse_for_the_posterior_the_error_bound_still_covers_the_means_error():
    model = LinearGaussian()
    x = model.sample(40)
    grid = posterior.Grid.covering(6.0, 0.4)  # wider than the posterior's sd along its narrow axis
    summary = log_likelihood.on_grid(posterior.grid_log_likelihood(model.decode, "gaussian", x, grid), grid).summary()
    error = abs(summary["mean"] - model.log_px(x).mean().item())
    assert 1e-4 < error <= summary["error_bound"]


def test_the_elbo_beside_log_px_is_the_linear_decoders_closed_form_elbo_of_the_q_given():
    model = LinearGaussian()
    x = model.sample(10)
    mean, covariance = model.posterior(x)
    log_var = (covariance.diagonal().log() + 0.3).expand_as(mean)  # a q broader than the posterior's
    grid = posterior.Grid.covering(6.0, log_likelihood.SPACING)
    log_lik = posterior.grid_log_likelihood(model.decode, "gaussian", x, grid)
    summary = log_likelihood.on_grid(log_lik, grid, (mean, log_var)).summary()
    exact = model.elbo(x, mean, log_var)
    assert summary["elbo"]["mean"] == pytest.approx(exact.mean().item(), abs=1e-3)
    assert summary["elbo_gap"]["mean"] == pytest.approx((model.log_px(x) - exact).mean().item(), abs=1e-3)


def test_the_error_bound_grows_when_the_grid_is_too_coarse_for_the_posterior():
    model = LinearGaussian()
    x = model.sample(20)
    bounds = []
    for spacing in (0.04, 0.32):
        grid = posterior.Grid.covering(6.0, spacing)
        log_lik = posterior.grid_log_likelihood(model.decode, "gaussian", x, grid)
        bounds.append(log_likelihood.on_grid(log_lik, grid).summary()["error_bound"])
    assert bounds[0] < 1e-3 < bounds[1]


class TwoLabelLinear(torch.nn.Module):
    """A conditional model of two labels: x = W z + b_y + noise, noise ~ N(0, 1/2 I), z ~ N(0, I). Each p(x|y) is the
    linear decoder's closed form with its own offset; its encoder returns the exact posterior's diagonal."""

    def __init__(self):
        super().__init__()
        self.labels = [LinearGaussian(seed=0), LinearGaussian(seed=0)]
        self.labels[1].b = self.labels[0].b + 0.8  # the same W: one plane, shifted
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # where the quadrature finds the model's device
        self.likelihood = SimpleNamespace(name="gaussian")
        self.prior = StandardNormal(2)
        self.traits = SimpleNamespace(conditional=True, likelihood_bound=True)
        self.classes, self.latent_dim = 2, 2

    def encode(self, x, y):
        linear = self.labels[int(y[0])]
        mean, covariance = linear.posterior(x.flatten(1).double())
        return mean.float(), covariance.diagonal().log().expand_as(mean).float()

    def decode(self, z, y):
        return self.labels[int(y[0])].decode(z).float()

    def log_px_given(self, x: torch.Tensor, label: int) -> torch.Tensor:
        return self.labels[label].log_px(x.flatten(1).double())


def test_a_conditional_models_p_x_given_y_p_x_and_p_y_given_x_are_their_closed_forms():
    model = TwoLabelLinear()
    x = torch.cat([model.labels[0].sample(15, seed=1), model.labels[1].sample(15, seed=2)]).float()
    p_y = torch.tensor([0.3, 0.7])
    found = log_likelihood.conditional_log_px(model, x, p_y)
    given = torch.stack([model.log_px_given(x, y) for y in (0, 1)], dim=1)  # (N, 2)
    joint = given + p_y.double().log()
    exact_px = torch.logsumexp(joint, dim=1)
    labels = torch.tensor([0] * 15 + [1] * 15)
    assert torch.allclose(found.given_label(labels).log_px, given.gather(1, labels[:, None])[:, 0], atol=2e-3)
    assert torch.allclose(found.marginal().log_px, exact_px, atol=2e-3)
    assert torch.allclose(found.log_p_y_given_x().exp(), (joint - exact_px[:, None]).exp(), atol=2e-3)


def test_the_labels_information_and_bayes_rule_are_their_closed_forms(monkeypatch):
    model = TwoLabelLinear()
    x = torch.cat([model.labels[0].sample(10, seed=4), model.labels[1].sample(20, seed=3)]).float()
    labels = torch.tensor([0] * 10 + [1] * 20)
    test = SimpleNamespace(images=x.view(-1, 1, 1, 6), labels=labels)
    monkeypatch.setattr(log_likelihood, "to_float", lambda images: images.float())  # its pixels are not bytes
    record = log_likelihood.record(model, test, train_labels=torch.tensor([0, 1, 1, 1]), images=30)  # p(y=1) = 3/4
    log_p_y = torch.tensor([0.25, 0.75], dtype=torch.float64).log()
    joint = torch.stack([model.log_px_given(x, y) for y in (0, 1)], dim=1) + log_p_y
    log_p_y_given_x = joint - torch.logsumexp(joint, dim=1, keepdim=True)
    information = log_p_y_given_x.gather(1, labels[:, None])[:, 0] - log_p_y[labels]
    accuracy = (log_p_y_given_x.argmax(1) == labels).double().mean().item()
    assert record["label_information"]["mean"] == pytest.approx(information.mean().item(), abs=2e-3)
    assert record["bayes_accuracy"] == pytest.approx(accuracy) and 0 < accuracy < 1  # some images read wrongly
    assert record["label_information"]["error_bound"] < 1e-3 and record["bayes_accuracy_error_bound"] == 0


# --- The seed study and the posterior command on tiny trained models ----------------------------------------------


@pytest.fixture(scope="module")
def tiny_cvae(tmp_path_factory) -> Path:
    """A tiny 2-D CVAE's result folder, trained one epoch on synthetic digits, with its log p(x) written."""
    from latentlab.core.measure import train_and_measure

    root = tmp_path_factory.mktemp("cvae")
    config = tiny_train_config(write_mnist(root / "data"), root / "run", model="cvae", epochs=1)
    train_and_measure(config)
    commands.posterior_gaps([Path(config.out_dir)], 64, 8, config.data_root, "cpu")
    return Path(config.out_dir)


def test_the_posterior_command_writes_a_conditional_models_log_px_and_log_px_given_y_into_metrics_json(tiny_cvae):
    entry = read_json(tiny_cvae / "metrics.json", "metrics")["log_px_quadrature"]
    assert entry["marginal"]["images"] == entry["given_y"]["images"] == 64
    # log p(x) = log sum_y p(y) p(x|y) >= log p(y) + log p(x|y): the marginal is at most log(1/p(y)) below
    assert entry["given_y"]["mean"] - entry["marginal"]["mean"] == pytest.approx(
        entry["label_information"]["mean"], abs=1e-5
    )


def test_metrics_json_keeps_a_conditional_models_log_px_while_its_model_is_the_same(tiny_cvae, tmp_path):
    from latentlab.core.finished import open_finished
    from latentlab.core.measure import write_metrics

    before = read_json(tiny_cvae / "metrics.json", "metrics")["log_px_quadrature"]
    write_metrics(open_finished(tiny_cvae / "model.pt"), tiny_cvae, k=2, n_test=8, quick=True)
    assert read_json(tiny_cvae / "metrics.json", "metrics")["log_px_quadrature"] == before
    for name in ("model.pt", "metrics.json"):
        shutil.copy(tiny_cvae / name, tmp_path / name)
    metrics = read_json(tmp_path / "metrics.json", "metrics")
    metrics["log_px_quadrature"]["model_sha256"] = "0" * 64
    (tmp_path / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    assert saved_entry(tmp_path, "log_px_quadrature") is None


def test_the_posterior_command_refuses_an_autoencoder_naming_what_it_needs(tmp_path, mnist_root):
    from latentlab.core.errors import LatentlabError
    from latentlab.core.measure import train_and_measure

    config = tiny_train_config(mnist_root, tmp_path / "ae", model="ae", epochs=1)
    train_and_measure(config)
    with pytest.raises(LatentlabError, match="holds no VAE with a 2-D latent"):
        commands.posterior_gaps([Path(config.out_dir)], 8, 2, config.data_root, "cpu")


# --- RESULTS.md's section -------------------------------------------------------------------------------------------


MODEL_BYTES = b"a model.pt: only its sha256 is read"


def _quadrature(mean: float, elbo: float | None = None) -> dict:
    grid = {"half_width": 6.0, "spacing": 0.04, "points_per_axis": 301}
    out = {"images": 500, "mean": mean, "se": 0.5, "error_bound": 0.0002, "grid": grid}
    if elbo is not None:
        out |= {"elbo": {"mean": elbo, "se": 0.6}, "elbo_gap": {"mean": mean - elbo, "se": 0.2}}
    return out


def _folder(root: Path, name: str, log_pxs: list[float], metrics_extra: dict | None = None) -> None:
    """A result folder of experiment ``name``: a metrics.json of its recipe and a seeds.json whose seeds have the
    given log p(x)."""
    from latentlab.experiments import EXPERIMENTS

    experiment = EXPERIMENTS[name]
    folder = root / experiment.out_dir
    folder.mkdir(parents=True)
    config = experiment.config()
    metrics = {
        "model": config.model,
        "latent_dim": 2,
        "epochs": config.epochs,
        "device": "cpu",
        "train_seconds": 60.0,
        "parameters": 1000,
        "test_elbo": -37.5,
        "config": json.loads(config.to_json()),
        **(metrics_extra or {}),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (folder / "model.pt").write_bytes(MODEL_BYTES)
    recipe = config.recipe()
    runs = [
        {
            "seed": seed,
            "device": "cpu",
            "train_seconds": 60.0,
            "recipe": {**recipe, "seed": seed},
            "test_elbo": log_px - 3.7,
            "log_px_quadrature": {"marginal": _quadrature(log_px, log_px - 2.8)},
        }
        for seed, log_px in enumerate(log_pxs)
    ]
    (folder / "seeds.json").write_text(json.dumps({"experiment": name, "runs": runs}), encoding="utf-8")


@pytest.fixture
def results_root(tmp_path) -> Path:
    _folder(tmp_path, "vae-2d", [-33.8, -34.1, -33.9])
    _folder(tmp_path, "vae-2d-iwae5", [-33.0, -33.2, -33.1])
    conditional = {
        "marginal": _quadrature(-31.13),
        "given_y": _quadrature(-29.30, -30.1),
        "label_information": {"mean": 1.83, "se": 0.05, "error_bound": 1e-5},
        "bayes_accuracy": 0.916,
        "bayes_accuracy_error_bound": 0.0,
        "p_y": "the training set's class frequencies",
        "model_sha256": hashlib.sha256(MODEL_BYTES).hexdigest(),  # the entry of the folder's present model.pt
    }
    _folder(tmp_path, "cvae-2d", [], {"log_px_quadrature": conditional})
    return tmp_path


def test_the_section_has_a_row_per_2d_model_and_two_for_a_conditional_one(results_root):
    from latentlab.publish.log_likelihood_report import log_likelihood_section

    text = "\n".join(log_likelihood_section(results_root))
    table = [line for line in text.splitlines() if line.startswith("| ")]
    names = [row.split(" | ")[0].lstrip("| ") for row in table[2:]]
    assert names == [
        "CVAE, 2-D: log p(x\\|y)",
        "CVAE, 2-D: log p(x) = log Σ\\_y p(y) p(x\\|y)",
        "VAE, 2-D",
        "VAE, 2-D, IWAE K=5",
    ]
    assert "| -33.93 ± 0.15 (n=3) | – | -36.73 ± 0.15 (n=3) | 2.80 ± 0.00 (n=3) |" in table[4]  # log p(x), ELBO, gap


def test_the_section_ranks_the_models_by_the_seeds_log_px_and_says_whether_the_seeds_resolve_it(results_root):
    from latentlab.publish.log_likelihood_report import log_likelihood_section

    text = "\n".join(log_likelihood_section(results_root))
    assert (
        "Highest log p(x) on the first 500 test images, over the seeds: VAE, 2-D, IWAE K=5, -33.10; against it: "
        "VAE, 2-D -0.83 ± 0.11 (resolved)." in text
    )
    assert "Fewer than two seeds measured yet: CVAE, 2-D: log p(x) = log Σ\\_y p(y) p(x\\|y)." in text  # escaped


def test_the_conditional_paragraph_gives_the_labels_information_and_bayes_rule_from_the_quadrature(results_root):
    from latentlab.publish.log_likelihood_report import log_likelihood_section

    text = "\n".join(log_likelihood_section(results_root))
    assert "is 1.83 ± 0.05 nats (-29.30 against -31.13)" in text and "reads the label of 91.6% of these images" in text


def test_the_conditional_paragraph_gives_the_seeds_spread_of_the_labels_information_and_bayes_rule(results_root):
    from latentlab.experiments import EXPERIMENTS
    from latentlab.publish.log_likelihood_report import log_likelihood_section

    path = results_root / EXPERIMENTS["cvae-2d"].out_dir / "seeds.json"
    recipe = EXPERIMENTS["cvae-2d"].config().recipe()
    runs = [
        {
            "seed": seed,
            "device": "cpu",
            "train_seconds": 60.0,
            "recipe": {**recipe, "seed": seed},
            "log_px_quadrature": {
                "marginal": _quadrature(-31.1),
                "given_y": _quadrature(-29.3, -30.1),
                "label_information": {"mean": information, "se": 0.05, "error_bound": 1e-5},
                "bayes_accuracy": accuracy,
                "bayes_accuracy_error_bound": 0.0,
                "p_y": "the training set's class frequencies",
            },
        }
        for seed, (information, accuracy) in enumerate([(1.80, 0.915), (1.84, 0.919)])
    ]
    path.write_text(json.dumps({"experiment": "cvae-2d", "runs": runs}), encoding="utf-8")
    text = "\n".join(log_likelihood_section(results_root))
    seeds = "Over 2 seeds (mean ± sd): 1.82 ± 0.03 nats, and Bayes' rule reads a share 0.917 ± 0.003 of the labels"
    assert seeds in text


def test_the_committed_results_md_is_what_the_report_writes_from_the_committed_files():
    from latentlab.publish.report import results_markdown

    repo = Path(__file__).resolve().parents[1]
    assert (repo / "RESULTS.md").read_text(encoding="utf-8") == results_markdown(repo), "run python -m latentlab report"


def test_the_cvae_comparison_gives_the_measured_label_information_once_its_log_px_is_computed():
    repo = Path(__file__).resolve().parents[1]
    metrics = read_json(
        repo / "Kết_quả_huấn_luyện_Variational_Autoecoder" / "2D_latent_CVAE" / "metrics.json", "metrics"
    )
    text = (repo / "RESULTS.md").read_text(encoding="utf-8")
    information = metrics["log_px_quadrature"]["label_information"]
    assert f"the label's information under it is {information['mean']:.2f} ± {information['se']:.2f} nats" in text
    assert "up to how much tighter one bound is than the other" not in text
