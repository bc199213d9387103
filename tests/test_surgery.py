"""ELBO surgery (core/surgery.py, issue 48): the average KL split into I(x; z) and KL(q(z) ‖ p(z)), by quadrature
on the grid of a 2-D z and by the mixture estimator, each checked against cases with a closed form:

  identical posteriors      q(z) = q(z|x_n): I = 0, KL(q(z) ‖ p(z)) = the KL of any one of them
  far-apart posteriors      the N components do not overlap: I = log N, the ceiling
  a Gaussian channel        q(z|x_n) = N(mu_n, sigma^2 I), the mu_n an exactly whitened sample of N(0, s^2 I):
                            the exact posteriors of the linear-Gaussian model z ~ N(0, v I), x = z + noise, over
                            its data. q(z) is N(0, v I), v = s^2 + sigma^2, up to the mixture's finite N, so that
                            KL(q(z) ‖ N(0, I)) = D/2 (v - 1 - log v) and I = D/2 log(v / sigma^2)
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.distributions import Categorical, MixtureSameFamily

from conftest import tiny_train_config, write_mnist
from latentlab import commands
from latentlab.core import surgery
from latentlab.core.distributions import StandardNormal, diagonal_normal
from latentlab.core.errors import LatentlabError
from latentlab.core.kept import saved_entry
from latentlab.core.posterior import Grid
from latentlab.core.recorded import read_json

REPO = Path(__file__).resolve().parents[1]
GRID = Grid.covering(6.0, 0.02)
# How far the N-component mixture's KL and I may sit from the population's N(0, v I): 0.011 nats by the
# quadrature for the 2-D channel below (N = 2,000, sigma = 0.3), less where the components overlap more. In
# more dimensions a few thousand components fill N(0, v I) far worse (0.15 nats in 8-D), so the channel is
# checked in 2-D and 4-D; the estimators' own errors are added to it
FINITE_N = 0.02


def whitened(n: int, dims: int, scale: float, seed: int = 1234) -> torch.Tensor:
    """n points whose sample mean is 0 and sample covariance exactly scale^2 I."""
    points = torch.randn(n, dims, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    points -= points.mean(0)
    covariance = points.T @ points / n
    return points @ torch.linalg.inv(torch.linalg.cholesky(covariance)).T * scale


def channel(n: int = 2000, dims: int = 2, s: float = 0.9, sigma: float = 0.3):
    """The Gaussian channel's posteriors (mean, log_var) and its closed-form (I, KL(q(z) ‖ N(0, I)))."""
    mean = whitened(n, dims, s)
    log_var = torch.full_like(mean, 2 * math.log(sigma))
    v = s**2 + sigma**2
    return mean, log_var, dims / 2 * math.log(v / sigma**2), dims / 2 * (v - 1 - math.log(v))


def identical(n: int = 500, dims: int = 2):
    mean = torch.tensor([0.8, -0.5, 0.3, 0.1][:dims], dtype=torch.float64).expand(n, dims)
    log_var = torch.tensor([-1.0, -0.4, 0.2, -2.0][:dims], dtype=torch.float64).expand(n, dims)
    kl = (0.5 * (log_var.exp() + mean.pow(2) - 1 - log_var)).sum(1)[0].item()
    return mean, log_var, kl


def far_apart(n: int = 100):
    """n posteriors of sd 0.05 on a 10 x 10 lattice of spacing 1 (20 sd between neighbours)."""
    i = torch.arange(n, dtype=torch.float64)
    mean = torch.stack([i % 10 - 4.5, torch.div(i, 10, rounding_mode="floor") - 4.5], dim=1)
    return mean, torch.full_like(mean, 2 * math.log(0.05))


class OneComponentMixture(nn.Module):
    """N(0, I) written as a mixture of one component: torch.distributions has no closed-form KL to it, so the
    surgery takes its numerical path, whose answer is known."""

    latent_dim = 2

    def __init__(self):
        super().__init__()
        self.normal = StandardNormal(2)

    def distribution(self):
        zero = torch.zeros(1, 2)
        return MixtureSameFamily(Categorical(logits=torch.zeros(1)), diagonal_normal(zero, zero))

    def log_prob(self, z):
        return self.normal.log_prob(z)

    def grid_log_prob(self, axis):
        return self.normal.grid_log_prob(axis)


def test_identical_posteriors_carry_no_information_by_quadrature():
    mean, log_var, kl = identical()
    split, _ = surgery.quadrature(mean, log_var, GRID)
    assert abs(split.mutual_information) < 1e-4
    assert abs(split.aggregate_kl - kl) < 1e-4


def test_identical_posteriors_carry_no_information_by_the_mixture():
    mean, log_var, kl = identical(dims=4)
    split = surgery.mixture(mean, log_var, StandardNormal(4))
    assert abs(split.average_kl - kl) < 1e-9  # in closed form: I takes the aggregate KL's sampling error
    assert abs(split.mutual_information) < 4 * split.aggregate_kl_se


def test_far_apart_posteriors_reach_the_ceiling_log_n_by_quadrature():
    mean, log_var = far_apart()
    split, _ = surgery.quadrature(mean, log_var, GRID)
    assert abs(split.mutual_information - math.log(100)) < 1e-3


def test_far_apart_posteriors_reach_the_ceiling_log_n_by_the_mixture():
    mean, log_var = far_apart()
    split = surgery.mixture(mean, log_var, StandardNormal(2))
    assert abs(split.mutual_information - math.log(100)) < 5 * split.aggregate_kl_se + 1e-6
    assert split.record()["ceiling_log_n"] == round(math.log(100), 6)


def test_the_gaussian_channel_splits_as_its_closed_form_by_quadrature():
    mean, log_var, information, aggregate = channel()
    split, extra = surgery.quadrature(mean, log_var, GRID)
    assert split.aggregate_kl_se < 1e-3 and extra["mass_outside_grid"] < 1e-6
    assert abs(split.aggregate_kl - aggregate) < FINITE_N + split.aggregate_kl_se
    assert abs(split.mutual_information - information) < FINITE_N + split.aggregate_kl_se


def test_the_gaussian_channel_splits_as_its_closed_form_by_the_mixture_in_four_dimensions():
    mean, log_var, information, aggregate = channel(n=4000, dims=4, s=0.5, sigma=0.8)
    split = surgery.mixture(mean, log_var, StandardNormal(4))
    assert abs(split.aggregate_kl - aggregate) < 4 * split.aggregate_kl_se + FINITE_N
    assert abs(split.mutual_information - information) < 4 * split.aggregate_kl_se + FINITE_N


def test_quadrature_and_mixture_agree_on_a_2d_case():
    mean, log_var, _, _ = channel(s=1.3, sigma=0.2)
    by_grid, _ = surgery.quadrature(mean, log_var, GRID)
    by_mixture = surgery.mixture(mean, log_var, StandardNormal(2), seed=3)
    assert (
        abs(by_grid.aggregate_kl - by_mixture.aggregate_kl) < 4 * by_mixture.aggregate_kl_se + by_grid.aggregate_kl_se
    )
    assert by_grid.average_kl == by_mixture.average_kl


def test_the_average_kl_is_information_plus_the_priors_misfit():
    mean, log_var, _, _ = channel(n=300)
    split = surgery.mixture(mean, log_var, StandardNormal(2))
    assert math.isclose(split.average_kl, split.mutual_information + split.aggregate_kl, abs_tol=1e-12)


def test_a_prior_without_a_closed_form_kl_is_split_on_the_grid_as_its_closed_form_twin():
    mean, log_var, _, _ = channel(n=500)
    twin, _ = surgery.quadrature(mean, log_var, GRID)
    numerical, _ = surgery.quadrature(mean, log_var, Grid.covering(6.0, 0.02, OneComponentMixture()))
    assert abs(numerical.average_kl - twin.average_kl) < 1e-4
    assert abs(numerical.mutual_information - twin.mutual_information) < 1e-4


def test_a_prior_without_a_closed_form_kl_is_split_by_the_mixture_from_the_same_draws():
    mean, log_var, _, _ = channel(n=500)
    split = surgery.mixture(mean, log_var, OneComponentMixture())
    closed = surgery.mixture(mean, log_var, StandardNormal(2))
    assert abs(split.aggregate_kl - closed.aggregate_kl) < 1e-5
    assert abs(split.average_kl - closed.average_kl) < 4 * closed.aggregate_kl_se


def test_the_mixture_is_the_same_for_the_same_seed_and_differs_for_another():
    mean, log_var, _, _ = channel(n=300)
    first, again = (surgery.mixture(mean, log_var, StandardNormal(2), seed=7) for _ in range(2))
    other = surgery.mixture(mean, log_var, StandardNormal(2), seed=8)
    assert first == again and first.aggregate_kl != other.aggregate_kl


def test_the_quadratures_error_shrinks_with_a_finer_grid():
    mean, log_var, _, _ = channel(n=300, s=1.0, sigma=0.1)
    coarse, _ = surgery.quadrature(mean, log_var, Grid.covering(6.0, 0.08))
    fine, _ = surgery.quadrature(mean, log_var, Grid.covering(6.0, 0.02))
    assert fine.aggregate_kl_se < coarse.aggregate_kl_se


# --- The command on a result folder ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_2d(tmp_path_factory) -> Path:
    """A tiny 2-D VAE's result folder, trained two epochs on synthetic digits, with the surgery written."""
    from latentlab.core.measure import train_and_measure

    root = tmp_path_factory.mktemp("surgery")
    config = tiny_train_config(write_mnist(root / "data"), root / "run")
    train_and_measure(config)
    commands.elbo_surgery([Path(config.out_dir)], config.data_root, "cpu")
    return Path(config.out_dir)


def test_the_surgery_command_writes_the_split_into_metrics_json(trained_2d):
    entry = read_json(trained_2d / "metrics.json", "metrics")["elbo_surgery"]
    assert entry["method"] == "quadrature" and entry["images"] == 64
    assert entry["mutual_information"] <= entry["ceiling_log_n"] + entry["mutual_information_se"]
    assert math.isclose(entry["average_kl"], entry["mutual_information"] + entry["aggregate_kl"], abs_tol=2e-6)


def test_the_surgery_command_draws_the_aggregate_posterior_of_a_2d_vae(trained_2d):
    assert (trained_2d / "aggregate_posterior.png").stat().st_size > 10_000


def test_metrics_json_keeps_the_split_when_it_is_written_again_from_the_same_model(trained_2d):
    from latentlab.core.finished import open_finished
    from latentlab.core.measure import write_metrics

    before = read_json(trained_2d / "metrics.json", "metrics")["elbo_surgery"]
    write_metrics(open_finished(trained_2d / "model.pt"), trained_2d, k=2, n_test=8, quick=True)
    assert read_json(trained_2d / "metrics.json", "metrics")["elbo_surgery"] == before


def test_a_split_computed_from_another_model_is_not_kept(trained_2d, tmp_path):
    for name in ("model.pt", "metrics.json"):
        shutil.copy(trained_2d / name, tmp_path / name)
    metrics = read_json(tmp_path / "metrics.json", "metrics")
    metrics["elbo_surgery"]["model_sha256"] = "0" * 64
    (tmp_path / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    assert saved_entry(tmp_path, surgery.METRICS_KEY) is None


def test_the_surgery_command_refuses_a_model_without_a_posterior(tmp_path, mnist_root):
    from latentlab.core.measure import train_and_measure

    config = tiny_train_config(mnist_root, tmp_path / "ae", model="ae", epochs=1)
    train_and_measure(config)
    with pytest.raises(LatentlabError, match="without a posterior"):
        commands.elbo_surgery([Path(config.out_dir)], config.data_root, "cpu")


# --- RESULTS.md's section -------------------------------------------------------------------------------------


def test_results_md_tables_each_folders_split_with_the_command_that_gives_it(tmp_path):
    from latentlab.experiments import EXPERIMENTS
    from latentlab.publish.report import results_markdown

    folder = next(e.out_dir for e in EXPERIMENTS.values() if e.out_dir.name == "32D_latent_VAE")
    (tmp_path / folder).mkdir(parents=True)
    metrics = read_json(REPO / folder / "metrics.json", "metrics")
    metrics["elbo_surgery"] = {
        **metrics["elbo_surgery"],
        "average_kl": 12.5,
        "aggregate_kl": 4.25,
        "mutual_information": 8.25,
        "aggregate_kl_se": 0.0312,
    }
    (tmp_path / folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    text = results_markdown(tmp_path)
    section = text[text.index("## Where the KL goes: information and the prior's misfit") :]
    assert "| VAE, 32-D | 12.50 | 8.25 ± 0.03 | 4.250 ± 0.031 | 34% | mixture | 9.21 | – | – |" in section
    assert f"python -m latentlab surgery '{folder.as_posix()}'" in section
    assert "python -m latentlab seeds" not in section  # no seed holds a split


def test_results_md_gives_the_seeds_spread_of_the_split_over_the_seeds_that_hold_one(tmp_path):
    from latentlab.experiments import EXPERIMENTS
    from latentlab.publish.report import results_markdown

    experiment = next(e for e in EXPERIMENTS.values() if e.out_dir.name == "32D_latent_VAE")
    (tmp_path / experiment.out_dir).mkdir(parents=True)
    metrics = read_json(REPO / experiment.out_dir / "metrics.json", "metrics")
    (tmp_path / experiment.out_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    recipe, split = experiment.config().recipe(), metrics["elbo_surgery"]
    runs = [
        {"seed": seed, "device": "cpu", "train_seconds": 1.0, "recipe": {**recipe, "seed": seed}}
        | ({"elbo_surgery": split | {"mutual_information": i, "aggregate_kl": a}} if i is not None else {})
        for seed, (i, a) in enumerate([(8.0, 4.0), (8.5, 4.5), (None, None)])  # seed 2's model was not kept
    ]
    (tmp_path / experiment.out_dir / "seeds.json").write_text(json.dumps({"experiment": experiment.name, "runs": runs}))
    section = results_markdown(tmp_path).split("## Where the KL goes")[1]
    assert "| 8.25 ± 0.35 (n=2) | 4.250 ± 0.354 (n=2) |" in section
    assert f"python -m latentlab seeds --only {experiment.name}" in section


def test_results_md_has_no_surgery_section_without_a_split(tmp_path):
    from latentlab.experiments import EXPERIMENTS
    from latentlab.publish.report import results_markdown

    folder = next(e.out_dir for e in EXPERIMENTS.values() if e.out_dir.name == "32D_latent_VAE")
    (tmp_path / folder).mkdir(parents=True)
    metrics = read_json(REPO / folder / "metrics.json", "metrics")
    del metrics["elbo_surgery"]
    (tmp_path / folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    assert "Where the KL goes" not in results_markdown(tmp_path)
