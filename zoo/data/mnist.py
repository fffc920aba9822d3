"""MNIST (LeCun et al. 1998) and Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28×28 grayscale
images of 10 classes, 60,000 for training and 10,000 for testing, through
``torchvision.datasets``.

torchvision keeps the files under ``<data_dir>/MNIST/raw`` (``<data_dir>/FashionMNIST/raw``):
the four IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``. ``prepare_data`` downloads them
when they are missing (``download=True``); ``load`` only reads them, straight from
torchvision's ``uint8`` tensors (no per-image PIL round trip).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torchvision import datasets

from zoo.data.base import LoadedData
from zoo.data.downloaded import DownloadedDataModule
from zoo.errors import ZooError

# The training and test images of MNIST and Fashion-MNIST.
MNIST_COUNT = 70_000


class MNISTDataModule(DownloadedDataModule):
    """MNIST as ``uint8`` ``1×28×28`` images (scaled to [0, 1] by the task on the device).

    The official split: the 10,000 test images are the test set; the validation set is a
    seeded, stratified ``val_fraction`` of the 60,000 training images.

    Args:
        image_size: zero-pad the 28×28 images to ``image_size``×``image_size`` (centred;
            ``32`` gives the 32×32 inputs LeNet-5 was trained on). Images are never resized.
        **kwargs: ``data_dir`` (files in ``<data_dir>/MNIST/raw``), ``download`` and the
            other :class:`~zoo.data.downloaded.DownloadedDataModule` arguments.
    """

    name = "mnist"
    rebuildable = True
    title = "MNIST"
    dataset_class: type[datasets.MNIST] = datasets.MNIST
    native_size = 28

    def __init__(self, *, image_size: int = 28, **kwargs) -> None:
        super().__init__(**kwargs)
        if image_size < self.native_size:
            raise ZooError(
                f"data.image_size must be >= {self.native_size} for {self.title} (its images "
                f"are {self.native_size}x{self.native_size}; image_size zero-pads, it never "
                f"shrinks), got {image_size}."
            )
        self.image_size = image_size

    # -- files ------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """Where torchvision keeps the raw files."""
        return self.data_dir / self.dataset_class.__name__ / "raw"

    @property
    def archives(self) -> list[str]:
        """The files torchvision downloads (gzipped)."""
        return [name for name, _ in self.dataset_class.resources]

    @property
    def expected_files(self) -> list[str]:
        """The unpacked files torchvision reads."""
        return [os.path.splitext(name)[0] for name in self.archives]

    def fetch_hint(self) -> str:
        return (
            f"download {', '.join(self.archives)} from {self.dataset_class.mirrors[0]}, "
            "gunzip them and place them there"
        )

    def to_tensors(self, train: datasets.MNIST, test: datasets.MNIST) -> LoadedData:
        return LoadedData(
            self._images(train.data),
            train.targets.long(),
            class_names=list(train.classes),
            test_inputs=self._images(test.data),
            test_targets=test.targets.long(),
        )

    def memory_estimate(self) -> tuple[int, dict[str, Any]] | None:
        """70,000 ``uint8`` images of ``image_size``² pixels, padded (and split) copies."""
        return MNIST_COUNT * self.image_size**2 * 3, {"image_size": self.image_size}

    def _images(self, data: torch.Tensor) -> torch.Tensor:
        """``N×28×28`` uint8 → ``N×1×S×S`` uint8, zero-padded (centred) to ``image_size``."""
        images = data.to(torch.uint8).unsqueeze(1)
        extra = self.image_size - images.shape[-1]
        if extra:
            before, after = extra // 2, extra - extra // 2
            images = F.pad(images, (before, after, before, after), value=0)
        return images.contiguous()


class FashionMNISTDataModule(MNISTDataModule):
    """Fashion-MNIST (Xiao et al. 2017): Zalando's 28×28 grayscale clothing images in 10
    classes, a drop-in replacement for MNIST with the same layout and split sizes; files in
    ``<data_dir>/FashionMNIST/raw``."""

    name = "fashion_mnist"
    rebuildable = True
    title = "Fashion-MNIST"
    dataset_class = datasets.FashionMNIST
