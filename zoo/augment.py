"""Batched data augmentation from config (primer: "Data Augmentation").

The transforms are torchvision.transforms.v2 ones. Applied to a batch tensor, a v2 transform
draws one set of random parameters for the whole batch; augmentation must draw them per
image, so :class:`BatchAugmentation` applies the pipeline to each image of a batch on the
device the batch is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torchvision.transforms import v2

from zoo.errors import ZooError


class BatchAugmentation(nn.Module):
    """Apply a v2 pipeline independently to every image of an ``N×C×H×W`` batch."""

    def __init__(self, transforms: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.names = list(transforms)
        self.pipeline = v2.Compose(list(transforms.values()))

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.ndim != 4:
            raise ZooError(
                f"image augmentation needs N x C x H x W batches, got shape {tuple(batch.shape)}."
            )
        return torch.stack([self.pipeline(image) for image in batch])

    def extra_repr(self) -> str:
        return ", ".join(self.names)


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
            "inputs; "
            "use augmentation=[none] (or data=digits for images)."
        )
    return BatchAugmentation({name: instantiate(spec) for name, spec in options.items()})
