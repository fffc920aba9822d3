"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep
convolutional neural networks"); primer: "Convolutional Neural Networks", "Famous
Architectures".

Five convolutions and three fully connected layers, with ReLU everywhere and dropout in the
classifier. The layout is torchvision's single-tower version (Krizhevsky 2014, "One weird
trick for parallelizing convolutional neural networks"), which has 64/192/384/256/256
filters, no local response normalization and no split across two GPUs; the layer indices
and the state dict keys are exactly torchvision's, so its weights load. On a 224×224 image::

    features    conv 11×11/4, 64    → 55×55     max-pool 3×3/2 → 27×27
                conv 5×5, 192       → 27×27     max-pool 3×3/2 → 13×13
                conv 3×3, 384 → conv 3×3, 256 → conv 3×3, 256 → 13×13
                                                max-pool 3×3/2 → 6×6
    avgpool     adaptive average pool to 6×6 (an identity at 224×224)
    classifier  dropout → fc 9216→4096 → ReLU → dropout → fc 4096→4096 → ReLU → fc → classes

``small_input=True`` (for 28–32 pixel images): the 11×11 stride-4 stem becomes a 3×3
stride-1 convolution (padding 1); the three max-pools stay, so a 32×32 image reaches the
classifier as 256×3×3, and the adaptive pool and the first fully connected layer use 3×3
instead of 6×6. Smallest inputs: 63 pixels (ImageNet form), 15 pixels (small form).
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.models.layers import Classifier, check_dropout, check_input_size, check_sizes
from zoo.registry import register_model

IMAGENET_MIN_INPUT_SIZE = 63  # 11×11/4 conv and three 3×3/2 pools must leave >= 1 pixel
SMALL_MIN_INPUT_SIZE = 15  # three 3×3/2 pools must leave >= 1 pixel


def min_input_size(kwargs: dict) -> int:
    """The smallest height/width AlexNet built with ``kwargs`` accepts."""
    return SMALL_MIN_INPUT_SIZE if kwargs.get("small_input") else IMAGENET_MIN_INPUT_SIZE


class AlexNet(Classifier):
    """AlexNet: ``features`` (convolutions), ``avgpool`` and ``classifier`` (three fc layers).

    ``forward_features`` returns the last feature maps (``num_features`` = 256 channels,
    before pooling); ``forward_head`` pools, flattens and classifies them.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.5,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        check_sizes("AlexNet", num_classes, in_channels)
        check_dropout(dropout)
        self.small_input = small_input
        self.min_input_size = min_input_size({"small_input": small_input})
        if small_input:
            stem = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1)
            pooled_size = 3
        else:
            stem = nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2)
            pooled_size = 6
        self.features = nn.Sequential(
            stem,
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.num_features = 256
        self.avgpool = nn.AdaptiveAvgPool2d((pooled_size, pooled_size))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(self.num_features * pooled_size * pooled_size, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional feature maps, ``(N, 256, H', W')``."""
        check_input_size(x, self.min_input_size, "AlexNet")
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Average-pool to a fixed grid, flatten, and apply the three fc layers."""
        return self.classifier(torch.flatten(self.avgpool(features), 1))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last fc layer with a freshly initialized one for ``num_classes``."""
        last = nn.Linear(self.classifier[-1].in_features, num_classes)
        self.classifier[-1] = self.like_model(last)


@register_model(
    family="alexnet",
    input_kinds=("image",),
    default_input_size=(3, 224, 224),
    min_input_size=min_input_size,
    paper="Krizhevsky, Sutskever & Hinton 2012, ImageNet classification with deep "
    "convolutional neural networks",
    inapplicable={
        "norm": "AlexNet is the paper's fixed architecture in torchvision's layout (whose "
        "weights load), without the paper's local response normalization as torchvision; "
        "normalized CNNs are vgg (norm=...) and the ResNets.",
        "activation": "AlexNet's ReLUs are the paper's point (section 3.1) and its layout is "
        "torchvision's (whose weights load); lenet5, mlp and the ResNets take an activation.",
    },
    # Measured on the digits, 60 Adam steps: chance at the configs' default 2e-3, 0.74
    # accurate at 5e-4 (eight layers without normalization; the paper used SGD at 1e-2).
    adam_lr=5e-4,
)
def alexnet(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.5,
    small_input: bool = False,
) -> AlexNet:
    """AlexNet as in torchvision; ``small_input=True`` uses a 3×3 stride-1 stem for 32×32."""
    return AlexNet(num_classes, in_channels, dropout, small_input)
