"""Autoencoders (primer: "Autoencoders"): an encoder compresses an input to a latent code, a
decoder reconstructs the input from the code, and the loss is the reconstruction error.

- :func:`autoencoder`: fully connected encoder and decoder (Hinton & Salakhutdinov 2006).
- :func:`linear_autoencoder`: one linear map each way, no activation; trained with squared
  error it learns the subspace of principal component analysis (Baldi & Hornik 1989).
- :func:`conv_autoencoder`: stride-2 convolutions down, transposed convolutions up (the
  stacks of DCGAN, :mod:`zoo.models.layers`).
- :func:`vae` and :func:`conv_vae`: variational autoencoders (Kingma & Welling 2014): the
  encoder gives the mean and log-variance of a Gaussian posterior q(z|x), a code is drawn by
  the reparameterization z = μ + σ·ε, and the loss adds KL(q(z|x) ‖ N(0, I)) in closed form
  (:func:`kl_divergence`); new images are decoded from codes drawn from the prior.

A denoising autoencoder (Vincent et al. 2008) is any of these trained on corrupted inputs
against the clean ones: the corruption belongs to training (``task.noise=gaussian``,
``experiment=dae_digits``), not to the network. Models take images in the data's
normalization and give reconstructions in the images' own range, [0, 1] (sigmoid output), or
unbounded with ``output_activation="none"``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from zoo.config.values import is_positive_int
from zoo.errors import ZooError
from zoo.models.layers import (
    ACTIVATIONS,
    check_image_shape,
    check_norm,
    check_positive_ints,
    downsampling_convs,
    evaluating,
    halving_plan,
    image_example_input,
    make_activation,
    make_norm,
    upsampling_convs,
)
from zoo.registry import register_model

OUTPUT_ACTIVATIONS = ("sigmoid", "none")


class VAEOutput(NamedTuple):
    """What a variational autoencoder returns: the reconstruction of a sampled code and the
    posterior's parameters, each (B, latent_dim)."""

    reconstruction: torch.Tensor
    mean: torch.Tensor
    log_var: torch.Tensor


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per sample, in closed form (Kingma & Welling 2014,
    appendix B): ½ Σ_j (μ_j² + σ_j² - 1 - log σ_j²). (B, k) → (B,)."""
    return 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(dim=-1)


def _output_activation(name: str) -> nn.Module:
    if name not in OUTPUT_ACTIVATIONS:
        raise ZooError(
            f"output_activation must be one of {', '.join(OUTPUT_ACTIVATIONS)}, got {name!r}."
        )
    return nn.Sigmoid() if name == "sigmoid" else nn.Identity()


# an autoencoder reconstructs the size it was built for: a conv stack would give another size
_SIZE_HINT = " (build it with image_size and in_channels of the data)"


class Autoencoder(nn.Module):
    """An encoder to a ``latent_dim`` code and a decoder back to ``image_shape``.

    ``encode`` (B, C, H, W) → (B, k); ``decode`` (B, k) → (B, C, H, W); ``forward`` is the
    reconstruction, decode(encode(x)).
    """

    def __init__(
        self, encoder: nn.Module, decoder: nn.Module, latent_dim: int, image_shape: Sequence[int]
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_image_shape(x, "this autoencoder", self.image_shape, _SIZE_HINT)
        return self.encoder(x)  # (B, k)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(len(z), *self.image_shape)  # (B, C, H, W)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of ``x`` from its code (for a VAE, from the posterior mean)."""
        return self.decode(self.encode(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reconstruct(x)


class VariationalAutoencoder(Autoencoder):
    """An autoencoder whose encoder gives a Gaussian posterior: its last layer has
    2·``latent_dim`` outputs, the mean and the log-variance.

    ``forward`` draws one code per input by reparameterization and returns
    :class:`VAEOutput`; ``encode`` gives the posterior mean (the code to export or plot);
    ``sample`` decodes codes drawn from the prior N(0, I).
    """

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean and log-variance of q(z|x), each (B, k)."""
        check_image_shape(x, "this autoencoder", self.image_shape, _SIZE_HINT)
        mean, log_var = self.encoder(x).chunk(2, dim=-1)
        return mean, log_var

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def forward(self, x: torch.Tensor) -> VAEOutput:
        mean, log_var = self.posterior(x)  # (B, k) each
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()  # reparameterization
        return VAEOutput(self.decode(z), mean, log_var)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images decoded from codes drawn from the prior (on the CPU ``generator``),
        in eval mode (batch norm with its running statistics; the mode is restored after):
        in [0, 1] with the default sigmoid output, unbounded with ``output_activation="none"``."""
        if not is_positive_int(n):
            raise ZooError(f"the number of samples must be an integer >= 1, got {n!r}.")
        weight = next(self.parameters())
        z = torch.randn(n, self.latent_dim, generator=generator).to(weight)  # (n, k)
        with evaluating(self):
            return self.decode(z)


# -- fully connected ------------------------------------------------------------------------
def _mlp(
    sizes: Sequence[int],
    activation: str,
    final: nn.Module | None,
    norm: str = "none",
    dropout: float = 0.0,
) -> nn.Sequential:
    """Linear layers through ``sizes``; between them a ``norm`` layer, ``activation`` and
    dropout (each where asked for); ``final`` after."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i == len(sizes) - 2:
            continue
        if norm != "none":
            layers.append(make_norm(norm, n_out, spatial=False))
        if activation != "none":
            layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    if final is not None and not isinstance(final, nn.Identity):
        layers.append(final)
    return nn.Sequential(*layers)


def _mlp_autoencoder(
    name: str,
    cls: type[Autoencoder],
    *,
    in_channels: int,
    image_size: int,
    latent_dim: int,
    hidden_sizes: Sequence[int],
    activation: str,
    output_activation: str,
    norm: str = "none",
    dropout: float = 0.0,
) -> Autoencoder:
    # in_channels, latent_dim: checked before any builder (registry.COMMON_ARGUMENTS)
    check_positive_ints(name, image_size=image_size)
    norm = check_norm(norm)
    hidden = list(hidden_sizes)
    if not all(is_positive_int(h) for h in hidden):
        raise ZooError(f"model {name!r}: hidden_sizes must be integers >= 1, got {hidden}.")
    if activation != "none" and activation not in ACTIVATIONS:
        raise ZooError(
            f"model {name!r}: activation must be one of none, {', '.join(ACTIVATIONS)}, got "
            f"{activation!r}."
        )
    features = in_channels * image_size * image_size
    code = 2 * latent_dim if cls is VariationalAutoencoder else latent_dim
    encoder = nn.Sequential(
        nn.Flatten(), _mlp([features, *hidden, code], activation, None, norm, dropout)
    )
    output = _output_activation(output_activation)
    # dropout in the encoder only: a code decodes the same way in training and in use
    decoder = _mlp([latent_dim, *reversed(hidden), features], activation, output, norm)
    return cls(encoder, decoder, latent_dim, (in_channels, image_size, image_size))


def _register(paper: str, inapplicable: dict[str, str] | None = None):
    """Register an autoencoder builder (of 1×28×28 images by default)."""
    return register_model(
        family="autoencoder",
        tasks=("autoencoder",),
        default_input_size=(1, 28, 28),
        paper=paper,
        example_input=image_example_input,
        inapplicable=inapplicable,
    )


AE_PAPER = "Hinton & Salakhutdinov 2006, Reducing the dimensionality of data with neural networks"
VAE_PAPER = "Kingma & Welling 2014, Auto-Encoding Variational Bayes"


@_register(AE_PAPER)
def autoencoder(
    *,
    in_channels: int = 1,
    image_size: int = 28,
    latent_dim: int = 32,
    hidden_sizes: Sequence[int] = (256,),
    activation: str = "relu",
    output_activation: str = "sigmoid",
    norm: str = "none",
    dropout: float = 0.0,
) -> Autoencoder:
    """A fully connected autoencoder: flattened images → ``hidden_sizes`` → ``latent_dim``
    → the hidden sizes reversed → images. Each hidden layer is Linear → ``norm`` (none,
    batch or layer) → ``activation``, and in the encoder → dropout."""
    return _mlp_autoencoder("autoencoder", Autoencoder, **locals())


@_register(
    "Baldi & Hornik 1989, Neural networks and principal component analysis",
    inapplicable=dict.fromkeys(
        ("norm", "dropout", "activation"),
        "a linear autoencoder is one affine map each way by definition (its optimum is PCA's "
        "subspace, Baldi & Hornik 1989); model=autoencoder has hidden layers that take it.",
    ),
)
def linear_autoencoder(
    *, in_channels: int = 1, image_size: int = 28, latent_dim: int = 8
) -> Autoencoder:
    """One affine map to ``latent_dim`` codes and one back, no activation anywhere: trained
    with squared error, its reconstructions are the projections onto the top ``latent_dim``
    principal components (Baldi & Hornik 1989)."""
    return _mlp_autoencoder(
        "linear_autoencoder",
        Autoencoder,
        **locals(),
        hidden_sizes=(),
        activation="none",
        output_activation="none",
    )


@_register(VAE_PAPER)
def vae(
    *,
    in_channels: int = 1,
    image_size: int = 28,
    latent_dim: int = 20,
    hidden_sizes: Sequence[int] = (400,),
    activation: str = "relu",
    output_activation: str = "sigmoid",
    norm: str = "none",
    dropout: float = 0.0,
) -> VariationalAutoencoder:
    """The fully connected VAE of Kingma & Welling (2014) (ReLU rather than tanh hidden
    units): images → ``hidden_sizes`` → (μ, log σ²) of ``latent_dim`` → images."""
    return _mlp_autoencoder("vae", VariationalAutoencoder, **locals())  # type: ignore[return-value]


# -- convolutional --------------------------------------------------------------------------
def _conv_autoencoder(
    name: str,
    cls: type[Autoencoder],
    *,
    in_channels: int,
    image_size: int,
    latent_dim: int,
    width: int,
    output_activation: str,
    norm: str = "batch",
    activation: str | None = None,
    dropout: float = 0.0,
) -> Autoencoder:
    # in_channels, latent_dim: checked before any builder (registry.COMMON_ARGUMENTS)
    check_positive_ints(name, width=width)
    halvings, base = halving_plan(image_size, name)
    norm = check_norm(norm)
    if activation is None:  # DCGAN's: LeakyReLU 0.2 down, ReLU up
        down, up = (lambda: nn.LeakyReLU(0.2, inplace=True)), ACTIVATIONS["relu"]
    else:
        make_activation(activation)  # refuses an unknown name
        down = up = ACTIVATIONS[activation]
    convs, channels = downsampling_convs(
        in_channels, width, halvings, activation=down, norm=norm, dropout=dropout
    )
    code = 2 * latent_dim if cls is VariationalAutoencoder else latent_dim
    encoder = nn.Sequential(convs, nn.Flatten(), nn.Linear(channels * base * base, code))
    decoder = nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),  # (B, k) → (B, k, 1, 1)
        upsampling_convs(latent_dim, in_channels, width, halvings, base, activation=up, norm=norm),
        _output_activation(output_activation),
    )
    return cls(encoder, decoder, latent_dim, (in_channels, image_size, image_size))


@_register(AE_PAPER + "; the convolution stacks of Radford et al. 2016 (DCGAN)")
def conv_autoencoder(
    *,
    in_channels: int = 1,
    image_size: int = 28,
    latent_dim: int = 32,
    width: int = 32,
    output_activation: str = "sigmoid",
    norm: str = "batch",
    activation: str | None = None,
    dropout: float = 0.0,
) -> Autoencoder:
    """A convolutional autoencoder: stride-2 4×4 convolutions (batch norm, LeakyReLU 0.2)
    from ``width`` channels, doubling, down to 3–7 pixels, a linear map to ``latent_dim``;
    the decoder mirrors it with transposed convolutions (batch norm, ReLU).

    ``norm``: batch (default), layer (``GroupNorm(1, C)``: each map normalized over all its
    units, as for the ResNets) or none. ``activation``: one for both stacks instead of
    DCGAN's LeakyReLU-down, ReLU-up. ``dropout``: after each activation of the encoder (the
    decoder is left whole, so that a code decodes the same way in training and in use)."""
    return _conv_autoencoder("conv_autoencoder", Autoencoder, **locals())


@_register(VAE_PAPER)
def conv_vae(
    *,
    in_channels: int = 1,
    image_size: int = 28,
    latent_dim: int = 20,
    width: int = 32,
    output_activation: str = "sigmoid",
    norm: str = "batch",
    activation: str | None = None,
    dropout: float = 0.0,
) -> VariationalAutoencoder:
    """A VAE with the convolutional encoder and decoder of :func:`conv_autoencoder`."""
    return _conv_autoencoder("conv_vae", VariationalAutoencoder, **locals())  # type: ignore[return-value]
