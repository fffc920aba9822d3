"""VGG (Simonyan & Zisserman 2015, "Very deep convolutional networks for large-scale image
recognition"); primer: "Convolutional Neural Networks", "Famous Architectures".

VGG's idea is depth from one repeated unit: stacks of 3×3 convolutions (padding 1, so the
size is kept) separated by 2×2 max-pools that halve the size, with the number of filters
doubling from 64 to 512. Two stacked 3×3 convolutions see a 5×5 window, three see 7×7, with
fewer parameters and more non-linearities than one large filter. The paper's configurations
(Table 1) are A (11 weight layers), B (13), D (16) and E (19)::

    vgg11  64 M 128 M 256 256 M 512 512 M 512 512 M
    vgg13  64 64 M 128 128 M 256 256 M 512 512 M 512 512 M
    vgg16  64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M
    vgg19  64 64 M 128 128 M 256 256 256 256 M 512 512 512 512 M 512 512 512 512 M

(a number is a 3×3 convolution with that many filters followed by ReLU; M a 2×2/2 max-pool).
Then the classifier: fc 25088→4096 → ReLU → dropout → fc 4096→4096 → ReLU → dropout → fc.
The ``_bn`` variants put batch normalization (Ioffe & Szegedy 2015) after every convolution;
the plain builders accept ``norm="batch"`` (the same network) or ``norm="layer"``.

The layout and state dict keys are torchvision's (``features.<i>``, ``avgpool``,
``classifier.<0|3|6>``), so its weights load. As in torchvision an adaptive average pool to
7×7 sits before the classifier, so inputs other than 224×224 work; the smallest is 32×32.

``small_input=True`` (for 28–32 pixel images) keeps every convolution but drops the last
max-pool (which would reduce a 2×2 map to 1×1), average-pools the last maps to 1×1, and uses
512-unit hidden fc layers instead of 4096 (the usual CIFAR VGG classifier). The smallest
input of the small form is 16×16 (four 2×2 pools).
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.models.layers import (
    Classifier,
    check_dropout,
    check_input_size,
    check_norm,
    check_sizes,
    make_norm,
)
from zoo.registry import register_model

M = "M"  # a 2×2 max-pool with stride 2

CONFIGS: dict[str, list[int | str]] = {
    "A": [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    "B": [64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    "D": [64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M],
    "E": [64, 64, M, 128, 128, M, 256, 256, 256, 256, M, *[512, 512, 512, 512, M] * 2],
}


def min_input_size(kwargs: dict) -> int:
    """The smallest height/width a VGG built with ``kwargs`` accepts: each max-pool halves
    the size and must leave at least one pixel (five pools, or four in the small form)."""
    return 2**4 if kwargs.get("small_input") else 2**5


def make_features(config: list[int | str], in_channels: int, norm: str) -> nn.Sequential:
    """The convolutional part: ``conv 3×3 → [norm] → ReLU`` per number, a max-pool per M."""
    layers: list[nn.Module] = []
    channels = in_channels
    for item in config:
        if item == M:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(channels, int(item), kernel_size=3, padding=1))
        if norm != "none":  # no placeholder layer, so the indices stay torchvision's
            layers.append(make_norm(norm, int(item), spatial=True))
        layers.append(nn.ReLU(inplace=True))
        channels = int(item)
    return nn.Sequential(*layers)


class VGG(Classifier):
    """VGG: ``features`` (3×3 convolutions and max-pools), ``avgpool`` and ``classifier``.

    ``forward_features`` returns the last feature maps (``num_features`` = 512 channels,
    before pooling); ``forward_head`` pools, flattens and applies the three fc layers.
    """

    def __init__(
        self,
        config: list[int | str],
        num_classes: int = 1000,
        in_channels: int = 3,
        norm: str | None = "none",
        dropout: float = 0.5,
        small_input: bool = False,
        name: str = "VGG",
    ) -> None:
        super().__init__()
        check_sizes(name, num_classes, in_channels)
        norm = check_norm(norm)
        check_dropout(dropout)
        self.name = name
        self.small_input = small_input
        self.min_input_size = min_input_size({"small_input": small_input})
        if small_input:
            config = config[:-1]  # the last max-pool
        self.features = make_features(config, in_channels, norm)
        self.num_features = 512
        pooled_size, hidden = (1, 512) if small_input else (7, 4096)
        self.avgpool = nn.AdaptiveAvgPool2d((pooled_size, pooled_size))
        self.classifier = nn.Sequential(
            nn.Linear(self.num_features * pooled_size * pooled_size, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """He (Kaiming) normal for convolutions, N(0, 0.01) for fc layers (as torchvision).

        torchvision's N(0, 0.01) suits its 4096-unit layers (each keeps about 0.64 of the
        signal's scale); through the small form's 512-unit layers it keeps 0.16, so two of
        them shrink the logits' gradient to nothing and training stays at chance. The
        small form's hidden fc layers get He normal initialization instead (He et al. 2015,
        the rule its convolutions already follow).

        He initialization in torchvision's ``fan_out`` mode keeps the backward signal's scale;
        forward, each convolution scales the signal's variance by c_in / c_out, so from a
        one-channel digit to 512 channels it shrinks 512-fold (3 instead of 512 for ImageNet's
        RGB images, the paper's setting). The small form, made for 1- and 3-channel 28-32 px
        images, uses ``fan_in`` mode, which keeps the forward signal's scale (He et al. 2015,
        section 2.2: either mode alone suffices for a plain ReLU network)."""
        hidden_fc = set(map(id, list(self.classifier)[:-1])) if self.small_input else set()
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                mode = "fan_in" if self.small_input else "fan_out"
                nn.init.kaiming_normal_(module.weight, mode=mode, nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d | nn.GroupNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear) and id(module) in hidden_fc:
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional feature maps, ``(N, 512, H', W')``."""
        check_input_size(x, self.min_input_size, self.name)
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Average-pool to a fixed grid, flatten, and apply the three fc layers."""
        return self.classifier(torch.flatten(self.avgpool(features), 1))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last fc layer with a freshly initialized one for ``num_classes``."""
        last = nn.Linear(self.classifier[-1].in_features, num_classes)
        nn.init.normal_(last.weight, 0.0, 0.01)
        nn.init.zeros_(last.bias)
        self.classifier[-1] = self.like_model(last)


# VGG-16 and VGG-19 without batch norm start from features almost independent of the input
# (the logits of different digits differ by ~1% at initialization: 13-16 ReLU convolutions
# without normalization) and stay at chance with Adam at the configs' default 2e-3; measured
# on the digits, VGG-16: chance after 5 epochs at 2e-3 and after 3 at 2e-4, 0.69 accurate
# after 5 at 1e-4. The paper trains with SGD at 1e-2 after initializing the deeper nets from
# VGG-11 (section 3.1), which a from-scratch Adam run does not have.
PLAIN_DEEP_ADAM_LR = 1e-4


def _register(name: str, *, batch_norm: bool, adam_lr: float | None = None):
    """Register one VGG builder (the decorator arguments are the same for all eight)."""
    paper = (
        "Simonyan & Zisserman 2015, Very deep convolutional networks for large-scale image "
        "recognition"
    )
    if batch_norm:
        paper += "; batch normalization: Ioffe & Szegedy 2015"
    return register_model(
        family="vgg",
        input_kinds=("image",),
        default_input_size=(3, 224, 224),
        min_input_size=min_input_size,
        paper=paper,
        name=name,
        adam_lr=adam_lr,
        inapplicable={
            "activation": "VGG's ReLUs are the paper's, in torchvision's layout (whose weights "
            "load); lenet5, mlp and the ResNets take an activation.",
            **(
                {
                    "norm": f"{name} is {name[:-3]} with norm=batch; use model={name[:-3]} with "
                    "norm=none, batch or layer."
                }
                if batch_norm
                else {}
            ),
        },
    )


@_register("vgg11", batch_norm=False)
def vgg11(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    norm: str | None = "none",
    dropout: float = 0.5,
    small_input: bool = False,
) -> VGG:
    """VGG-11 (configuration A); ``norm="batch"`` gives VGG-11-BN."""
    return VGG(CONFIGS["A"], num_classes, in_channels, norm, dropout, small_input, "vgg11")


@_register("vgg11_bn", batch_norm=True)
def vgg11_bn(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.5,
    small_input: bool = False,
) -> VGG:
    """VGG-11 (configuration A) with batch normalization after every convolution."""
    return VGG(CONFIGS["A"], num_classes, in_channels, "batch", dropout, small_input, "vgg11_bn")


@_register("vgg13", batch_norm=False)
def vgg13(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    norm: str | None = "none",
    dropout: float = 0.5,
    small_input: bool = False,
) -> VGG:
    """VGG-13 (configuration B); ``norm="batch"`` gives VGG-13-BN."""
    return VGG(CONFIGS["B"], num_classes, in_channels, norm, dropout, small_input, "vgg13")


@_register("vgg13_bn", batch_norm=True)
def vgg13_bn(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.5,
    small_input: bool = False,
) -> VGG:
    """VGG-13 (configuration B) with batch normalization after every convolution."""
    return VGG(CONFIGS["B"], num_classes, in_channels, "batch", dropout, small_input, "vgg13_bn")


@_register("vgg16", batch_norm=False, adam_lr=PLAIN_DEEP_ADAM_LR)
def vgg16(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    norm: str | None = "none",
    dropout: float = 0.5,
    small_input: bool = False,
) -> VGG:
    """VGG-16 (configuration D); ``norm="batch"`` gives VGG-16-BN."""
    return VGG(CONFIGS["D"], num_classes, in_channels, norm, dropout, small_input, "vgg16")


@_register("vgg16_bn", batch_norm=True)
def vgg16_bn(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.5,
    small_input: bool = False,
) -> VGG:
    """VGG-16 (configuration D) with batch normalization after every convolution."""
    return VGG(CONFIGS["D"], num_classes, in_channels, "batch", dropout, small_input, "vgg16_bn")


@_register("vgg19", batch_norm=False, adam_lr=PLAIN_DEEP_ADAM_LR)
def vgg19(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    norm: str | None = "none",
    dropout: float = 0.5,
    small_input: bool = False,
) -> VGG:
    """VGG-19 (configuration E); ``norm="batch"`` gives VGG-19-BN."""
    return VGG(CONFIGS["E"], num_classes, in_channels, norm, dropout, small_input, "vgg19")


@_register("vgg19_bn", batch_norm=True)
def vgg19_bn(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.5,
    small_input: bool = False,
) -> VGG:
    """VGG-19 (configuration E) with batch normalization after every convolution."""
    return VGG(CONFIGS["E"], num_classes, in_channels, "batch", dropout, small_input, "vgg19_bn")
