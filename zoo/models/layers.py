"""Small factories shared by the model files: activations and normalization layers.

Primer: "Activation Functions" and "Regularization Methods" (batch and layer normalization).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from zoo.errors import ZooError

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=True),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}

NORMS = ("none", "batch", "layer")


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
        raise NotImplementedError


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


def check_dropout(p: float) -> float:
    """Refuse a dropout probability outside [0, 1)."""
    if not 0.0 <= p < 1.0:
        raise ZooError(f"dropout must be in [0, 1), got {p!r}.")
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
