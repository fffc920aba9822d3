"""Residual networks (He, Zhang, Ren & Sun 2016, "Deep residual learning for image
recognition"); primer: "Convolutional Neural Networks", "Advanced Architectures".

A residual block learns a correction ``F(x)`` to its input and outputs ``relu(F(x) + x)``:
the identity path lets signals and gradients pass through very deep stacks unchanged, which
is what made 100+ layer networks trainable. When a block changes the size or the number of
channels, the shortcut must change too (the paper's options A and B, below).

**ImageNet ResNets** (``resnet18`` ... ``resnet152``, paper Table 1). A 7×7/2 stem
convolution and a 3×3/2 max-pool, then four stages of blocks with 64, 128, 256, 512 base
channels (stages 2–4 halve the size in their first block), global average pooling and one
fc layer::

    resnet18   BasicBlock  [2, 2, 2, 2]      resnet50   Bottleneck [3, 4, 6, 3]
    resnet34   BasicBlock  [3, 4, 6, 3]      resnet101  Bottleneck [3, 4, 23, 3]
                                             resnet152  Bottleneck [3, 8, 36, 3]

``BasicBlock``: two 3×3 convolutions. ``Bottleneck``: 1×1 (reduce) → 3×3 → 1×1 (expand ×4).
Shortcuts that change shape are 1×1 projections with batch norm (option B). The layout and
state dict keys are torchvision's, so its weights load; like torchvision this is "ResNet
v1.5": a downsampling bottleneck strides in its 3×3 convolution, where the paper strides in
the first 1×1 (same parameters, slightly better accuracy).

``small_input=True`` (for 28–32 pixel images, the usual CIFAR adaptation): the stem is a 3×3
stride-1 convolution and the max-pool is removed, so a 32×32 image reaches the stages at
full resolution (32, 16, 8, 4). Any input of at least 1×1 pixel works in both forms.

**CIFAR ResNets** (``resnet20`` ... ``resnet110``, paper section 4.2). A 3×3 stem with 16
filters, then three stages of ``n`` BasicBlocks with 16, 32 and 64 filters on 32, 16 and 8
pixel maps, global average pooling and fc: depth 6n + 2 (n = 3, 5, 7, 9, 18). As in the
paper the shortcuts are all parameter-free (option A): where a block halves the size and
doubles the channels, the shortcut takes every second pixel and pads the new channels with
zeros. ``shortcut="B"`` uses 1×1 projections there instead. They are small-input networks
by nature and take no ``small_input`` argument. ResNet-20 has 0.27M parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ZooError
from zoo.models.layers import Classifier, check_sizes
from zoo.registry import register_model

PAPER = "He, Zhang, Ren & Sun 2016, Deep residual learning for image recognition"
SHORTCUTS = ("A", "B")


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3×3 convolution with padding 1 and no bias (batch norm follows it)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1×1 convolution with no bias."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


def projection_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """Option B: a strided 1×1 convolution and batch norm matching the block's output."""
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by ``stride`` and append zero channels (no parameters).

    ``x[:, :, ::2, ::2]`` has the size of a stride-2, padding-1 3×3 convolution's output for
    odd and even sizes alike, ⌈size / 2⌉.
    """

    def __init__(self, extra_channels: int, stride: int) -> None:
        super().__init__()
        self.extra_channels = extra_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))  # pads (W, H, C) at the end


class BasicBlock(nn.Module):
    """``relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x))``: ResNet-18/34 and CIFAR."""

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = downsample  # None: the identity shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (strided when downsampling) → 1×1 expand to 4× ``channels``, plus
    the shortcut: ResNet-50/101/152."""

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = conv1x1(in_channels, channels)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = conv1x1(channels, channels * self.expansion)
        self.bn3 = nn.BatchNorm2d(channels * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


Block = type[BasicBlock] | type[Bottleneck]


def make_stage(
    block: Block,
    in_channels: int,
    channels: int,
    blocks: int,
    stride: int,
    shortcut: str = "B",
) -> tuple[nn.Sequential, int]:
    """``blocks`` residual blocks; the first one strides and changes the channel count.

    Returns the stage and its number of output channels.
    """
    out_channels = channels * block.expansion
    downsample: nn.Module | None = None
    if stride != 1 or in_channels != out_channels:
        if shortcut == "A":
            downsample = ZeroPadShortcut(out_channels - in_channels, stride)
        else:
            downsample = projection_shortcut(in_channels, out_channels, stride)
    layers = [block(in_channels, channels, stride, downsample)]
    layers += [block(out_channels, channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers), out_channels


def _init_weights(model: nn.Module, zero_init_residual: bool) -> None:
    """He (Kaiming) normal initialization for convolutions, as in the paper and torchvision;
    with ``zero_init_residual`` the last batch norm of each block starts at zero, so every
    block starts as the identity (Goyal et al. 2017)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    if zero_init_residual:
        for module in model.modules():
            if isinstance(module, Bottleneck):
                nn.init.zeros_(module.bn3.weight)
            elif isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)


class ResNet(Classifier):
    """An ImageNet ResNet: stem, four stages (``layer1``..``layer4``), pooling and ``fc``.

    ``forward_features`` returns the last stage's maps (``num_features`` channels: 512 for
    BasicBlock networks, 2048 for Bottleneck ones); ``forward_head`` pools and classifies.
    """

    def __init__(
        self,
        block: Block,
        layers: list[int],
        num_classes: int = 1000,
        in_channels: int = 3,
        small_input: bool = False,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        check_sizes("ResNet", num_classes, in_channels)
        self.small_input = small_input
        if small_input:
            self.conv1 = conv3x3(in_channels, 64)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        channels = 64
        self.layer1, channels = make_stage(block, channels, 64, layers[0], stride=1)
        self.layer2, channels = make_stage(block, channels, 128, layers[1], stride=2)
        self.layer3, channels = make_stage(block, channels, 256, layers[2], stride=2)
        self.layer4, channels = make_stage(block, channels, 512, layers[3], stride=2)
        self.num_features = channels
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, num_classes)
        _init_weights(self, zero_init_residual)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature maps, ``(N, num_features, H', W')``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pooling and the fc layer."""
        return self.fc(torch.flatten(self.avgpool(features), 1))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace ``fc`` with a freshly initialized layer for ``num_classes`` outputs."""
        self.fc = self.like_model(nn.Linear(self.num_features, num_classes))


class CifarResNet(Classifier):
    """The CIFAR-10 ResNet of section 4.2: a 3×3 stem with 16 filters, three stages of
    ``n`` BasicBlocks (16, 32, 64 filters), global average pooling and ``fc``.

    ``forward_features`` returns the last stage's maps (``num_features`` = 64 channels).
    """

    def __init__(
        self,
        n: int,
        num_classes: int = 10,
        in_channels: int = 3,
        shortcut: str = "A",
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(f"ResNet-{6 * n + 2}", num_classes, in_channels)
        if shortcut not in SHORTCUTS:
            raise ZooError(
                f"unknown ResNet shortcut option {shortcut!r}; allowed: A (zero padding, as in "
                "the paper's CIFAR networks) or B (1x1 projections)."
            )
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1, channels = make_stage(BasicBlock, 16, 16, n, 1, shortcut)
        self.layer2, channels = make_stage(BasicBlock, channels, 32, n, 2, shortcut)
        self.layer3, channels = make_stage(BasicBlock, channels, 64, n, 2, shortcut)
        self.num_features = channels
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, num_classes)
        _init_weights(self, zero_init_residual)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature maps, ``(N, 64, H/4, W/4)``."""
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pooling and the fc layer."""
        return self.fc(torch.flatten(self.avgpool(features), 1))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace ``fc`` with a freshly initialized layer for ``num_classes`` outputs."""
        self.fc = self.like_model(nn.Linear(self.num_features, num_classes))


# ----------------------------------------------------------------------------- ImageNet


def _imagenet(name: str):
    return register_model(
        family="resnet",
        input_kinds=("image",),
        default_input_size=(3, 224, 224),
        min_input_size=1,  # every stride-2 layer is padded: a 1×1 image stays 1×1
        paper=PAPER,
        name=name,
    )


@_imagenet("resnet18")
def resnet18(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-18: BasicBlocks [2, 2, 2, 2]."""
    return ResNet(
        BasicBlock, [2, 2, 2, 2], num_classes, in_channels, small_input, zero_init_residual
    )


@_imagenet("resnet34")
def resnet34(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-34: BasicBlocks [3, 4, 6, 3]."""
    return ResNet(
        BasicBlock, [3, 4, 6, 3], num_classes, in_channels, small_input, zero_init_residual
    )


@_imagenet("resnet50")
def resnet50(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-50: Bottlenecks [3, 4, 6, 3]."""
    return ResNet(
        Bottleneck, [3, 4, 6, 3], num_classes, in_channels, small_input, zero_init_residual
    )


@_imagenet("resnet101")
def resnet101(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-101: Bottlenecks [3, 4, 23, 3]."""
    return ResNet(
        Bottleneck, [3, 4, 23, 3], num_classes, in_channels, small_input, zero_init_residual
    )


@_imagenet("resnet152")
def resnet152(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-152: Bottlenecks [3, 8, 36, 3]."""
    return ResNet(
        Bottleneck, [3, 8, 36, 3], num_classes, in_channels, small_input, zero_init_residual
    )


# -------------------------------------------------------------------------------- CIFAR


def _cifar(name: str):
    return register_model(
        family="resnet_cifar",
        input_kinds=("image",),
        default_input_size=(3, 32, 32),
        min_input_size=1,  # padded 3×3 convolutions and ⌈size/2⌉ subsampling
        paper=PAPER + " (section 4.2, CIFAR-10)",
        name=name,
    )


@_cifar("resnet20")
def resnet20(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-20 for CIFAR (n = 3, 0.27M parameters)."""
    return CifarResNet(3, num_classes, in_channels, shortcut)


@_cifar("resnet32")
def resnet32(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-32 for CIFAR (n = 5, 0.46M parameters)."""
    return CifarResNet(5, num_classes, in_channels, shortcut)


@_cifar("resnet44")
def resnet44(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-44 for CIFAR (n = 7, 0.66M parameters)."""
    return CifarResNet(7, num_classes, in_channels, shortcut)


@_cifar("resnet56")
def resnet56(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-56 for CIFAR (n = 9, 0.85M parameters)."""
    return CifarResNet(9, num_classes, in_channels, shortcut)


@_cifar("resnet110")
def resnet110(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-110 for CIFAR (n = 18, 1.7M parameters)."""
    return CifarResNet(18, num_classes, in_channels, shortcut)
