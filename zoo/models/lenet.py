"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to
document recognition"); primer: "Convolutional Neural Networks", "Famous Architectures".

The 1998 layout on a 32×32 input::

    C1 conv 5×5, 6 maps   → 28×28     S2 subsample 2×2 → 14×14
    C3 conv 5×5, 16 maps  → 10×10     S4 subsample 2×2 → 5×5
    C5 conv 5×5, 120 maps → 1×1       F6 fully connected, 84 units
    output: fully connected, ``num_classes`` units

``variant="classic"`` uses the paper's tanh and average-pool subsampling; ``"modern"`` uses
ReLU and max pooling, which trains faster. Two documented simplifications, as in most
re-implementations: C3 connects to all six S2 maps (the paper used a sparse table), and the
output is a linear layer trained with cross-entropy instead of Euclidean RBF units. With
these the network has 61,706 parameters for 10 classes.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.errors import ZooError
from zoo.models.layers import (
    Classifier,
    check_dropout,
    check_image_shape,
    make_activation,
    make_norm,
)
from zoo.registry import register_model

VARIANTS = {"classic": ("tanh", nn.AvgPool2d), "modern": ("relu", nn.MaxPool2d)}
MIN_INPUT_SIZE = 32


def _c5_output_size(input_size: int) -> int:
    size = input_size - 4  # C1
    size //= 2  # S2
    size -= 4  # C3
    size //= 2  # S4
    return size - 4  # C5


class LeNet5(Classifier):
    """LeNet-5: three convolutions, two subsampling layers, two fully connected layers."""

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        variant: str = "modern",
        activation: str | None = None,
        norm: str | None = "none",
        dropout: float = 0.0,
        input_size: int = 32,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ZooError(f"unknown LeNet-5 variant {variant!r}; allowed: {', '.join(VARIANTS)}.")
        if input_size < MIN_INPUT_SIZE:
            raise ZooError(
                f"LeNet-5 needs inputs of at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} pixels, "
                f"got input_size={input_size}."
            )
        #: its fully connected layers fix the image size (the channels are the first conv's,
        #: which loading weights with another ``in_channels`` replaces)
        self.input_size = input_size
        default_activation, pool = VARIANTS[variant]
        activation = activation or default_activation
        check_dropout(dropout)

        def conv_block(cin: int, cout: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, kernel_size=5),
                make_norm(norm, cout, spatial=True),
                make_activation(activation),
            ]

        self.features = nn.Sequential(
            *conv_block(in_channels, 6),  # C1
            pool(kernel_size=2, stride=2),  # S2
            *conv_block(6, 16),  # C3
            pool(kernel_size=2, stride=2),  # S4
            *conv_block(16, 120),  # C5
            nn.Flatten(),
        )
        self.num_features = 120 * _c5_output_size(input_size) ** 2
        self.f6 = nn.Sequential(
            nn.Linear(self.num_features, 84), make_activation(activation), nn.Dropout(dropout)
        )
        self.classifier = nn.Linear(84, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened C5 maps, (N, num_features), of images (N, C, input_size, input_size)."""
        channels = self.features[0].in_channels
        check_image_shape(
            x,
            "LeNet-5",
            (channels, self.input_size, self.input_size),
            " (build it with input_size=H for H×H images)",
        )
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """F6 and the output layer."""
        return self.classifier(self.f6(features))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the output layer with a freshly initialized one for ``num_classes`` outputs."""
        self.classifier = self.like_model(nn.Linear(84, num_classes))


@register_model(
    family="lenet",
    input_kinds=("image",),
    default_input_size=(1, 32, 32),
    min_input_size=MIN_INPUT_SIZE,
    paper="LeCun et al. 1998, Gradient-based learning applied to document recognition",
)
def lenet5(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    variant: str = "modern",
    activation: str | None = None,
    norm: str | None = "none",
    dropout: float = 0.0,
    input_size: int = 32,
) -> LeNet5:
    """LeNet-5; ``variant`` is "classic" (tanh, average pooling) or "modern" (ReLU, max pooling)."""
    return LeNet5(num_classes, in_channels, variant, activation, norm, dropout, input_size)
