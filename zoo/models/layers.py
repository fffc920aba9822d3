"""Small factories shared by the model files: activations and normalization layers.

Primer: "Activation Functions" and "Regularization Methods" (batch and layer normalization).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn

from zoo.config.sections import DROPOUT
from zoo.config.values import is_int, is_positive_int
from zoo.errors import ZooError

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=True),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}

NORMS = ("none", "batch", "layer")

#: the real length of each sequence of a padded batch (B,), or None when none is padded
Lengths = torch.Tensor | Sequence[int] | None


@contextlib.contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode inside the block (batch norm with its running statistics,
    which the block then leaves untouched; no dropout), each submodule's own mode restored
    after, even when the block raises."""
    modes = [(submodule, submodule.training) for submodule in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for submodule, training in modes:
            submodule.training = training


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name: relu, leaky_relu (α=0.01), sigmoid, tanh or gelu."""
    if name not in ACTIVATIONS:
        raise ZooError(f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}.")
    return ACTIVATIONS[name]()


def check_norm(norm: str | None) -> str:
    """Normalize ``None`` to ``"none"`` and refuse unknown normalization names."""
    norm = "none" if norm is None else norm
    if norm not in NORMS:
        raise ZooError(f"unknown norm {norm!r}; allowed: {', '.join(NORMS)}.")
    return norm


def make_norm(norm: str | None, num_features: int, *, spatial: bool) -> nn.Module:
    """A normalization layer for ``num_features`` channels (``spatial``) or features.

    ``"layer"`` on feature maps is ``GroupNorm(1, C)``: layer normalization over (C, H, W).
    ``"none"`` gives ``nn.Identity`` so layer lists keep one shape.
    """
    norm = check_norm(norm)
    if norm == "batch":
        return nn.BatchNorm2d(num_features) if spatial else nn.BatchNorm1d(num_features)
    if norm == "layer":
        return nn.GroupNorm(1, num_features) if spatial else nn.LayerNorm(num_features)
    return nn.Identity()


class Classifier(nn.Module):
    """The interface every zoo classifier shares (as timm's): ``forward_features`` maps
    inputs to features, ``forward_head`` maps features to logits, and ``forward`` is the two
    in turn; ``reset_classifier`` replaces the head, ``num_features`` is its input width."""

    num_features: int

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialized one for ``num_classes`` outputs, in
        the dtype and on the device of the model (:meth:`like_model`)."""
        raise NotImplementedError

    def like_model(self, module: nn.Module) -> nn.Module:
        """``module`` (a new head) in the dtype and on the device of this model's
        parameters, which may have moved since it was built (``model.to(torch.bfloat16)``)."""
        return module.to(next(self.parameters()))


def check_sizes(name: str, num_classes: int, in_channels: int) -> None:
    """Refuse a class or input-channel count below 1."""
    if num_classes < 1 or in_channels < 1:
        raise ZooError(
            f"{name} needs num_classes >= 1 and in_channels >= 1, got "
            f"num_classes={num_classes}, in_channels={in_channels}."
        )


def check_input_size(x: torch.Tensor, minimum: int, name: str) -> None:
    """Refuse images smaller than ``minimum`` pixels on a side, naming the minimum."""
    height, width = x.shape[-2:]
    if min(height, width) < minimum:
        raise ZooError(
            f"{name} needs images of at least {minimum}x{minimum} pixels, got {height}x{width}."
        )


def check_image_shape(x: torch.Tensor, name: str, shape: tuple[int, ...], hint: str = "") -> None:
    """Refuse a batch that is not ``(N, *shape)`` (a model built for one image size, such as
    LeNet-5's fully connected layers or an autoencoder's output), naming both shapes. A batch
    of the right size with other channels (RGB images into a model built for grayscale) is
    told how to build the model for them; ``hint`` says how to build it for another size."""
    if x.shape[1:] == shape:
        return
    expected = ", ".join(map(str, ("N", *shape)))
    if x.dim() == len(shape) + 1 and x.shape[2:] == shape[1:]:
        channels = x.shape[1]
        hint = (
            f": the model takes {shape[0]}-channel images (in_channels={shape[0]}), the batch "
            f"has {channels} channels; build it with in_channels={channels}, or convert the "
            f"images to {shape[0]} channel{'s' if shape[0] != 1 else ''}"
        )
    raise ZooError(f"{name} takes batches of shape ({expected}), got {tuple(x.shape)}{hint}.")


def check_positive_ints(name: str, **values: object) -> None:
    """Refuse any of ``values`` that is not an integer >= 1, naming model ``name``."""
    for key, value in values.items():
        if not is_positive_int(value):
            raise ZooError(f"model {name!r}: {key} must be an integer >= 1, got {value!r}.")


def check_dropout(p: float, key: str = "dropout") -> float:
    """Refuse a dropout probability outside [0, 1) (the range zoo.config.sections.DROPOUT
    defines for every check of it); the refusal names the argument ``key``."""
    valid, allowed = DROPOUT
    if not valid(p):
        raise ZooError(f"{key} must be {allowed}, got {p!r}.")
    return float(p)


# The default example of the sequence models (recurrent, Transformer encoder): 8 steps of 8
# features, the digits read row by row.
SEQUENCE_STEPS, SEQUENCE_FEATURES = 8, 8


def sequence_example_input(
    batch_size: int = 1,
    *,
    size: int | None = None,
    generator: torch.Generator | None = None,
    **kwargs: object,
) -> torch.Tensor:
    """A batch of ``size`` (default 8) steps: standard-normal (B, T, input_size) floats, or
    token ids (B, T) below ``vocab_size`` when the kwargs give one."""
    steps = size or SEQUENCE_STEPS
    vocab_size = kwargs.get("vocab_size")
    if vocab_size is not None:
        return torch.randint(0, int(vocab_size), (batch_size, steps), generator=generator)
    input_size = kwargs.get("input_size") or SEQUENCE_FEATURES
    return torch.randn(batch_size, steps, int(input_size), generator=generator)


def check_token_ids(ids: torch.Tensor, vocab_size: int, name: str) -> None:
    """Refuse token ids outside [0, vocab_size) with one message (an embedding would raise an
    IndexError). Checked on the CPU only: on an accelerator the check would wait for it."""
    if ids.device.type == "cpu" and ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ZooError(
            f"{name} with vocab_size={vocab_size} takes token ids in [0, {vocab_size - 1}], got "
            f"ids from {int(ids.min())} to {int(ids.max())}."
        )


def check_lengths(x: torch.Tensor, lengths: object) -> torch.Tensor | None:
    """The real ``lengths`` (B,) of a padded batch ``x`` (B, T, ...) as a tensor on ``x``'s
    device, or None; anything but one integer in [1, T] per sequence is refused."""
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths, device=x.device)
    batch, steps = x.shape[:2]
    if (
        lengths.shape != (batch,)
        or lengths.is_floating_point()
        or bool((lengths < 1).any())
        or bool((lengths > steps).any())
    ):
        raise ZooError(
            f"lengths must be {batch} integers in [1, {steps}] (one per sequence of the "
            f"batch), got {lengths.tolist()}."
        )
    return lengths


# -- image-to-code and code-to-image convolution stacks (autoencoders, DCGAN) ---------------
def halving_plan(image_size: int, name: str) -> tuple[int, int]:
    """(halvings, base): ``image_size = base · 2**halvings`` with ``base`` in [3, 7] and at
    least one halving, as the stride-2 stacks of DCGAN (Radford et al. 2016) need: 32 is 4·2³,
    28 is 7·2², 64 is 4·2⁴."""
    if not (is_int(image_size) and image_size >= 6):
        raise ZooError(f"{name}: image_size must be an integer >= 6, got {image_size!r}.")
    size, halvings = image_size, 0
    while (size > 7 or halvings == 0) and size % 2 == 0 and size // 2 >= 3:  # 6: 3·2
        size, halvings = size // 2, halvings + 1
    if halvings == 0 or not 3 <= size <= 7:
        raise ZooError(
            f"{name}: image_size must be 3 to 7 times a power of two (such as 28, 32 or 64), "
            f"got {image_size}."
        )
    return halvings, size


def downsampling_convs(
    in_channels: int,
    width: int,
    halvings: int,
    *,
    activation: Callable[[], nn.Module],
    norm: str = "batch",
    dropout: float = 0.0,
) -> tuple[nn.Sequential, int]:
    """``halvings`` stride-2 4×4 convolutions, doubling the channels from ``width``, each
    followed by a ``norm`` layer (not on the first, which sees the images, as in DCGAN),
    ``activation()`` and, when ``dropout`` > 0, dropout. No convolution that a norm layer
    follows has a bias, as in the DCGAN reference implementation (pytorch/examples); neither
    has the first. Returns the stack and its output channels."""
    layers: list[nn.Module] = []
    channels = in_channels
    for i in range(halvings):
        out = width * 2**i
        normed = i > 0 and norm != "none"
        layers.append(nn.Conv2d(channels, out, 4, stride=2, padding=1, bias=i > 0 and not normed))
        if normed:
            layers.append(make_norm(norm, out, spatial=True))
        layers.append(activation())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        channels = out
    return nn.Sequential(*layers), channels


def upsampling_convs(
    code_channels: int,
    out_channels: int,
    width: int,
    halvings: int,
    base: int,
    *,
    activation: Callable[[], nn.Module] = ACTIVATIONS["relu"],
    norm: str = "batch",
) -> nn.Sequential:
    """A (B, code_channels, 1, 1) code to (B, out_channels, base·2**halvings, ...) images: a
    ``base``×``base`` transposed convolution, then ``halvings`` stride-2 4×4 transposed
    convolutions halving the channels down to ``width``, each but the last followed by a
    ``norm`` layer (batch norm) and ``activation()`` (ReLU): the DCGAN generator. The output
    activation is the caller's."""
    bias = norm == "none"
    channels = width * 2 ** (halvings - 1)
    layers: list[nn.Module] = [nn.ConvTranspose2d(code_channels, channels, base, bias=bias)]
    layers += _norm_and(norm, channels, activation)
    for i in reversed(range(halvings)):
        last = i == 0
        out = out_channels if last else width * 2 ** (i - 1)
        layers.append(
            nn.ConvTranspose2d(channels, out, 4, stride=2, padding=1, bias=bias and not last)
        )
        if not last:
            layers += _norm_and(norm, out, activation)
        channels = out
    return nn.Sequential(*layers)


def _norm_and(norm: str, channels: int, activation: Callable[[], nn.Module]) -> list[nn.Module]:
    """A norm layer (none for ``"none"``) and the activation."""
    return [*([make_norm(norm, channels, spatial=True)] * (norm != "none")), activation()]


def image_example_input(
    batch_size: int = 1,
    *,
    size: int | None = None,
    generator: torch.Generator | None = None,
    **kwargs: object,
) -> torch.Tensor:
    """Images in [0, 1] of ``in_channels`` × ``image_size`` (or ``size``) pixels: what the
    autoencoders reconstruct."""
    side = int(size or kwargs.get("image_size") or 28)
    channels = int(kwargs.get("in_channels") or 1)
    return torch.rand(batch_size, channels, side, side, generator=generator)
