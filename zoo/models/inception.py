"""Inception networks; primer: "Convolutional Neural Networks", "Advanced Architectures".

* GoogLeNet, or Inception v1 (Szegedy et al. 2015, "Going deeper with convolutions").
* Inception v3 (Szegedy, Vanhoucke, Ioffe, Shlens & Wojna 2016, "Rethinking the Inception
  architecture for computer vision").

An Inception module runs several branches side by side on the same input — 1×1, 3×3 and 5×5
convolutions and a pooling branch — and concatenates their outputs along the channels, so
the network chooses per layer which receptive field to use. 1×1 convolutions reduce the
channels before the expensive filters ("bottlenecks"), which keeps the cost in check. Both
networks attach auxiliary classifiers to intermediate layers during training; their losses
(weighted 0.3 by the classification task) push gradient into the lower layers. In training
mode with ``aux_logits=True`` the models return a named tuple ``(logits, aux...)``; in eval
mode, or with ``aux_logits=False``, only the logits tensor.

Both follow torchvision's layout and state dict keys, so its weights load:

* every convolution is ``conv (no bias) → batch norm (eps 0.001) → ReLU`` (:class:`ConvBlock`);
  the original GoogLeNet had no batch norm.
* torchvision's GoogLeNet uses a 3×3 convolution in the "5×5" branch of its Inception modules
  (pytorch/vision#906); we keep it so that the weights and the parameter count match.
* torchvision's ``transform_input`` (re-normalizing ImageNet inputs for ported Google weights)
  is not included: normalization belongs to the data module.

``small_input=True`` (for 28–32 pixel images) keeps the stem at full resolution:
GoogLeNet's 7×7/2 ``conv1`` becomes a 3×3 stride-1 convolution and ``maxpool1`` and
``maxpool2`` are removed (the Inception modules then see 32, 16 and 8 pixel maps);
Inception v3's ``Conv2d_1a_3x3`` loses its stride, its three unpadded stem convolutions get
padding 1, and ``maxpool1`` and ``maxpool2`` are removed (the modules see 32, 15 and 7 pixel
maps). Inception v3's auxiliary classifier then average-pools adaptively to 5×5 instead of
with a 5×5/3 window. In the small form ``aux_logits`` defaults to False.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from zoo.models.layers import Classifier, check_dropout, check_input_size, check_sizes
from zoo.registry import register_model

# Smallest inputs, measured by running the models (tests/models/test_cnns.py checks them).
GOOGLENET_MIN_INPUT_SIZE = 15
GOOGLENET_SMALL_MIN_INPUT_SIZE = 2
INCEPTION_V3_MIN_INPUT_SIZE = 75
INCEPTION_V3_AUX_MIN_INPUT_SIZE = 299  # the auxiliary head's 5×5/3 pool and 5×5 conv need 17×17
INCEPTION_V3_SMALL_MIN_INPUT_SIZE = 7


def _aux_enabled(aux_logits: bool | None, small_input: bool) -> bool:
    """``aux_logits=None`` means: on at the ImageNet size, off in the small-input form."""
    return (not small_input) if aux_logits is None else bool(aux_logits)


class ConvBlock(nn.Module):
    """``conv → batch norm → ReLU``; the convolution has no bias (batch norm adds one)."""

    def __init__(self, in_channels: int, out_channels: int, **conv_kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _trunc_normal_init(model: nn.Module, default_std: float) -> None:
    """Truncated normal weights (as torchvision): std ``default_std``, or a layer's own
    ``init_std``; batch norm starts as the identity."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            std = getattr(module, "init_std", default_std)
            nn.init.trunc_normal_(module.weight, mean=0.0, std=std, a=-2.0, b=2.0)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


# ================================================================ GoogLeNet (Inception v1)


class GoogLeNetOutputs(NamedTuple):
    """GoogLeNet's training-mode output: main logits and the two auxiliary classifiers'."""

    logits: torch.Tensor
    aux1: torch.Tensor
    aux2: torch.Tensor


class InceptionV1(nn.Module):
    """The Inception module of GoogLeNet (paper Figure 2b, Table 1 columns).

    Four branches concatenated along channels: 1×1; 1×1 → 3×3; 1×1 → "5×5" (a 3×3 in
    torchvision, see the module docstring); 3×3 max-pool → 1×1.
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3_reduce: int,
        ch3x3: int,
        ch5x5_reduce: int,
        ch5x5: int,
        pool_proj: int,
    ) -> None:
        super().__init__()
        self.branch1 = ConvBlock(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            ConvBlock(in_channels, ch3x3_reduce, kernel_size=1),
            ConvBlock(ch3x3_reduce, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            ConvBlock(in_channels, ch5x5_reduce, kernel_size=1),
            ConvBlock(ch5x5_reduce, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            ConvBlock(in_channels, pool_proj, kernel_size=1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)


class GoogLeNetAux(nn.Module):
    """GoogLeNet's auxiliary classifier: average pool to 4×4 → 1×1 conv (128) → fc 1024 →
    ReLU → dropout → fc ``num_classes`` (the paper pools 5×5/3 on a 14×14 map: also 4×4)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = ConvBlock(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(torch.flatten(x, 1)), inplace=True)
        return self.fc2(self.dropout(x))


class _Inception(Classifier):
    """What GoogLeNet and Inception v3 share: the head (global average pooling, dropout and
    ``fc``) and, in training with auxiliary classifiers, the output tuple (:attr:`outputs`)
    of the logits and theirs."""

    outputs: Callable[..., tuple[torch.Tensor, ...]]

    def build_head(self, num_classes: int, dropout: float, std: float) -> None:
        """The head after the ``num_features`` maps; then every layer's initialization
        (truncated normal of ``std`` where a layer sets none)."""
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(self.num_features, num_classes)
        _trunc_normal_init(self, default_std=std)

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last Inception module's maps, ``(N, num_features, H', W')``."""
        return self._features(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        features, aux = self._features(x)
        logits = self.forward_head(features)
        return self.outputs(logits, *aux) if aux else logits


class GoogLeNet(_Inception):
    """GoogLeNet: a stem, nine Inception modules (3a–3b, 4a–4e, 5a–5b) with max-pools
    between the groups, global average pooling, dropout and ``fc``; two auxiliary
    classifiers on the outputs of 4a and 4d.

    ``forward_features`` returns the maps of inception5b (``num_features`` = 1024 channels);
    ``forward_head`` pools, applies dropout and classifies.
    """

    outputs = GoogLeNetOutputs

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = True,
        dropout: float = 0.2,
        aux_dropout: float = 0.7,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        check_sizes("GoogLeNet", num_classes, in_channels)
        check_dropout(dropout)
        check_dropout(aux_dropout, "aux_dropout")
        self.aux_logits = aux_logits
        self.aux_dropout = aux_dropout
        self.small_input = small_input
        self.min_input_size = (
            GOOGLENET_SMALL_MIN_INPUT_SIZE if small_input else GOOGLENET_MIN_INPUT_SIZE
        )
        # Stem (224 → 28 pixels; kept at full resolution in the small form).
        if small_input:
            self.conv1 = ConvBlock(in_channels, 64, kernel_size=3, stride=1, padding=1)
            self.maxpool1: nn.Module = nn.Identity()
        else:
            self.conv1 = ConvBlock(in_channels, 64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = ConvBlock(64, 64, kernel_size=1)
        self.conv3 = ConvBlock(64, 192, kernel_size=3, padding=1)
        self.maxpool2: nn.Module = (
            nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, ceil_mode=True)
        )
        # Inception modules, channels as in the paper's Table 1 (28×28 → 14×14 → 7×7).
        self.inception3a = InceptionV1(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = InceptionV1(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = InceptionV1(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = InceptionV1(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = InceptionV1(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = InceptionV1(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = InceptionV1(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = InceptionV1(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = InceptionV1(832, 384, 192, 384, 48, 128, 128)
        self.num_features = self.inception5b.out_channels  # 1024
        self.aux1: GoogLeNetAux | None = None
        self.aux2: GoogLeNetAux | None = None
        if aux_logits:
            self.aux1 = GoogLeNetAux(512, num_classes, aux_dropout)
            self.aux2 = GoogLeNetAux(528, num_classes, aux_dropout)
        self.build_head(num_classes, dropout, std=0.01)

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The inception5b maps, and the auxiliary logits when they are wanted."""
        check_input_size(x, self.min_input_size, "GoogLeNet")
        want_aux = self.training and self.aux1 is not None and self.aux2 is not None
        aux: list[torch.Tensor] = []
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        if want_aux:
            aux.append(self.aux1(x))
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        if want_aux:
            aux.append(self.aux2(x))
        x = self.maxpool4(self.inception4e(x))
        return self.inception5b(self.inception5a(x)), aux

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pooling, dropout and ``fc``."""
        return self.fc(self.dropout(torch.flatten(self.avgpool(features), 1)))

    def reset_classifier(self, num_classes: int) -> None:
        """Fresh ``fc`` (and fresh auxiliary classifiers) for ``num_classes`` outputs."""
        fc = nn.Linear(self.num_features, num_classes)
        nn.init.trunc_normal_(fc.weight, mean=0.0, std=0.01, a=-2.0, b=2.0)
        if self.aux_logits:
            aux1 = GoogLeNetAux(512, num_classes, self.aux_dropout)
            aux2 = GoogLeNetAux(528, num_classes, self.aux_dropout)
            _trunc_normal_init(aux1, 0.01)
            _trunc_normal_init(aux2, 0.01)
            self.aux1, self.aux2 = self.like_model(aux1), self.like_model(aux2)
        self.fc = self.like_model(fc)


INCEPTION_FIXED = {
    "norm": "batch norm is part of every Inception convolution block (torchvision's layout, "
    "whose weights load).",
    "activation": "Inception's convolution blocks are conv, batch norm, ReLU by design "
    "(torchvision's layout, whose weights load).",
}


def googlenet_min_input_size(kwargs: dict) -> int:
    """The smallest height/width GoogLeNet built with ``kwargs`` accepts."""
    if kwargs.get("small_input"):
        return GOOGLENET_SMALL_MIN_INPUT_SIZE
    return GOOGLENET_MIN_INPUT_SIZE


@register_model(
    family="inception",
    input_kinds=("image",),
    default_input_size=(3, 224, 224),
    min_input_size=googlenet_min_input_size,
    paper="Szegedy et al. 2015, Going deeper with convolutions",
    inapplicable=INCEPTION_FIXED,
)
def googlenet(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    aux_logits: bool | None = None,
    dropout: float = 0.2,
    aux_dropout: float = 0.7,
    small_input: bool = False,
) -> GoogLeNet:
    """GoogLeNet (Inception v1). ``aux_logits=None``: auxiliary classifiers on at the
    ImageNet size (as torchvision's default), off with ``small_input=True``."""
    return GoogLeNet(
        num_classes,
        in_channels,
        _aux_enabled(aux_logits, small_input),
        dropout,
        aux_dropout,
        small_input,
    )


# ============================================================================ Inception v3


class InceptionV3Outputs(NamedTuple):
    """Inception v3's training-mode output: main logits and the auxiliary classifier's."""

    logits: torch.Tensor
    aux_logits: torch.Tensor


class InceptionA(nn.Module):
    """35×35 module (paper Figure 5): 1×1; 1×1 → 5×5; 1×1 → 3×3 → 3×3 (a factorized 5×5);
    3×3 average pool → 1×1 (``pool_features`` channels). 224 + ``pool_features`` outputs."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = ConvBlock(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = ConvBlock(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = ConvBlock(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = ConvBlock(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = ConvBlock(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = ConvBlock(96, 96, kernel_size=3, padding=1)
        self.branch_pool = ConvBlock(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], dim=1)


class InceptionB(nn.Module):
    """Grid reduction 35×35 → 17×17 (paper section 7, Figure 10): stride-2 3×3; 1×1 → 3×3 →
    stride-2 3×3; stride-2 3×3 max-pool, side by side, so the size halves while the
    channels grow (288 → 768) without a representational bottleneck."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = ConvBlock(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = ConvBlock(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = ConvBlock(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = ConvBlock(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3(x)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch3x3dbl, branch_pool], dim=1)


class InceptionC(nn.Module):
    """17×17 module (paper Figure 6): n×n convolutions factorized into 1×7 and 7×1 ones
    (``channels_7x7`` wide inside), four branches of 192 channels each (768 outputs)."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = ConvBlock(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = ConvBlock(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = ConvBlock(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = ConvBlock(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = ConvBlock(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = ConvBlock(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = ConvBlock(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = ConvBlock(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = ConvBlock(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = ConvBlock(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        branch7x7dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(branch7x7dbl))
        branch7x7dbl = self.branch7x7dbl_5(self.branch7x7dbl_4(branch7x7dbl))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch7x7, branch7x7dbl, branch_pool], dim=1)


class InceptionD(nn.Module):
    """Grid reduction 17×17 → 8×8: 1×1 → stride-2 3×3; 1×1 → 1×7 → 7×1 → stride-2 3×3;
    stride-2 3×3 max-pool (768 → 1280 channels)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = ConvBlock(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = ConvBlock(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = ConvBlock(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = ConvBlock(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBlock(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBlock(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_2(self.branch7x7x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(branch7x7x3))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch7x7x3, branch_pool], dim=1)


class InceptionE(nn.Module):
    """8×8 module with expanded filter banks (paper Figure 7): the 3×3 convolutions split
    into parallel 1×3 and 3×1 ones whose outputs are concatenated (2048 outputs)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch1x1 = ConvBlock(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = ConvBlock(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = ConvBlock(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBlock(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBlock(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = ConvBlock(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = ConvBlock(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBlock(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = ConvBlock(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat(
            [self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1
        )
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], dim=1)


class InceptionV3Aux(nn.Module):
    """Inception v3's auxiliary classifier on the 17×17 maps: 5×5/3 average pool (→ 5×5)
    → 1×1 conv (128) → 5×5 conv (768) → fc. The paper found it acts as a regularizer.

    ``adaptive=True`` (small-input form) pools adaptively to 5×5 instead, so smaller maps work.
    """

    def __init__(self, in_channels: int, num_classes: int, adaptive: bool = False) -> None:
        super().__init__()
        self.adaptive = adaptive
        self.conv0 = ConvBlock(in_channels, 128, kernel_size=1)
        self.conv1 = ConvBlock(128, 768, kernel_size=5)
        self.conv1.conv.init_std = 0.01  # read by _trunc_normal_init, as torchvision's
        self.fc = nn.Linear(768, num_classes)
        self.fc.init_std = 0.001

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.adaptive:
            x = F.adaptive_avg_pool2d(x, (5, 5))
        else:
            x = F.avg_pool2d(x, kernel_size=5, stride=3)
        x = self.conv1(self.conv0(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class InceptionV3(_Inception):
    """Inception v3: a stem of plain convolutions (299 → 35 pixels), three InceptionA
    modules (35×35), a reduction, four InceptionC (17×17), a reduction, two InceptionE
    (8×8), global average pooling, dropout and ``fc``; one auxiliary classifier on the last
    17×17 maps. Module names are torchvision's (after the original TensorFlow graph).

    ``forward_features`` returns the maps of ``Mixed_7c`` (``num_features`` = 2048);
    ``forward_head`` pools, applies dropout and classifies.
    """

    outputs = InceptionV3Outputs

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = True,
        dropout: float = 0.5,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        check_sizes("Inception-v3", num_classes, in_channels)
        check_dropout(dropout)
        self.aux_logits = aux_logits
        self.small_input = small_input
        # Stem; the small form removes the stride of 1a, pads 1a, 2a and 4a, and drops both
        # max-pools, so the maps keep the input's size until Mixed_6a.
        pad = 1 if small_input else 0
        stride = 1 if small_input else 2
        self.Conv2d_1a_3x3 = ConvBlock(in_channels, 32, kernel_size=3, stride=stride, padding=pad)
        self.Conv2d_2a_3x3 = ConvBlock(32, 32, kernel_size=3, padding=pad)
        self.Conv2d_2b_3x3 = ConvBlock(32, 64, kernel_size=3, padding=1)
        self.maxpool1: nn.Module = (
            nn.Identity() if small_input else nn.MaxPool2d(kernel_size=3, stride=2)
        )
        self.Conv2d_3b_1x1 = ConvBlock(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = ConvBlock(80, 192, kernel_size=3, padding=pad)
        self.maxpool2: nn.Module = (
            nn.Identity() if small_input else nn.MaxPool2d(kernel_size=3, stride=2)
        )
        # Inception modules.
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.AuxLogits: InceptionV3Aux | None = None
        if aux_logits:
            self.AuxLogits = InceptionV3Aux(768, num_classes, adaptive=small_input)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.num_features = 2048
        self.build_head(num_classes, dropout, std=0.1)

    @property
    def min_input_size(self) -> int:
        """The smallest image size the model takes in its current mode (the auxiliary head
        runs in training mode only and needs larger inputs)."""
        return inception_v3_min_input_size(
            {"small_input": self.small_input, "aux_logits": self.aux_logits and self.training}
        )

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The Mixed_7c maps, and the auxiliary logits when they are wanted."""
        check_input_size(x, self.min_input_size, "Inception-v3")
        x = self.maxpool1(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))
        x = self.Mixed_6a(x)
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))
        aux = [self.AuxLogits(x)] if self.training and self.AuxLogits is not None else []
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        return x, aux

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pooling, dropout and ``fc``."""
        return self.fc(torch.flatten(self.dropout(self.avgpool(features)), 1))

    def reset_classifier(self, num_classes: int) -> None:
        """Fresh ``fc`` (and a fresh auxiliary classifier) for ``num_classes`` outputs."""
        fc = nn.Linear(self.num_features, num_classes)
        nn.init.trunc_normal_(fc.weight, mean=0.0, std=0.1, a=-2.0, b=2.0)
        if self.aux_logits:
            aux = InceptionV3Aux(768, num_classes, adaptive=self.small_input)
            _trunc_normal_init(aux, default_std=0.1)
            self.AuxLogits = self.like_model(aux)
        self.fc = self.like_model(fc)


def inception_v3_min_input_size(kwargs: dict) -> int:
    """The smallest height/width Inception v3 built with ``kwargs`` trains on."""
    small_input = bool(kwargs.get("small_input"))
    if small_input:
        return INCEPTION_V3_SMALL_MIN_INPUT_SIZE
    if _aux_enabled(kwargs.get("aux_logits"), small_input):
        return INCEPTION_V3_AUX_MIN_INPUT_SIZE
    return INCEPTION_V3_MIN_INPUT_SIZE


@register_model(
    family="inception",
    input_kinds=("image",),
    default_input_size=(3, 299, 299),
    min_input_size=inception_v3_min_input_size,
    paper="Szegedy, Vanhoucke, Ioffe, Shlens & Wojna 2016, Rethinking the Inception "
    "architecture for computer vision",
    inapplicable=INCEPTION_FIXED,
)
def inception_v3(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    aux_logits: bool | None = None,
    dropout: float = 0.5,
    small_input: bool = False,
) -> InceptionV3:
    """Inception v3. ``aux_logits=None``: the auxiliary classifier is on at the ImageNet size
    (as torchvision's default; training then needs 299×299 inputs), off with
    ``small_input=True``."""
    return InceptionV3(
        num_classes, in_channels, _aux_enabled(aux_logits, small_input), dropout, small_input
    )
