"""The base of the DataModules whose files torchvision downloads (MNIST, CIFAR, ...).

``prepare_data`` downloads when files are missing (Lightning calls it on one process per
node); ``load`` only reads. Offline and missing, unreadable, or a failed download: one
:class:`~zoo.errors.ZooError` naming the folder, the files expected there and how to get them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.error import URLError

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


class DownloadedDataModule(TensorDataModule):
    """A dataset with an official train/test split, read through a torchvision dataset class.

    Subclasses set ``dataset_class`` and ``title`` and implement :attr:`folder`,
    :attr:`expected_files`, :meth:`fetch_hint` and :meth:`to_tensors`.

    Args:
        data_dir: the folder torchvision downloads into.
        download: fetch missing files in ``prepare_data``; when False, missing files are an
            error.
        **kwargs: the :class:`~zoo.data.base.TensorDataModule` arguments (``test_fraction``
            is unused: the official test split is the test set).
    """

    title = "dataset"
    dataset_class: Any = None

    def __init__(self, *, data_dir: str, download: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("test_fraction", 0.0)
        super().__init__(**kwargs)
        self.data_dir = Path(data_dir).expanduser()
        self.download = download

    # -- what subclasses provide ------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """Where torchvision keeps the files it reads."""
        raise NotImplementedError

    @property
    def expected_files(self) -> list[str]:
        """The files torchvision reads in :attr:`folder`."""
        raise NotImplementedError

    def fetch_hint(self) -> str:
        """How to fetch the files by hand, for the error raised when they are missing."""
        raise NotImplementedError

    def to_tensors(self, train: Any, test: Any) -> LoadedData:
        """The torchvision train and test datasets as tensors."""
        raise NotImplementedError

    # -- files ------------------------------------------------------------------------------
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
            f"online with data.download=true, or {self.fetch_hint()}."
        )

    # -- LightningDataModule ----------------------------------------------------------------
    def prepare_data(self) -> None:
        """Download the files when some are missing."""
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
                f"{self.title} files in {self.folder} are corrupted or unreadable "
                f"({one_line(error)}). Delete them and run once online with "
                "data.download=true to fetch them again."
            ) from error
        return self.to_tensors(train, test)
