"""Batched data augmentation from config (primer: "Data Augmentation").

The transforms are kornia.augmentation ones: each draws its random parameters per image
(``same_on_batch=False``) and transforms the whole ``N×C×H×W`` batch at once, on the device
the batch is on, from torch's global random state (so ``seed_everything`` reproduces it).
A transform that is not a kornia augmentation (a torchvision.transforms.v2 one, say) still
works: it is applied image by image, which draws per image too, but is many times slower
(``scripts/benchmark_augmentation.py`` measures both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from kornia.augmentation.base import _BasicAugmentationBase
from torch import nn

from zoo.errors import ZooError


class PerImage(nn.Module):
    """Apply a single-image transform to every image of a batch, one at a time."""

    def __init__(self, transform: nn.Module) -> None:
        super().__init__()
        self.transform = transform

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.transform(image) for image in batch])


def batched(transform: nn.Module) -> nn.Module:
    """``transform`` itself when it transforms whole batches (kornia), else per image."""
    return transform if isinstance(transform, _BasicAugmentationBase) else PerImage(transform)


class BatchAugmentation(nn.Module):
    """Apply named transforms in turn to an ``N×C×H×W`` float batch, each image with its own
    random parameters."""

    def __init__(self, transforms: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.transforms = nn.ModuleDict({name: batched(t) for name, t in transforms.items()})

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.ndim != 4:
            raise ZooError(
                f"image augmentation needs N x C x H x W batches, got shape {tuple(batch.shape)}."
            )
        for transform in self.transforms.values():
            batch = transform(batch)  # (N, C, H, W)
        return batch

    def extra_repr(self) -> str:
        return ", ".join(self.transforms)


def build_augmentation(options: Mapping[str, Any], *, input_kind: str) -> BatchAugmentation | None:
    """Instantiate the configured augmentation options (``{name: transform config}``).

    Returns None when no option is configured; refuses image augmentation on non-image data.
    """
    from hydra.utils import instantiate

    options = {name: spec for name, spec in options.items() if spec is not None}
    if not options:
        return None
    if input_kind != "image":
        raise ZooError(
            f"augmentation {list(options)} needs image data, but the data gives {input_kind} "
            "inputs; use augmentation=[none] (or data=digits for images)."
        )
    return BatchAugmentation(
        {name: instantiate(spec, _convert_="all") for name, spec in options.items()}
    )
