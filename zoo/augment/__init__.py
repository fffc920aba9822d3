"""Batched data augmentation from config (primer: "Data Augmentation").

The image transforms are zoo's own (:mod:`zoo.augment.image`, plain torch): each draws its
random parameters per image and transforms the whole ``N×C×H×W`` batch at once, on the device
the batch is on, from torch's global random state (so ``seed_everything`` reproduces it).
Any module with ``batched = True`` is handed whole batches, and so is a kornia.augmentation
transform. Any other (a torchvision.transforms.v2 one, say) still works: it is applied image
by image, which draws per image too, but is many times slower
(``scripts/benchmark_augmentation.py`` measures both).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from zoo.errors import ZooError


class PerImage(nn.Module):
    """Apply a single-image transform to every image of a batch, one at a time."""

    def __init__(self, transform: nn.Module) -> None:
        super().__init__()
        self.transform = transform

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.transform(image) for image in batch])


def transforms_batches(transform: nn.Module) -> bool:
    """Whether ``transform`` takes whole batches: it says so (``batched = True``, as zoo's
    image transforms do) or it is a kornia augmentation."""
    if getattr(transform, "batched", False) is True:
        return True
    # kornia is only looked at when it is already imported (a kornia transform imports it),
    # so zoo does not pay for importing it.
    kornia_base = sys.modules.get("kornia.augmentation.base")
    return kornia_base is not None and isinstance(transform, kornia_base._BasicAugmentationBase)


def batched(transform: nn.Module) -> nn.Module:
    """``transform`` itself when it transforms whole batches, else applied per image."""
    return transform if transforms_batches(transform) else PerImage(transform)


def input_kinds_of(transform: nn.Module) -> tuple[str, ...]:
    """The input kinds a transform applies to: its own ``input_kinds`` (zoo's transforms),
    else images (kornia, torchvision)."""
    return tuple(getattr(transform, "input_kinds", ("image",)))


class BatchAugmentation(nn.Module):
    """Apply named transforms in turn to a batch (``N×C×H×W`` images, ``N×T×D`` series or
    ``N×T`` token ids), each sample with its own random parameters."""

    def __init__(self, transforms: Mapping[str, nn.Module], *, input_kind: str = "image") -> None:
        super().__init__()
        self.input_kind = input_kind
        self.transforms = nn.ModuleDict(
            {name: batched(t) if input_kind == "image" else t for name, t in transforms.items()}
        )

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if self.input_kind == "image" and batch.ndim != 4:
            raise ZooError(
                f"image augmentation needs N x C x H x W batches, got shape {tuple(batch.shape)}."
            )
        for transform in self.transforms.values():
            batch = transform(batch)
        return batch

    def extra_repr(self) -> str:
        return ", ".join(self.transforms)


def build_augmentation(
    options: Mapping[str, Any], *, input_kind: str, data: Mapping[str, Any] | None = None
) -> BatchAugmentation | None:
    """Instantiate the configured augmentation options (``{name: transform config}``).

    Returns None when no option is configured; refuses an option on data of an input kind
    it does not apply to (image transforms on series, series transforms on text, ...), and,
    given the data's description (``input_shape``, ``vocab_size``), values out of proportion
    with it (each transform's ``check_fits``: a padding wider than the image, more masks
    than steps).
    """
    options = {name: spec for name, spec in options.items() if spec is not None}
    if not options:
        return None
    for name, spec in options.items():  # refused before anything is built
        kinds = input_kinds_of(_target_class(name, spec))
        if input_kind not in kinds:
            raise ZooError(
                f"augmentation {name} applies to {' or '.join(kinds)} data, but the data gives "
                f"{input_kind} inputs; use augmentation=[none] or options for {input_kind} data"
                f" ({', '.join(AUGMENTATIONS_FOR.get(input_kind, ('none',)))})."
            )
    transforms = {name: _build(name, spec) for name, spec in options.items()}
    for name, transform in transforms.items():
        check_fits = getattr(transform, "check_fits", None)
        if data is not None and check_fits is not None:
            try:
                check_fits(data)
            except ZooError as error:
                raise ZooError(f"augmentation {name}: {error}") from None
    return BatchAugmentation(transforms, input_kind=input_kind)


def _target_class(name: str, spec: Any) -> Any:
    from zoo.config.sections import import_path

    target = spec.get("_target_") if hasattr(spec, "get") else None
    cls = import_path(target) if isinstance(target, str) else None
    if cls is None:
        raise ZooError(f"augmentation {name}: _target_ {target!r} cannot be imported.")
    return cls


def _build(name: str, spec: Any) -> nn.Module:
    """Instantiate one option; a value it refuses is one line naming the option."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate(spec, _convert_="all")
    except InstantiationException as error:
        cause = error.__cause__ or error
        if isinstance(cause, ZooError):
            raise cause from None
        message = " ".join(str(cause).split())
        raise ZooError(f"augmentation {name} ({spec.get('_target_')}): {message}.") from None


# The augmentation options (configs/augmentation/) for each input kind, for error messages.
AUGMENTATIONS_FOR = {
    "image": ("digits", "cifar", "crop", "flip", "rotate", "color", "erasing"),
    "sequence": ("jitter", "scaling", "time_mask"),
    "tokens": ("substitute",),
}
