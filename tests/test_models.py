"""The architecture of the reference design: block shapes and the encode/decode interface."""

import pytest
import torch

from conftest import TINY_WIDTHS
from latentlab import Autoencoder, VariationalAutoencoder
from latentlab.core.models import (
    ConvolutionalBlock,
    DenseBlock,
    DenseLayer,
    TransposeConvolutionalBlock,
    decoder_conv,
    encoder_conv,
)

SMALL = {**TINY_WIDTHS, "dense_layers": 2}  # two DenseLayers: the second sees the first's output


def test_convolutional_block_keeps_height_and_width():
    assert ConvolutionalBlock(1, 8)(torch.rand(3, 1, 28, 28)).shape == (3, 8, 28, 28)


def test_convolutional_block_is_conv_relu_batchnorm_in_that_order():
    kinds = [type(layer).__name__ for layer in ConvolutionalBlock(1, 8)]
    assert kinds == ["Conv2d", "ReLU", "BatchNorm2d"]


def test_dense_layer_appends_its_output_to_its_input():
    x = torch.rand(2, 5, 14, 14)
    y = DenseLayer(5, 3)(x)
    assert y.shape == (2, 8, 14, 14)
    assert torch.equal(y[:, :5], x)


def test_dense_block_channels_grow_by_growth_per_layer():
    block = DenseBlock(8, growth=4, layers=3)
    assert block.out_channels == 20
    assert block(torch.rand(2, 8, 14, 14)).shape == (2, 20, 14, 14)


def test_transpose_convolutional_block_doubles_height_and_width():
    block = TransposeConvolutionalBlock(8, 4)
    assert [type(layer).__name__ for layer in block] == ["ConvTranspose2d", "ReLU", "BatchNorm2d"]
    assert block(torch.rand(2, 8, 7, 7)).shape == (2, 4, 14, 14)


def test_encoder_maps_an_image_to_a_feature_vector():
    assert encoder_conv(4, 4, 2, 8)(torch.rand(2, 1, 28, 28)).shape == (2, 8 * 49)


def test_decoder_outputs_28_by_28_pixels_in_the_unit_interval():
    x_hat = decoder_conv(3, 16, decoder_blocks=1, upsample_channels=8)(torch.randn(4, 3) * 10)
    assert x_hat.shape == (4, 1, 28, 28)
    assert x_hat.min() >= 0 and x_hat.max() <= 1


@pytest.mark.parametrize("blocks", [0, 1, 3])
def test_decoder_has_the_requested_number_of_blocks_at_7_by_7_before_upsampling(blocks):
    decoder = decoder_conv(2, 16, decoder_blocks=blocks, upsample_channels=8)
    kept = [layer for layer in decoder if isinstance(layer, TransposeConvolutionalBlock) and layer[0].stride == (1, 1)]
    assert len(kept) == blocks
    assert decoder(torch.randn(3, 2)).shape == (3, 1, 28, 28)


@pytest.mark.parametrize("latent_dim", [2, 32])
def test_autoencoder_encode_decode_forward_shapes(latent_dim):
    model = Autoencoder(latent_dim, **SMALL)
    x = torch.rand(5, 1, 28, 28)
    assert model.encode(x).shape == (5, latent_dim)
    assert model.decode(torch.randn(5, latent_dim)).shape == (5, 1, 28, 28)
    assert model(x).shape == (5, 1, 28, 28)


@pytest.mark.parametrize("latent_dim", [2, 32])
def test_vae_forward_returns_reconstruction_mean_and_log_var(latent_dim):
    model = VariationalAutoencoder(latent_dim, **SMALL)
    x_hat, mean, log_var = model(torch.rand(5, 1, 28, 28))
    assert x_hat.shape == (5, 1, 28, 28)
    assert mean.shape == log_var.shape == (5, latent_dim)


def test_vae_has_linear_mean_and_log_var_layers():
    model = VariationalAutoencoder(4, **SMALL)
    assert isinstance(model.mean, torch.nn.Linear) and isinstance(model.log_var, torch.nn.Linear)
    assert model.mean.out_features == model.log_var.out_features == 4


def test_reparameterization_trick_has_the_posterior_mean_and_variance():
    torch.manual_seed(0)
    mean = torch.tensor([[1.5, -2.0]]).expand(200_000, 2)
    log_var = torch.tensor([[0.0, 2 * torch.log(torch.tensor(0.5))]]).expand(200_000, 2)
    z = VariationalAutoencoder.reparameterization_trick(mean, log_var)
    # Standard errors are about 0.003 (mean) and 0.004 (std): 0.02 is five of them and more.
    assert torch.allclose(z.mean(0), torch.tensor([1.5, -2.0]), atol=0.02)
    assert torch.allclose(z.std(0), torch.tensor([1.0, 0.5]), atol=0.02)


def test_reparameterization_trick_is_differentiable_in_mean_and_log_var():
    mean = torch.zeros(3, 2, requires_grad=True)
    log_var = torch.zeros(3, 2, requires_grad=True)
    VariationalAutoencoder.reparameterization_trick(mean, log_var).sum().backward()
    assert mean.grad is not None and log_var.grad is not None


def test_autoencoder_loss_is_the_squared_error_summed_over_pixels_averaged_over_the_batch_and_no_kl():
    model = Autoencoder(3, **SMALL).eval()
    x = torch.rand(6, 1, 28, 28)
    terms = model.loss(x)
    assert list(terms) == ["reconstruction"]  # no KL term, not a zero one
    assert torch.allclose(terms["reconstruction"], torch.nn.MSELoss(reduction="sum")(model(x), x) / 6)


def test_vae_loss_is_the_negative_elbo_terms_with_one_reparameterized_sample():
    model = VariationalAutoencoder(3, **SMALL).eval()
    x = torch.rand(6, 1, 28, 28)
    torch.manual_seed(0)
    reconstruction, kl = model.loss(x).values()
    torch.manual_seed(0)
    x_hat, mean, log_var = model(x)
    assert torch.allclose(reconstruction, ((x_hat - x) ** 2).sum() / 6)
    assert torch.allclose(kl, (-0.5 * (1 + log_var - mean**2 - log_var.exp())).sum() / 6)


def test_a_bernoulli_model_scores_its_reconstruction_with_cross_entropy():
    model = VariationalAutoencoder(3, likelihood="bernoulli", **SMALL).eval()
    x = torch.bernoulli(torch.full((4, 1, 28, 28), 0.5))
    torch.manual_seed(0)
    reconstruction = model.loss(x)["reconstruction"]
    torch.manual_seed(0)
    x_hat, _, _ = model(x)
    assert torch.allclose(reconstruction, torch.nn.BCELoss(reduction="sum")(x_hat, x) / 4)


def test_the_point_code_is_the_aes_z_and_the_vaes_posterior_mean():
    x = torch.rand(5, 1, 28, 28)
    ae, vae = Autoencoder(3, **SMALL).eval(), VariationalAutoencoder(3, **SMALL).eval()
    assert torch.equal(ae.code(x), ae.encode(x))
    assert torch.equal(vae.code(x), vae.encode(x)[0])


@torch.no_grad()
def test_the_point_loss_is_the_reconstruction_at_the_mean_plus_the_closed_form_kl_without_noise():
    from latentlab.core import losses
    from latentlab.core.distributions import kl_divergence

    x = torch.rand(5, 1, 28, 28)
    vae = VariationalAutoencoder(3, **SMALL).eval()
    first, second = vae.point_loss_per_image(x), vae.point_loss_per_image(x)
    mean, log_var = vae.encode(x)
    assert all(torch.equal(first[name], second[name]) for name in ("reconstruction", "kl"))  # no sample drawn
    assert torch.equal(first["reconstruction"], losses.squared_error_per_image(vae.decode(mean), x))
    assert torch.equal(first["kl"], kl_divergence(vae.posterior(x), vae.prior))


def _bernoulli_vae_and_batch():
    torch.manual_seed(0)
    model = VariationalAutoencoder(3, likelihood="bernoulli", **SMALL).eval()
    return model, torch.bernoulli(torch.full((4, 1, 28, 28), 0.3))


@torch.no_grad()
def test_the_one_sample_iwae_bound_is_the_elbo_in_expectation():
    model, x = _bernoulli_vae_and_batch()
    many = x.repeat(2000, 1, 1, 1)  # 2,000 independent one-sample bounds of each image
    torch.manual_seed(1)
    bound = -model.iwae_loss(many, k=1)[0]
    torch.manual_seed(2)
    reconstruction, kl = model.loss(many).values()  # the closed-form KL
    elbo = -(reconstruction + kl)
    torch.manual_seed(3)
    spread = torch.stack([-model.iwae_loss(x, k=1)[0] for _ in range(200)]).std() / 2000**0.5
    assert abs(bound - elbo) < 5 * spread + 1e-3


@torch.no_grad()
def test_the_iwae_bound_does_not_decrease_with_k():
    model, x = _bernoulli_vae_and_batch()
    torch.manual_seed(0)
    bounds = [-model.iwae_loss(x.repeat(50, 1, 1, 1), k)[0].item() for k in (1, 5, 50)]
    assert bounds[0] <= bounds[1] <= bounds[2]


def test_the_iwae_loss_sends_gradients_to_encoder_and_decoder():
    model, x = _bernoulli_vae_and_batch()
    model.train()
    model.iwae_loss(x, k=5)[0].backward()
    for part in (model.encoder, model.mean, model.log_var, model.decoder):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters() if p.requires_grad)
