"""The VampPrior (Tomczak & Welling 2018) as a kind: p(z) is the mean of the encoder's posteriors at learned
pseudo-inputs, trained with the model, and RESULTS.md sets each VampPrior VAE beside its VAE."""

from __future__ import annotations

import math

import torch
from torch.distributions import Independent, Normal

from conftest import TINY_WIDTHS
from latentlab.core.kinds.vampprior import VampPriorVAE


def tiny(latent_dim: int = 2) -> VampPriorVAE:
    torch.manual_seed(0)
    return VampPriorVAE(latent_dim, **TINY_WIDTHS)


def test_its_density_is_the_mean_of_the_encoders_posteriors_at_the_pseudo_inputs():
    model = tiny().eval()
    z = torch.randn(5, 2)
    with torch.no_grad():
        mean, log_var = model.encode(torch.sigmoid(model.prior.pseudo_inputs))
        by_hand = torch.stack(
            [Independent(Normal(mean, torch.exp(0.5 * log_var)), 1).log_prob(point).exp().mean() for point in z]
        ).log()
        assert torch.allclose(model.prior.log_prob(z), by_hand, atol=1e-5)


def test_its_samples_come_from_its_components():
    model = tiny().eval()
    with torch.no_grad():
        draws = model.prior.sample(20000, torch.Generator().manual_seed(0))
        mean, log_var = model.prior.components()
    mixture_mean = mean.mean(0)
    mixture_var = (log_var.exp() + mean.pow(2)).mean(0) - mixture_mean.pow(2)
    assert torch.allclose(draws.mean(0), mixture_mean, atol=4 * math.sqrt(mixture_var.max().item() / 20000))


def test_the_pseudo_inputs_are_trained_with_the_model():
    model = tiny().train()
    before = model.prior.pseudo_inputs.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss = sum(term.mean() for term in model.loss_per_image(torch.rand(8, 1, 28, 28)).values())
    loss.backward()
    optimizer.step()
    assert not torch.equal(before, model.prior.pseudo_inputs)


def test_the_prior_leaves_the_encoders_running_statistics_to_the_data():
    model = tiny().train()
    batch_norm = next(m for m in model.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = batch_norm.running_mean.clone()
    model.prior.log_prob(torch.zeros(3, 2))
    assert torch.equal(before, batch_norm.running_mean) and batch_norm.training


def test_results_md_sets_each_vampprior_vae_beside_the_vae_of_its_recipe():
    from latentlab.publish.prior_report import prior_pairs

    assert sorted((a.name, b.name) for a, b in prior_pairs()) == [
        ("vae-2d", "vampprior-2d"),
        ("vae-32d", "vampprior-32d"),
    ]


def test_a_2d_vampprior_run_draws_its_learned_prior_beside_n01(tmp_path):
    import numpy as np
    from PIL import Image

    from conftest import synthetic_digits
    from latentlab.core.data import DeviceSplit
    from latentlab.core.passes import encode_split
    from latentlab.publish.unconditional_gallery import LEARNED_PRIOR_FILE, write_learned_prior

    model = tiny().eval()
    images, labels = synthetic_digits(64, seed=4)
    test = DeviceSplit(torch.from_numpy(images), torch.from_numpy(labels).long(), torch.device("cpu"))
    write_learned_prior(
        model, "VampPrior VAE, 2-D latent", encode_split(model, test).numpy(), labels, test.classes, tmp_path
    )
    width, height = Image.open(tmp_path / LEARNED_PRIOR_FILE).size
    assert width > 3 * height and np.asarray(Image.open(tmp_path / LEARNED_PRIOR_FILE)).std() > 0
