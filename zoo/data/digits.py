"""scikit-learn's handwritten digits (UCI ML hand-written digits, 1,797 8×8 images, 10
classes), shipped inside scikit-learn: the default dataset, no download needed."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from zoo.data.base import LoadedData, TensorDataModule
from zoo.errors import ZooError

# The images in scikit-learn's digits.
DIGITS_COUNT = 1797


class DigitsDataModule(TensorDataModule):
    """Digits as ``1×image_size×image_size`` images for CNNs (bilinear upsampling of the 8×8
    originals), or as flat 64-vectors (``flatten=True``) for an MLP. Pixels scale to [0, 1].
    """

    name = "digits"
    rebuildable = True

    def __init__(self, *, flatten: bool = False, image_size: int = 32, **kwargs) -> None:
        super().__init__(**kwargs)
        if image_size < 8:
            raise ZooError(
                f"data.image_size must be >= 8 (the originals are 8x8), got {image_size}."
            )
        self.flatten = flatten
        if flatten:
            self.name = "digits_flat"
        self.image_size = image_size

    def memory_estimate(self) -> tuple[int, dict[str, Any]] | None:
        """1,797 float images of ``image_size``² pixels, resized (and split) copies."""
        if self.flatten:
            return None
        return DIGITS_COUNT * self.image_size**2 * 4 * 3, {"image_size": self.image_size}

    def load(self) -> LoadedData:
        digits = load_digits()
        images = torch.tensor(digits.images, dtype=torch.float32) / 16.0
        targets = torch.tensor(digits.target, dtype=torch.long)
        if self.flatten:
            inputs = images.reshape(len(images), -1)
        else:
            inputs = images.unsqueeze(1)
            if self.image_size != 8:
                inputs = F.interpolate(
                    inputs,
                    size=(self.image_size, self.image_size),
                    mode="bilinear",
                    align_corners=False,
                ).clamp_(0.0, 1.0)
        return LoadedData(inputs, targets, class_names=[str(c) for c in digits.target_names])
