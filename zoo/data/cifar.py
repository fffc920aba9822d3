"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009): 32×32 colour images, 50,000 for training and
10,000 for testing, in 10 or 100 classes, through ``torchvision.datasets``.

torchvision downloads ``cifar-10-python.tar.gz`` (``cifar-100-python.tar.gz``) into
``data_dir`` and unpacks it into ``<data_dir>/cifar-10-batches-py`` (``data_batch_1`` ...
``data_batch_5``, ``test_batch``, ``batches.meta``) or ``<data_dir>/cifar-100-python``
(``train``, ``test``, ``meta``); it checks every file's MD5 before reading it.
``prepare_data`` downloads when files are missing (``download=True``); ``load`` only reads,
turning torchvision's ``N×32×32×3`` uint8 array into an ``N×3×32×32`` tensor in no copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision import datasets

from zoo.data.base import LoadedData
from zoo.data.downloaded import DownloadedDataModule


class CIFAR10DataModule(DownloadedDataModule):
    """CIFAR-10 as ``uint8`` ``3×32×32`` images (scaled to [0, 1] by the task on the device).

    The official split: the 10,000 test images are the test set; the validation set is a
    seeded, stratified ``val_fraction`` of the 50,000 training images.

    Takes the :class:`~zoo.data.downloaded.DownloadedDataModule` arguments (``data_dir``:
    the folder torchvision downloads into and unpacks in).
    """

    name = "cifar10"
    rebuildable = True
    title = "CIFAR-10"
    dataset_class: type[datasets.CIFAR10] = datasets.CIFAR10

    # -- files ------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """The folder the archive unpacks into."""
        return self.data_dir / self.dataset_class.base_folder

    @property
    def expected_files(self) -> list[str]:
        cls = self.dataset_class
        return [name for name, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]

    def fetch_hint(self) -> str:
        return (
            f"download {self.dataset_class.url} and extract it in {self.data_dir} (it unpacks "
            f"into {self.dataset_class.base_folder}/; torchvision checks the files' MD5 sums)"
        )

    def to_tensors(self, train: datasets.CIFAR10, test: datasets.CIFAR10) -> LoadedData:
        return LoadedData(
            _images(train.data),
            torch.as_tensor(train.targets, dtype=torch.long),
            class_names=list(train.classes),
            test_inputs=_images(test.data),
            test_targets=torch.as_tensor(test.targets, dtype=torch.long),
        )


def _images(data: np.ndarray) -> torch.Tensor:
    """torchvision's ``N×H×W×C`` uint8 array → an ``N×C×H×W`` uint8 tensor.

    torchvision's array is a transposed view of the files' ``N×C×H×W`` bytes, so the permute
    back is already contiguous and nothing is copied."""
    return torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()


class CIFAR100DataModule(CIFAR10DataModule):
    """CIFAR-100: the same images' sibling set in 100 fine classes (``fine_label_names``),
    600 per class; files in ``<data_dir>/cifar-100-python``."""

    name = "cifar100"
    rebuildable = True
    title = "CIFAR-100"
    dataset_class = datasets.CIFAR100
