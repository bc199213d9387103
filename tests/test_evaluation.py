"""Evaluation: closed-form checks of the likelihood bound, the probes and the generated report."""

import json
import math

import numpy as np
import pytest
import torch

from latentlab.core.distributions import StandardNormal
from latentlab.core.evaluation import importance_sampled_bound, knn_accuracy, linear_probe_accuracy, log_mean_exp
from latentlab.core.passes import active_units
from latentlab.publish.report import results_markdown, summary


def test_log_mean_exp_is_stable_for_very_negative_inputs():
    values = torch.tensor([-10_000.0, -10_000.0 + math.log(3)], dtype=torch.float64)
    assert log_mean_exp(values).item() == pytest.approx(-10_000.0 + math.log(2))


def test_log_mean_exp_of_equal_values_is_that_value():
    assert log_mean_exp(torch.full((7, 3), -123.5)).tolist() == pytest.approx([-123.5] * 3)


def test_importance_bound_with_the_true_posterior_is_the_exact_log_likelihood():
    # z ~ N(0, 1), x | z ~ N(a z, s^2): p(x) = N(0, a^2 + s^2), p(z | x) = N(a x / v, s^2 / v), v = a^2 + s^2.
    a, s = 2.0, 0.5
    v = a * a + s * s
    x = torch.tensor([-1.3, 0.0, 2.7], dtype=torch.float64)
    mean = (a * x / v)[:, None]  # (B, 1)
    log_var = torch.full_like(mean, math.log(s * s / v))

    def log_likelihood(z):  # (S, B, 1) -> (S, B)
        return -0.5 * ((x - a * z[..., 0]) ** 2 / s**2 + math.log(2 * math.pi * s**2))

    bound = importance_sampled_bound(
        mean, log_var, StandardNormal(mean.shape[1]), log_likelihood, k=7, generator=torch.Generator().manual_seed(0)
    )
    exact = -0.5 * (x**2 / v + torch.log(torch.tensor(2 * math.pi * v, dtype=torch.float64)))
    assert torch.allclose(bound, exact, atol=1e-9)


def test_importance_bound_with_a_poor_proposal_stays_below_the_exact_value_and_rises_with_k():
    a, s = 2.0, 0.5
    x = torch.tensor([1.0], dtype=torch.float64)
    mean, log_var = torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64)  # q = prior

    def log_likelihood(z):
        return -0.5 * ((x - a * z[..., 0]) ** 2 / s**2 + math.log(2 * math.pi * s**2))

    exact = -0.5 * (1 / (a * a + s * s) + math.log(2 * math.pi * (a * a + s * s)))
    bounds = [
        torch.stack(
            [
                importance_sampled_bound(
                    mean, log_var, StandardNormal(mean.shape[1]), log_likelihood, k, torch.Generator().manual_seed(r)
                )
                for r in range(200)
            ]
        )
        .mean()
        .item()
        for k in (1, 100)
    ]
    assert bounds[0] < bounds[1] < exact


def _separable(n, dims, seed):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    centres = np.eye(10, dims) * 20 if dims >= 10 else np.stack([np.cos(np.arange(10)), np.sin(np.arange(10))], 1) * 20
    return centres[labels] + rng.normal(0, 0.1, (n, dims)), labels


@pytest.mark.parametrize("dims", [2, 32])
def test_knn_and_linear_probe_score_one_on_separable_codes(dims):
    train_codes, train_labels = _separable(500, dims, 0)
    test_codes, test_labels = _separable(200, dims, 1)
    assert knn_accuracy(train_codes, train_labels, test_codes, test_labels) == 1.0
    assert linear_probe_accuracy(train_codes, train_labels, test_codes, test_labels) == 1.0


def test_active_units_counts_dimensions_whose_mean_varies():
    torch.manual_seed(0)
    means = torch.cat([torch.randn(1000, 3), 0.01 * torch.randn(1000, 2)], dim=1)
    assert active_units(means)[0] == 3


def _metrics(folder, **values):
    folder.mkdir(parents=True)
    base = {"model": "vae", "latent_dim": 2, "epochs": 3, "train_seconds": 90.0, "device": "cpu", "parameters": 1000}
    (folder / "metrics.json").write_text(json.dumps({**base, **values}))


def test_report_renders_a_row_per_result_folder_from_hand_written_metrics(tmp_path):
    _metrics(
        tmp_path / "Kết_quả_huấn_luyện_Variational_Autoecoder/2D_latent_VAE",
        test_mse=0.04321,
        test_recon_sse=33.87,
        test_elbo=-37.25,
        knn5_accuracy=0.7512,
        active_units=2,
        test_log_likelihood_is=-36.5,
        bound_samples=100,
        bound_test_images=2000,
    )
    _metrics(
        tmp_path / "Kết_quả_huấn_luyện_Autoencoder/2D_latent_AE",
        model="ae",
        test_mse=0.0399,
        test_recon_sse=31.3,
        pca_test_mse=0.0557,
        pca_knn5_accuracy=0.42,
    )
    text = results_markdown(tmp_path)
    assert "| VAE, 2-D | MNIST | 0.0432 | 33.87 | -37.25 | -36.50 (k=100, n=2000) | – | 0.751 |" in text
    assert "| AE, 2-D | MNIST | 0.0399 | 31.30 |" in text
    assert "| PCA, 2 components | MNIST | 0.0557 | 43.67 |" in text
    assert "32D_latent_AE" in text.split("Not trained yet")[1]
    assert "86.76 nats" in text  # the published references


def test_report_gives_the_evaluate_command_with_the_bound_settings_each_folder_was_measured_with(tmp_path):
    _metrics(
        tmp_path / "Kết_quả_huấn_luyện_Variational_Autoecoder/2D_latent_VAE",
        test_mse=0.04,
        bound_samples=100,
        bound_test_images=2000,
    )
    _metrics(
        tmp_path / "Kết_quả_huấn_luyện_Variational_Autoecoder/32D_latent_VAE_bernoulli",
        test_mse=0.02,
        bound_samples=1000,
        bound_test_images=10000,
    )
    text = results_markdown(tmp_path)
    assert (
        'evaluate "Kết_quả_huấn_luyện_Variational_Autoecoder/32D_latent_VAE_bernoulli" --k 1000 --n-test 10000\n'
        in text
    )
    plain = next(
        line for line in text.splitlines() if line.startswith("python -m latentlab evaluate") and "--k" not in line
    )
    assert "2D_latent_VAE" in plain and '/32D_latent_VAE_bernoulli"' not in plain


def test_results_state_how_the_binary_test_set_was_drawn_and_how_far_a_draw_moves_the_nll(tmp_path):
    folder = "Kết_quả_huấn_luyện_Variational_Autoecoder/32D_latent_VAE_bernoulli"
    _metrics(tmp_path / folder, likelihood="bernoulli", test_mse=0.02)
    assert "seeded with 1234" in results_markdown(tmp_path) and "Larochelle" in results_markdown(tmp_path)
    draws = [{"seed": seed, "mean": -nll, "se": 0.2} for seed, nll in ((1234, 84.0), (1, 84.2), (2, 84.4))]
    (tmp_path / folder / "binarization_spread.json").write_text(json.dumps({"k": 100, "n_test": 10000, "draws": draws}))
    text = results_markdown(tmp_path)
    assert "NLL 84.00, 84.20, 84.40 nats, 84.20 ± 0.20 (sd over the 3 draws" in text
    assert "smaller than about 0.40 nats" in text
    assert f'binarization-spread "{folder}" --seeds 1234 1 2 --k 100' in text


def test_results_say_nothing_of_binarization_without_a_bernoulli_model(tmp_path):
    _metrics(tmp_path / "Kết_quả_huấn_luyện_Variational_Autoecoder/2D_latent_VAE", test_mse=0.04)
    assert "binary test set" not in results_markdown(tmp_path)


def test_readme_summary_adds_up_the_training_time_of_the_scripts_default_runs(tmp_path):
    from latentlab.experiments import BERNOULLI, SCRIPT_EXPERIMENTS

    for i, experiment in enumerate(SCRIPT_EXPERIMENTS.values()):  # 1, 2, 3, ... minutes
        _metrics(tmp_path / experiment.out_dir, parameters=1000, test_mse=0.01, train_seconds=60.0 * (i + 1))
    _metrics(tmp_path / BERNOULLI.out_dir, parameters=1000, test_mse=0.01, train_seconds=6000.0)  # no script: left out
    n = len(SCRIPT_EXPERIMENTS)
    assert summary(tmp_path).endswith(
        f"The default runs of the {n} scripts in Models/ trained for {n * (n + 1) / 2:.1f} min in total (cpu)."
    )
