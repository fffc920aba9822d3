"""What is specific to the GANs (zoo/models/gan.py): DCGAN's layout against the reference
implementation of pytorch/examples (dcgan/main.py, written out here from that example), its
initialization (Radford et al. 2016: N(0, 0.02) weights, batch-norm scales N(1, 0.02)), and
the MLP GAN's output range."""

from __future__ import annotations

import pytest
import torch
from conftest import named
from torch import nn

from zoo import ZooError, create_model


def reference_dcgan(nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 3):
    """The 64-pixel generator and discriminator of pytorch/examples' dcgan/main.py (its
    discriminator's final Sigmoid left out: zoo's gives logits)."""
    generator = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
    )
    return generator, discriminator


def leaf_layers(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if not list(m.children())]


def describe(layer: nn.Module) -> tuple:
    """A layer's type and hyperparameters, without its weights' values."""
    if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
        return (
            type(layer).__name__,
            layer.in_channels,
            layer.out_channels,
            layer.kernel_size,
            layer.stride,
            layer.padding,
            layer.bias is not None,
        )
    if isinstance(layer, nn.BatchNorm2d):
        return ("BatchNorm2d", layer.num_features)
    if isinstance(layer, nn.LeakyReLU):
        return ("LeakyReLU", layer.negative_slope)
    return (type(layer).__name__,)


def test_dcgan_at_64_pixels_is_the_reference_network():
    model = create_model("dcgan", in_channels=3, image_size=64, latent_dim=100, width=64)
    generator, discriminator = reference_dcgan()
    ours_g = [describe(m) for m in leaf_layers(model.generator) if not isinstance(m, nn.Unflatten)]
    ours_d = [
        describe(m) for m in leaf_layers(model.discriminator) if not isinstance(m, nn.Flatten)
    ]
    assert ours_g == [describe(m) for m in leaf_layers(generator)]
    assert ours_d == [describe(m) for m in leaf_layers(discriminator)]
    count = sum(p.numel() for p in model.parameters())
    assert count == sum(p.numel() for p in [*generator.parameters(), *discriminator.parameters()])
    # the same weights give the same images
    generator.load_state_dict(model.generator[1].state_dict())
    z = torch.randn(2, 100)
    model.eval(), generator.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(z), generator(z[:, :, None, None]))


def test_dcgan_initialization_follows_the_paper():
    torch.manual_seed(0)
    model = create_model("dcgan", image_size=64, width=64)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert abs(weights.mean()) < 1e-3 and abs(weights.std() - 0.02) < 1e-3
    scales = torch.cat([m.weight for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(scales.mean() - 1) < 2e-3 and abs(scales.std() - 0.02) < 2e-3
    shifts = torch.cat([m.bias for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    assert torch.equal(shifts, torch.zeros_like(shifts))


def test_the_mlp_gan_generates_tanh_pixels_and_one_logit():
    model = create_model("gan", image_size=28, latent_dim=16).eval()
    images = model(torch.randn(5, 16))
    assert images.shape == (5, 1, 28, 28) and images.abs().max() <= 1
    assert model.discriminate(images).shape == (5,)
    assert [type(m) for m in model.discriminator if isinstance(m, nn.LeakyReLU)]
    assert all(m.negative_slope == 0.2 for m in model.modules() if isinstance(m, nn.LeakyReLU))


def test_bad_layer_sizes_name_the_value():
    with pytest.raises(ZooError, match=named("'gan'", "generator_sizes", ">= 1", "[64, True]")):
        create_model("gan", generator_sizes=(64, True))


@pytest.mark.parametrize("name", ["gan", "dcgan"])
def test_noise_and_samples_follow_the_models_dtype(name):
    model = create_model(name, image_size=8, latent_dim=2).to(torch.bfloat16)
    assert model.noise(2).dtype == torch.bfloat16
    assert model.sample(2, generator=torch.Generator().manual_seed(0)).dtype == torch.bfloat16
