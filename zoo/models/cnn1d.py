"""One-dimensional convolutional networks over series and sequences (primer: "Convolutional
Neural Networks", the convolution along one axis).

Each block is ``Conv1d → norm → activation → dropout``; the head is one ``Linear`` on the
last block's maps, flattened (``pool="flatten"``: a fixed ``input_length``) or pooled over
the steps (``"mean"``, ``"max"``: any length). A layer of kernel k, stride s and padding p
maps L steps to ⌊(L + 2p - k) / s⌋ + 1 (:func:`conv_output_length`).

The default is the CNN of the MNIST-1D paper (Greydanus 2020, "Scaling down deep learning",
the ``ConvBase`` of its reference code): three convolutions of 25 channels, kernels 5, 3 and
3, stride 2, padding 1, each followed by a ReLU, then a linear layer on the flattened maps;
on 40 steps the maps are 19, 10 and 5 steps long, 25·5 = 125 features, 5,210 parameters for
10 classes.

Inputs are sequences ``(B, T, C)``, as the recurrent models read them (the convolutions run
on ``(B, C, T)``), or vectors ``(B, D)``, read as one-channel series of D steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from zoo.config.values import is_int
from zoo.errors import ZooError
from zoo.models.layers import (
    Classifier,
    check_norm,
    check_positive_ints,
    make_activation,
)
from zoo.registry import register_model

POOLS = ("flatten", "mean", "max")
# The MNIST-1D paper's CNN and its series' length.
PAPER_CHANNELS, PAPER_KERNEL_SIZES, PAPER_LENGTH = (25, 25, 25), (5, 3, 3), 40


def conv_output_length(length: int, kernel_size: int, stride: int, padding: int) -> int:
    """The steps a ``Conv1d`` (dilation 1) gives from ``length`` steps: ⌊(L + 2p - k)/s⌋ + 1,
    below 1 when the kernel does not fit."""
    return (length + 2 * padding - kernel_size) // stride + 1


def _per_layer(name: str, value: Any, layers: int, minimum: int) -> list[int]:
    """An argument given once for every layer (an integer) or per layer (a list)."""
    values = [value] * layers if is_int(value) else value
    if (
        isinstance(values, str | bytes)
        or not isinstance(values, Sequence)
        or len(values) != layers
        or not all(is_int(v) and v >= minimum for v in values)
    ):
        raise ZooError(
            f"model 'cnn1d': {name} must be an integer >= {minimum} or a list of {layers} of them "
            f"(one per layer of channels), got {value!r}."
        )
    return list(values)


def _norm_1d(norm: str, channels: int) -> nn.Module:
    """Batch norm over (B, L) per channel, or layer norm over each series' (C, L)."""
    if norm == "batch":
        return nn.BatchNorm1d(channels)
    if norm == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


class CNN1d(Classifier):
    """A stack of 1-D convolutions with a linear classification (or regression) head."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        input_length: int,
        channels: Sequence[int],
        kernel_sizes: Sequence[int],
        strides: Sequence[int],
        paddings: Sequence[int],
        activation: str = "relu",
        norm: str = "none",
        dropout: float = 0.0,
        pool: str = "flatten",
    ) -> None:
        super().__init__()
        self.in_channels, self.input_length, self.pool = in_channels, input_length, pool
        #: (kernel, stride, padding) of each convolution
        self.layout = list(zip(kernel_sizes, strides, paddings, strict=True))
        layers: list[nn.Module] = []
        width, length = in_channels, input_length
        for out, kernel, stride, padding in zip(
            channels, kernel_sizes, strides, paddings, strict=True
        ):
            layers += [
                nn.Conv1d(width, out, kernel, stride=stride, padding=padding),
                _norm_1d(norm, out),
                make_activation(activation),
                nn.Dropout(dropout),
            ]
            width, length = out, conv_output_length(length, kernel, stride, padding)
        self.features = nn.Sequential(*layers)
        #: the steps of the last maps (for pool="flatten", from input_length)
        self.output_length = length
        self.num_features = width * length if pool == "flatten" else width
        self.head = nn.Linear(self.num_features, num_classes)

    def channels_first(self, x: torch.Tensor) -> torch.Tensor:
        """Sequences (B, T, C) or vectors (B, D) as the convolutions' (B, C, T)."""
        if x.dim() == 2 and self.in_channels == 1:
            x = x.unsqueeze(-1)  # (B, D, 1): one channel
        if x.dim() != 3 or x.shape[-1] != self.in_channels or not x.is_floating_point():
            vectors = " or vectors (batch, steps)" if self.in_channels == 1 else ""
            raise ZooError(
                f"cnn1d takes float sequences (batch, steps, {self.in_channels}){vectors}, got "
                f"{x.dtype} of shape {tuple(x.shape)}."
            )
        if self.pool == "flatten" and x.shape[1] != self.input_length:
            raise ZooError(
                f"cnn1d with pool=flatten takes sequences of input_length={self.input_length} "
                f"steps, got {x.shape[1]}; build it with input_length={x.shape[1]}, or with "
                "pool=mean or max for any length."
            )
        steps = x.shape[1]
        for kernel, stride, padding in self.layout:
            steps = conv_output_length(steps, kernel, stride, padding)
        if steps < 1:
            raise ZooError(
                f"cnn1d: sequences of {x.shape[1]} steps are too short for its convolutions "
                f"(kernel, stride, padding: {self.layout}); give longer sequences."
            )
        return x.transpose(1, 2)  # (B, C, T)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.features(self.channels_first(x))  # (B, C', L')
        if self.pool == "flatten":
            return maps.flatten(1)  # (B, C'·L'), channel by channel
        return maps.mean(dim=-1) if self.pool == "mean" else maps.amax(dim=-1)  # (B, C')

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialized one for ``num_classes`` outputs."""
        self.head = self.like_model(nn.Linear(self.num_features, num_classes))


def cnn1d_example_input(
    batch_size: int = 1,
    *,
    size: int | None = None,
    generator: torch.Generator | None = None,
    **kwargs: Any,
) -> torch.Tensor:
    """Standard-normal sequences (B, T, in_channels): T is ``input_length`` (the paper's 40),
    or ``size`` for a pooling head, which takes any length."""
    steps = kwargs.get("input_length") or PAPER_LENGTH
    if size is not None and kwargs.get("pool", "flatten") != "flatten":
        steps = size
    channels = kwargs.get("in_channels") or 1
    return torch.randn(batch_size, int(steps), int(channels), generator=generator)


@register_model(
    family="cnn1d",
    tasks=("classification", "regression"),
    input_kinds=("sequence", "vector"),
    default_input_size=(PAPER_LENGTH, 1),
    example_input=cnn1d_example_input,
    paper="Greydanus 2020, Scaling down deep learning (the MNIST-1D CNN)",
)
def cnn1d(
    *,
    in_channels: int = 1,
    num_classes: int = 10,
    input_length: int = PAPER_LENGTH,
    channels: Sequence[int] = PAPER_CHANNELS,
    kernel_sizes: int | Sequence[int] = PAPER_KERNEL_SIZES,
    strides: int | Sequence[int] = 2,
    paddings: int | Sequence[int] = 1,
    activation: str = "relu",
    norm: str | None = "none",
    dropout: float = 0.0,
    pool: str = "flatten",
) -> CNN1d:
    """A 1-D CNN: ``channels`` per convolution, ``kernel_sizes``, ``strides`` and ``paddings``
    once for all layers or one per layer; ``pool`` flattens the last maps (a fixed
    ``input_length``) or averages or maxes them over the steps."""
    # in_channels, num_classes: checked before any builder (registry.COMMON_ARGUMENTS)
    check_positive_ints("cnn1d", input_length=input_length)
    if (
        isinstance(channels, str | bytes)
        or not isinstance(channels, Sequence)
        or not channels
        or not all(is_int(c) and c >= 1 for c in channels)
    ):
        raise ZooError(
            "model 'cnn1d': channels must be a non-empty list of integers >= 1 (one per "
            f"convolution, e.g. [25,25,25]), got {channels!r}."
        )
    layers = len(channels)
    kernels = _per_layer("kernel_sizes", kernel_sizes, layers, 1)
    strides_ = _per_layer("strides", strides, layers, 1)
    paddings_ = _per_layer("paddings", paddings, layers, 0)
    if pool not in POOLS:
        raise ZooError(f"model 'cnn1d': pool must be one of {', '.join(POOLS)}, got {pool!r}.")
    norm = check_norm(norm)
    length = input_length
    for i, (kernel, stride, padding) in enumerate(zip(kernels, strides_, paddings_, strict=True)):
        length = conv_output_length(length, kernel, stride, padding)
        if length < 1:
            raise ZooError(
                f"model 'cnn1d': input_length={input_length} is too short for its convolutions: "
                f"layer {i + 1} (kernel {kernel}, stride {stride}, padding {padding}) has no step "
                "left; use longer inputs, fewer layers, or smaller kernels or strides."
            )
    return CNN1d(
        in_channels,
        num_classes,
        input_length,
        list(channels),
        kernels,
        strides_,
        paddings_,
        activation,
        norm,
        dropout,
        pool,
    )
