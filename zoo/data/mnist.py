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
from urllib.error import URLError

import torch
import torch.nn.functional as F
from torchvision import datasets

from zoo.data.base import LoadedData, TensorDataModule
from zoo.errors import ZooError

# Exceptions a failing download raises: URLError/HTTPError and socket errors are OSErrors;
# torchvision raises RuntimeError when every mirror failed or a checksum does not match.
DOWNLOAD_ERRORS = (URLError, OSError, RuntimeError)
# Exceptions torchvision raises on files that exist but cannot be read.
READ_ERRORS = (RuntimeError, OSError, ValueError, TypeError, AssertionError, EOFError)


def one_line(error: BaseException) -> str:
    """``error`` as a single line: its type and its message with whitespace collapsed."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class MNISTDataModule(TensorDataModule):
    """MNIST as ``uint8`` ``1×28×28`` images (scaled to [0, 1] by the task on the device).

    The official split: the 10,000 test images are the test set; the validation set is a
    seeded, stratified ``val_fraction`` of the 60,000 training images.

    Args:
        data_dir: the folder torchvision downloads into (``<data_dir>/MNIST/raw``).
        download: fetch missing files in ``prepare_data``; when False, missing files are an
            error.
        image_size: zero-pad the 28×28 images to ``image_size``×``image_size`` (centred;
            ``32`` gives the 32×32 inputs LeNet-5 was trained on). Images are never resized.
        **kwargs: the :class:`~zoo.data.base.TensorDataModule` arguments (``test_fraction``
            is unused: the official test split is the test set).
    """

    name = "mnist"
    title = "MNIST"
    dataset_class: type[datasets.MNIST] = datasets.MNIST
    native_size = 28

    def __init__(
        self, *, data_dir: str, download: bool = True, image_size: int = 28, **kwargs
    ) -> None:
        kwargs.setdefault("test_fraction", 0.0)
        super().__init__(**kwargs)
        if image_size < self.native_size:
            raise ZooError(
                f"data.image_size must be >= {self.native_size} for {self.title} (its images "
                f"are {self.native_size}x{self.native_size}; image_size zero-pads, it never "
                f"shrinks), got {image_size}."
            )
        self.data_dir = Path(data_dir).expanduser()
        self.download = download
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

    def missing_files(self) -> list[str]:
        return [name for name in self.expected_files if not (self.folder / name).is_file()]

    def not_found(self, reason: str | None = None) -> ZooError:
        """The error for missing files, with the download's failure when there was one."""
        missing = self.missing_files()
        expected = ", ".join(self.expected_files)
        if missing and len(missing) < len(self.expected_files):
            expected += f" (missing: {', '.join(missing)})"
        failure = f"; the download failed ({reason})" if reason else ""
        return ZooError(
            f"{self.title} not found in {self.folder}: expected {expected}{failure}. Run once "
            f"online with data.download=true, or download {', '.join(self.archives)} from "
            f"{self.dataset_class.mirrors[0]}, gunzip them and place them there."
        )

    # -- LightningDataModule ----------------------------------------------------------------
    def prepare_data(self) -> None:
        """Download the files when some are missing (Lightning calls this on one process
        per node)."""
        if not self.download or not self.missing_files():
            return
        try:
            self.dataset_class(str(self.data_dir), train=True, download=True)
        except DOWNLOAD_ERRORS as error:
            raise self.not_found(one_line(error)) from error

    def load(self) -> LoadedData:
        if self.missing_files():
            raise self.not_found()
        try:
            train = self.dataset_class(str(self.data_dir), train=True, download=False)
            test = self.dataset_class(str(self.data_dir), train=False, download=False)
        except READ_ERRORS as error:
            raise ZooError(
                f"{self.title} files in {self.folder} could not be read ({one_line(error)}). "
                f"Delete them and run once online with data.download=true to fetch them again."
            ) from error
        return LoadedData(
            self._images(train.data),
            train.targets.long(),
            class_names=list(train.classes),
            test_inputs=self._images(test.data),
            test_targets=test.targets.long(),
        )

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
    title = "Fashion-MNIST"
    dataset_class = datasets.FashionMNIST
