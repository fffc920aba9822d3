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

**Plain networks** (``shortcut=False``, every builder): the same stacks with no shortcut at
all, each block ``act(norm(conv(act(norm(conv(x))))))``: the paper's "plain" baselines (Fig. 4
and Table 2 on ImageNet, Fig. 6 and Table 6 on CIFAR-10), whose training error rises with
depth where the residual networks' falls. They have exactly the parameters of option A.

**Options** (defaults build the paper's network; every builder takes them):

- ``norm``: ``"batch"`` (the paper), ``"layer"`` or ``"none"``. Layer normalization of a
  convolution's maps is ``GroupNorm(1, C)`` (Wu & He 2018 show LN is GroupNorm with one
  group): each sample is normalized over all of its (C, H, W) units, which is Ba et al.
  2016's layer norm over a layer's hidden units, with a gain and bias per channel rather
  than per (C, H, W) position, so that the network still takes any image size (a channel
  LayerNorm, which normalizes each pixel over C alone, would not see the whole layer). With
  ``"none"`` the convolutions get the biases the norm's shift otherwise gives (initialized
  to zero), and ``zero_init_residual`` zeroes each block's last convolution instead.
- ``activation``: in the stem and the blocks (``zoo.models.layers.ACTIVATIONS``; relu by
  default). The He initialization keeps its ReLU gain whatever the activation.
- ``dropout``: before the classifier (after pooling), 0 by default, as in the paper, which
  has no dropout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ZooError
from zoo.models.layers import (
    Classifier,
    check_dropout,
    check_norm,
    check_sizes,
    make_activation,
    make_norm,
)
from zoo.registry import register_model

PAPER = "He, Zhang, Ren & Sun 2016, Deep residual learning for image recognition"
SHORTCUTS = ("A", "B")  # or False: no shortcut, the paper's plain network


def check_shortcut(shortcut: object) -> str | bool:
    """Refuse a shortcut option other than A, B or False (plain: no shortcut)."""
    if shortcut is False or (isinstance(shortcut, str) and shortcut in SHORTCUTS):
        return shortcut
    raise ZooError(
        f"unknown ResNet shortcut option {shortcut!r}; allowed: A (zero padding, as in the "
        "paper's CIFAR networks), B (1x1 projections) or false (no shortcut: the paper's "
        "plain network)."
    )


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    """A 3×3 convolution with padding 1, with no bias where a norm layer follows it."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    """A 1×1 convolution, with no bias where a norm layer follows it."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=bias)


def projection_shortcut(
    in_channels: int, out_channels: int, stride: int, norm: str = "batch"
) -> nn.Sequential:
    """Option B: a strided 1×1 convolution and a norm layer matching the block's output."""
    return nn.Sequential(
        conv1x1(in_channels, out_channels, stride, bias=norm == "none"),
        make_norm(norm, out_channels, spatial=True),
    )


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


class _Block(nn.Module):
    """What both residual blocks share: their arguments, the shortcut and the last activation.

    ``norm`` and ``activation`` choose the layers named ``bn*`` and ``relu`` (torchvision's
    names, kept so that its weights load); ``residual=False`` drops the shortcut (a plain
    block)."""

    expansion: int

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        *,
        norm: str = "batch",
        activation: str = "relu",
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.build_layers(in_channels, channels, stride, norm, activation)
        self.downsample = downsample  # None: the identity shortcut (or none, if not residual)
        self.residual = residual

    def build_layers(
        self, in_channels: int, channels: int, stride: int, norm: str, activation: str
    ) -> None:
        raise NotImplementedError

    def add_shortcut(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``relu(out + shortcut(x))``, or ``relu(out)`` in a plain block."""
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class BasicBlock(_Block):
    """``relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x))``: ResNet-18/34 and CIFAR."""

    expansion = 1

    def build_layers(
        self, in_channels: int, channels: int, stride: int, norm: str, activation: str
    ) -> None:
        bias = norm == "none"
        self.conv1 = conv3x3(in_channels, channels, stride, bias)
        self.bn1 = make_norm(norm, channels, spatial=True)
        self.relu = make_activation(activation)
        self.conv2 = conv3x3(channels, channels, bias=bias)
        self.bn2 = make_norm(norm, channels, spatial=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # (N, C, H', W')
        return self.add_shortcut(self.bn2(self.conv2(out)), x)


class Bottleneck(_Block):
    """1×1 reduce → 3×3 (strided when downsampling) → 1×1 expand to 4× ``channels``, plus
    the shortcut: ResNet-50/101/152."""

    expansion = 4

    def build_layers(
        self, in_channels: int, channels: int, stride: int, norm: str, activation: str
    ) -> None:
        bias = norm == "none"
        self.conv1 = conv1x1(in_channels, channels, bias=bias)
        self.bn1 = make_norm(norm, channels, spatial=True)
        self.conv2 = conv3x3(channels, channels, stride, bias)
        self.bn2 = make_norm(norm, channels, spatial=True)
        self.conv3 = conv1x1(channels, channels * self.expansion, bias=bias)
        self.bn3 = make_norm(norm, channels * self.expansion, spatial=True)
        self.relu = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # (N, C, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, C, H', W')
        return self.add_shortcut(self.bn3(self.conv3(out)), x)  # (N, 4C, H', W')


Block = type[BasicBlock] | type[Bottleneck]


def make_stage(
    block: Block,
    in_channels: int,
    channels: int,
    blocks: int,
    stride: int,
    shortcut: str | bool = "B",
    norm: str = "batch",
    activation: str = "relu",
) -> tuple[nn.Sequential, int]:
    """``blocks`` residual blocks (plain ones if ``shortcut`` is False); the first one strides
    and changes the channel count.

    Returns the stage and its number of output channels.
    """
    out_channels = channels * block.expansion
    downsample: nn.Module | None = None
    if shortcut is not False and (stride != 1 or in_channels != out_channels):
        if shortcut == "A":
            downsample = ZeroPadShortcut(out_channels - in_channels, stride)
        else:
            downsample = projection_shortcut(in_channels, out_channels, stride, norm)
    options = {"norm": norm, "activation": activation, "residual": shortcut is not False}
    layers = [block(in_channels, channels, stride, downsample, **options)]
    layers += [block(out_channels, channels, **options) for _ in range(blocks - 1)]
    return nn.Sequential(*layers), out_channels


def _init_weights(model: nn.Module, zero_init_residual: bool) -> None:
    """He (Kaiming) normal initialization for convolutions, as in the paper and torchvision
    (their biases, present without a norm layer, at zero); with ``zero_init_residual`` the last
    norm layer of each block (its last convolution, without one) starts at zero, so every
    block starts as the identity (Goyal et al. 2017)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d | nn.GroupNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    if zero_init_residual:
        for module in model.modules():
            if isinstance(module, BasicBlock | Bottleneck):
                norm, conv = (
                    (module.bn3, module.conv3)
                    if isinstance(module, Bottleneck)
                    else (module.bn2, module.conv2)
                )
                nn.init.zeros_((conv if isinstance(norm, nn.Identity) else norm).weight)


def check_options(
    shortcut: object, norm: str | None, activation: str, dropout: float, zero_init_residual: bool
) -> tuple[str | bool, str]:
    """The checked shortcut and norm of a ResNet, refusing a bad activation or dropout too
    (a direct class call gets the builders' messages)."""
    make_activation(activation)
    check_dropout(dropout)
    shortcut, norm = check_shortcut(shortcut), check_norm(norm)
    if zero_init_residual and shortcut is False:
        raise ZooError(
            "zero_init_residual=True needs shortcuts: it starts each block as the identity "
            "through its shortcut, and a plain network (shortcut=false) would output zeros."
        )
    return shortcut, norm


class _ResNetBase(Classifier):
    """The head both kinds of ResNet share: global average pooling, dropout and ``fc``."""

    def build_head(
        self, channels: int, num_classes: int, dropout: float, zero_init_residual: bool
    ) -> None:
        """The head after the last stage's ``channels`` maps; then every layer initialized."""
        self.num_features = channels
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)
        _init_weights(self, zero_init_residual)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pooling, dropout (none by default) and the fc layer."""
        return self.fc(self.dropout(torch.flatten(self.avgpool(features), 1)))  # (N, classes)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace ``fc`` with a freshly initialized layer for ``num_classes`` outputs."""
        self.fc = self.like_model(nn.Linear(self.num_features, num_classes))


class ResNet(_ResNetBase):
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
        *,
        shortcut: str | bool = "B",
        norm: str = "batch",
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_sizes("ResNet", num_classes, in_channels)
        shortcut, norm = check_options(shortcut, norm, activation, dropout, zero_init_residual)
        self.small_input = small_input
        bias = norm == "none"
        if small_input:
            self.conv1 = conv3x3(in_channels, 64, bias=bias)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=bias)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = make_norm(norm, 64, spatial=True)
        self.relu = make_activation(activation)
        options = (shortcut, norm, activation)
        self.layer1, channels = make_stage(block, 64, 64, layers[0], 1, *options)
        self.layer2, channels = make_stage(block, channels, 128, layers[1], 2, *options)
        self.layer3, channels = make_stage(block, channels, 256, layers[2], 2, *options)
        self.layer4, channels = make_stage(block, channels, 512, layers[3], 2, *options)
        self.build_head(channels, num_classes, dropout, zero_init_residual)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature maps, ``(N, num_features, H', W')``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class CifarResNet(_ResNetBase):
    """The CIFAR-10 ResNet of section 4.2: a 3×3 stem with 16 filters, three stages of
    ``n`` BasicBlocks (16, 32, 64 filters), global average pooling and ``fc``.

    ``forward_features`` returns the last stage's maps (``num_features`` = 64 channels).
    """

    def __init__(
        self,
        n: int,
        num_classes: int = 10,
        in_channels: int = 3,
        shortcut: str | bool = "A",
        zero_init_residual: bool = False,
        *,
        norm: str = "batch",
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_sizes(f"ResNet-{6 * n + 2}", num_classes, in_channels)
        shortcut, norm = check_options(shortcut, norm, activation, dropout, zero_init_residual)
        self.conv1 = conv3x3(in_channels, 16, bias=norm == "none")
        self.bn1 = make_norm(norm, 16, spatial=True)
        self.relu = make_activation(activation)
        options = (shortcut, norm, activation)
        self.layer1, channels = make_stage(BasicBlock, 16, 16, n, 1, *options)
        self.layer2, channels = make_stage(BasicBlock, channels, 32, n, 2, *options)
        self.layer3, channels = make_stage(BasicBlock, channels, 64, n, 2, *options)
        self.build_head(channels, num_classes, dropout, zero_init_residual)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature maps, ``(N, 64, H/4, W/4)``."""
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))


# ----------------------------------------------------------------------------- ImageNet


def _imagenet_resnet(name: str, block: Block, layers: list[int], doc: str):
    """Register the ImageNet ResNet ``name``: ``layers`` stages of ``block``."""

    def build(
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        small_input: bool = False,
        zero_init_residual: bool = False,
        shortcut: str | bool = "B",
        norm: str = "batch",
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> ResNet:
        return ResNet(
            block,
            layers,
            num_classes,
            in_channels,
            small_input,
            zero_init_residual,
            shortcut=shortcut,
            norm=norm,
            activation=activation,
            dropout=dropout,
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = doc
    return register_model(
        family="resnet",
        input_kinds=("image",),
        default_input_size=(3, 224, 224),
        min_input_size=1,  # every stride-2 layer is padded: a 1×1 image stays 1×1
        paper=PAPER,
        name=name,
    )(build)


resnet18 = _imagenet_resnet(
    "resnet18", BasicBlock, [2, 2, 2, 2], "ResNet-18: BasicBlocks [2, 2, 2, 2]."
)
resnet34 = _imagenet_resnet(
    "resnet34", BasicBlock, [3, 4, 6, 3], "ResNet-34: BasicBlocks [3, 4, 6, 3]."
)
resnet50 = _imagenet_resnet(
    "resnet50", Bottleneck, [3, 4, 6, 3], "ResNet-50: Bottlenecks [3, 4, 6, 3]."
)
resnet101 = _imagenet_resnet(
    "resnet101", Bottleneck, [3, 4, 23, 3], "ResNet-101: Bottlenecks [3, 4, 23, 3]."
)
resnet152 = _imagenet_resnet(
    "resnet152", Bottleneck, [3, 8, 36, 3], "ResNet-152: Bottlenecks [3, 8, 36, 3]."
)


# -------------------------------------------------------------------------------- CIFAR


def _cifar_resnet(name: str, n: int, doc: str):
    """Register the CIFAR ResNet ``name``: three stages of ``n`` BasicBlocks."""

    def build(
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        shortcut: str | bool = "A",
        norm: str = "batch",
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> CifarResNet:
        return CifarResNet(
            n,
            num_classes,
            in_channels,
            shortcut,
            norm=norm,
            activation=activation,
            dropout=dropout,
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = doc
    return register_model(
        family="resnet_cifar",
        input_kinds=("image",),
        default_input_size=(3, 32, 32),
        min_input_size=1,  # padded 3×3 convolutions and ⌈size/2⌉ subsampling
        paper=PAPER + " (section 4.2, CIFAR-10)",
        name=name,
    )(build)


resnet20 = _cifar_resnet("resnet20", 3, "ResNet-20 for CIFAR (n = 3, 0.27M parameters).")
resnet32 = _cifar_resnet("resnet32", 5, "ResNet-32 for CIFAR (n = 5, 0.46M parameters).")
resnet44 = _cifar_resnet("resnet44", 7, "ResNet-44 for CIFAR (n = 7, 0.66M parameters).")
resnet56 = _cifar_resnet("resnet56", 9, "ResNet-56 for CIFAR (n = 9, 0.85M parameters).")
resnet110 = _cifar_resnet("resnet110", 18, "ResNet-110 for CIFAR (n = 18, 1.7M parameters).")
