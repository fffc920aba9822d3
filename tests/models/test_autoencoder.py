"""What is specific to the autoencoders (zoo/models/autoencoder.py): the KL term against
torch.distributions, the reparameterization, the linear autoencoder's layout, and the
convolution stacks' sizes. The contract test covers shapes, gradients and the round trip."""

from __future__ import annotations

import pytest
import torch
from conftest import named
from torch import distributions, nn

from zoo import ZooError, create_model
from zoo.models.autoencoder import kl_divergence


def test_kl_term_matches_the_closed_form_of_torch_distributions():
    """KL(N(μ, σ²) ‖ N(0, 1)) summed over the code, for known means and variances, against
    torch.distributions' own closed form, and two values worked by hand."""
    mean = torch.tensor([[0.0, 0.0], [1.0, -2.0], [0.5, 0.3]])
    variance = torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.25, 4.0]])
    expected = distributions.kl_divergence(
        distributions.Normal(mean, variance.sqrt()), distributions.Normal(0.0, 1.0)
    ).sum(dim=-1)
    got = kl_divergence(mean, variance.log())
    torch.testing.assert_close(got, expected)
    assert got[0] == 0  # the posterior is the prior
    assert got[1] == pytest.approx(0.5 * (1 + 4))  # unit variances: ½‖μ‖²


def test_the_code_is_drawn_by_reparameterization():
    """z = μ + σ·ε with ε ~ N(0, I) drawn from the global random state: the decoded code is
    recomputable from the posterior and the same ε."""
    model = create_model("vae", image_size=8, latent_dim=3, hidden_sizes=[16]).train()
    x = torch.rand(4, 1, 8, 8)
    torch.manual_seed(0)
    output = model(x)
    torch.manual_seed(0)
    epsilon = torch.randn(4, 3)
    z = output.mean + epsilon * (0.5 * output.log_var).exp()
    torch.testing.assert_close(output.reconstruction, model.decode(z))
    torch.testing.assert_close(model.encode(x), output.mean)  # the code to export: the mean


def test_the_linear_autoencoder_is_two_affine_maps():
    model = create_model("linear_autoencoder", image_size=8, latent_dim=5)
    layers = [m for m in model.modules() if not isinstance(m, nn.Sequential | nn.Flatten)][1:]
    assert [type(m) for m in layers] == [nn.Linear, nn.Linear]
    assert (layers[0].in_features, layers[0].out_features) == (64, 5)
    assert (layers[1].in_features, layers[1].out_features) == (5, 64)


@pytest.mark.parametrize(
    ("size", "maps"), [(6, [3]), (28, [14, 7]), (32, [16, 8, 4]), (64, [32, 16, 8, 4])]
)
def test_the_convolutional_encoder_halves_down_to_3_to_7_pixels(size, maps):
    model = create_model("conv_autoencoder", image_size=size, width=4, latent_dim=2)
    sizes, x = [], torch.rand(1, 1, size, size)
    for layer in model.encoder[0]:
        x = layer(x)
        if isinstance(layer, nn.Conv2d):
            sizes.append(x.shape[-1])
    assert sizes == maps


@pytest.mark.parametrize(("size", "allowed"), [(30, "32"), (100, "64"), (5, ">= 6"), (8.5, ">= 6")])
def test_sizes_the_stacks_cannot_make_are_refused(size, allowed):
    with pytest.raises(ZooError, match=named("image_size", allowed, str(size))):
        create_model("conv_autoencoder", image_size=size)


@pytest.mark.parametrize(
    ("name", "kwargs", "fragments"),
    [
        ("autoencoder", {"hidden_sizes": (True,)}, ("hidden_sizes", ">= 1", "[True]")),
        ("vae", {"activation": "swish"}, ("activation", "none", "relu", "'swish'")),
    ],
)
def test_bad_layer_sizes_and_activations_name_the_value(name, kwargs, fragments):
    with pytest.raises(ZooError, match=named(f"'{name}'", *fragments)):
        create_model(name, **kwargs)


@pytest.mark.parametrize("name", ["vae", "conv_vae"])
def test_sampling_follows_the_models_dtype(name):
    model = create_model(name, image_size=8, latent_dim=2).to(torch.bfloat16)
    assert model.sample(2, generator=torch.Generator().manual_seed(0)).dtype == torch.bfloat16


@pytest.mark.parametrize(("name", "size"), [("vae", 32), ("conv_autoencoder", 30)])
def test_an_image_of_another_size_is_refused_not_resized(name, size):
    """A conv stack built for 28 pixels gave 28-pixel reconstructions of 30-pixel inputs."""
    with pytest.raises(ZooError, match=named("(N, 1, 28, 28)", f"(2, 1, {size}, {size})")):
        create_model(name)(torch.zeros(2, 1, size, size))


def test_a_sample_count_below_1_is_refused():
    with pytest.raises(ZooError, match=named("samples", ">= 1", "-1")):
        create_model("vae").sample(-1)


@pytest.mark.parametrize("name", ["conv_autoencoder", "conv_vae"])
def test_conv_autoencoder_options_reach_both_stacks(name):
    """norm=layer replaces every batch norm by GroupNorm(1, C), one activation serves both
    stacks, and dropout goes into the encoder only."""
    default = create_model(name)
    batch_norms = sum(isinstance(m, nn.BatchNorm2d) for m in default.modules())
    model = create_model(name, norm="layer", activation="tanh", dropout=0.2)
    groups = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
    assert len(groups) == batch_norms and all(m.num_groups == 1 for m in groups)
    assert not any(isinstance(m, nn.BatchNorm2d | nn.ReLU | nn.LeakyReLU) for m in model.modules())
    assert any(isinstance(m, nn.Dropout) for m in model.encoder.modules())
    assert not any(isinstance(m, nn.Dropout) for m in model.decoder.modules())
    x = torch.rand(2, 1, 28, 28)
    out = model(x)
    assert (out[0] if isinstance(out, tuple) else out).shape == x.shape
