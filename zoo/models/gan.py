"""Generative adversarial networks (primer: "Generative Adversarial Networks"): a generator
makes images from noise, a discriminator tells real images from generated ones, and the two
are trained in turn (:mod:`zoo.tasks.gan`).

- :func:`gan`: fully connected networks (Goodfellow et al. 2014; ReLU generator, LeakyReLU
  and dropout in the discriminator where the paper used maxout).
- :func:`dcgan`: Radford et al. 2016: strided convolutions in the discriminator, transposed
  convolutions in the generator, batch norm in both (not on the generator's output or the
  discriminator's input), ReLU in the generator and LeakyReLU 0.2 in the discriminator, a
  Tanh output, weights drawn from N(0, 0.02) and batch-norm scales from N(1, 0.02).

A :class:`GAN` holds both networks: ``forward(z)`` is the generator, (B, latent_dim) noise to
(B, C, H, W) images in [-1, 1]; ``discriminate(images)`` gives one logit per image, (B,)
(the ``discriminator`` network itself gives (B, 1)).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from zoo.config.values import is_positive_int
from zoo.errors import ZooError
from zoo.models.layers import (
    check_positive_ints,
    downsampling_convs,
    evaluating,
    halving_plan,
    upsampling_convs,
)
from zoo.registry import register_model

DCGAN_GUIDELINES = (
    "DCGAN's architecture guidelines (Radford et al. 2016, section 3) fix it: batch norm in "
    "both networks, ReLU in the generator, LeakyReLU 0.2 in the discriminator, no dropout."
)


class GAN(nn.Module):
    """A generator and a discriminator over images of ``image_shape`` (C, H, W)."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        latent_dim: int,
        image_shape: Sequence[int],
    ) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] generated from noise: (B, k) → (B, C, H, W)."""
        return self.generator(z).view(len(z), *self.image_shape)

    def discriminate(self, images: torch.Tensor) -> torch.Tensor:
        """The discriminator's logit that each image is real: (B, C, H, W) → (B,)."""
        return self.discriminator(images).view(len(images))

    def noise(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` codes from the prior N(0, I) on the model's device and in its dtype, (n, k);
        drawn on the CPU when a ``generator`` is given, so a seed gives the same codes on
        every device."""
        if not is_positive_int(n):
            raise ZooError(f"the number of codes must be an integer >= 1, got {n!r}.")
        weight = next(self.parameters())
        if generator is None:
            return torch.randn(n, self.latent_dim, device=weight.device, dtype=weight.dtype)
        return torch.randn(n, self.latent_dim, generator=generator).to(weight)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` generated images scaled to [0, 1], made in eval mode (batch norm with its
        running statistics, which sampling leaves untouched); the mode is restored after."""
        with evaluating(self):
            return (self(self.noise(n, generator=generator)) + 1.0) / 2.0


def _noise_example_input(
    batch_size: int = 1,
    *,
    size: int | None = None,
    generator: torch.Generator | None = None,
    **kwargs: object,
) -> torch.Tensor:
    """Noise codes (B, latent_dim): what a GAN's forward (its generator) takes."""
    return torch.randn(batch_size, int(kwargs.get("latent_dim") or 100), generator=generator)


@register_model(
    family="gan",
    tasks=("gan",),
    default_input_size=(1, 28, 28),
    paper="Goodfellow et al. 2014, Generative Adversarial Nets",
    example_input=_noise_example_input,
    inapplicable={
        "norm": "the fully connected GAN is Goodfellow et al.'s, with no norm layer; batch norm "
        "in both networks is DCGAN's design (model=dcgan).",
        "activation": "the GAN's activations are fixed (ReLU generator, LeakyReLU 0.2 "
        "discriminator, Tanh images), the choices that keep its adversarial training stable.",
    },
)
def gan(
    *,
    in_channels: int = 1,
    image_size: int = 28,
    latent_dim: int = 100,
    generator_sizes: Sequence[int] = (256, 512),
    discriminator_sizes: Sequence[int] = (512, 256),
    dropout: float = 0.3,
) -> GAN:
    """Fully connected GAN: the generator maps noise through ``generator_sizes`` (ReLU) to
    Tanh pixels; the discriminator maps flattened images through ``discriminator_sizes``
    (LeakyReLU 0.2, dropout) to one logit."""
    # in_channels, latent_dim: checked before any builder (registry.COMMON_ARGUMENTS)
    check_positive_ints("gan", image_size=image_size)
    for key, sizes in (
        ("generator_sizes", generator_sizes),
        ("discriminator_sizes", discriminator_sizes),
    ):
        if not all(is_positive_int(s) for s in sizes):
            raise ZooError(f"model 'gan': {key} must be integers >= 1, got {list(sizes)}.")
    pixels = in_channels * image_size * image_size
    g_layers: list[nn.Module] = []
    width = latent_dim
    for size in generator_sizes:
        g_layers += [nn.Linear(width, size), nn.ReLU(inplace=True)]
        width = size
    g_layers += [nn.Linear(width, pixels), nn.Tanh()]
    d_layers: list[nn.Module] = [nn.Flatten()]
    width = pixels
    for size in discriminator_sizes:
        d_layers += [nn.Linear(width, size), nn.LeakyReLU(0.2, inplace=True), nn.Dropout(dropout)]
        width = size
    d_layers.append(nn.Linear(width, 1))
    return GAN(
        nn.Sequential(*g_layers),
        nn.Sequential(*d_layers),
        latent_dim,
        (in_channels, image_size, image_size),
    )


def dcgan_init_(module: nn.Module) -> None:
    """DCGAN's initialization (Radford et al. 2016, section 4): convolution weights from
    N(0, 0.02); batch-norm scales from N(1, 0.02) and shifts 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


@register_model(
    family="gan",
    tasks=("gan",),
    default_input_size=(1, 28, 28),
    paper="Radford, Metz & Chintala 2016, Unsupervised representation learning with deep "
    "convolutional generative adversarial networks",
    example_input=_noise_example_input,
    inapplicable=dict.fromkeys(("norm", "dropout", "activation"), DCGAN_GUIDELINES),
)
def dcgan(
    *, in_channels: int = 1, image_size: int = 28, latent_dim: int = 100, width: int = 64
) -> GAN:
    """DCGAN for images of 3–7 times a power of two pixels (28, 32, 64): the generator
    projects noise to ``base``×``base`` maps of 2^(n-1)·``width`` channels and doubles the
    size n times, halving the channels; the discriminator mirrors it with stride-2
    convolutions and ends in one ``base``×``base`` convolution to a logit. With
    ``image_size=64, width=64`` it is the paper's 64-pixel network."""
    # in_channels, latent_dim: checked before any builder (registry.COMMON_ARGUMENTS)
    check_positive_ints("dcgan", width=width)
    halvings, base = halving_plan(image_size, "dcgan")
    generator = nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),  # (B, k) → (B, k, 1, 1)
        upsampling_convs(latent_dim, in_channels, width, halvings, base),
        nn.Tanh(),
    )
    convs, channels = downsampling_convs(
        in_channels, width, halvings, activation=lambda: nn.LeakyReLU(0.2, inplace=True)
    )
    discriminator = nn.Sequential(convs, nn.Conv2d(channels, 1, base, bias=False), nn.Flatten())
    model = GAN(generator, discriminator, latent_dim, (in_channels, image_size, image_size))
    dcgan_init_(model)
    return model
