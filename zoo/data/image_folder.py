"""Your own images, in torchvision's ``ImageFolder`` layout: one sub-folder per class::

    root/cat/001.png
    root/cat/002.jpg
    root/dog/001.png
    ...

Classes are the sub-folder names in sorted order. Every image is decoded once, converted to
RGB (``channels=3``) or grayscale (``channels=1``), brought to ``image_size``×``image_size``
and kept as a ``uint8`` tensor, so training slices tensors like the other small datasets.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision import datasets

from zoo.data.base import LoadedData, TensorDataModule
from zoo.errors import ZooError
from zoo.preprocessing import too_many_pixels

CHANNEL_MODES = {3: "RGB", 1: "L"}
# crop: scale the shorter side to image_size, then cut the centre square (keeps the aspect
# ratio, like Resize + CenterCrop); stretch: scale each side to image_size.
RESIZE_MODES = ("crop", "stretch")
MAX_READERS = 8
# The most files and folders the listing of an image folder visits: a bound on the walk of a
# folder nobody meant (a home folder, a root written into a shared record).
MAX_LISTED_ENTRIES = 1_000_000


@dataclass
class ImageListing:
    """The images of a folder in torchvision's ``ImageFolder`` layout, in its order."""

    classes: list[str]
    class_to_idx: dict[str, int]
    samples: list[tuple[str, int]]

    @property
    def targets(self) -> list[int]:
        return [target for _, target in self.samples]


def list_images(root: Path, key: str) -> ImageListing:
    """The image files of ``root``'s class sub-folders, in the order torchvision's
    ``ImageFolder`` lists them (sorted folders, then sorted names). Unlike it, the walk does
    not enter links to folders below a class folder (a link to a parent made it loop, or
    branch exponentially) and stops past :data:`MAX_LISTED_ENTRIES` entries."""
    classes, class_to_idx = datasets.folder.find_classes(str(root))
    samples: list[tuple[str, int]] = []
    visited = 0
    empty = []
    for name in classes:
        walked = []
        for folder, folders, files in os.walk(root / name, followlinks=False):
            visited += len(folders) + len(files)
            if visited > MAX_LISTED_ENTRIES:
                raise ZooError(
                    f"data.{key} {str(root)!r} holds more than {MAX_LISTED_ENTRIES:,} files and "
                    "folders; allowed: a folder of one sub-folder of images per class."
                )
            walked.append((folder, files))
        found = [
            (os.path.join(folder, file), class_to_idx[name])
            for folder, files in sorted(walked)
            for file in sorted(files)
            if datasets.folder.has_file_allowed_extension(file, datasets.folder.IMG_EXTENSIONS)
        ]
        if not found:
            empty.append(name)
        samples += found
    if empty:
        raise ZooError(
            f"data.{key} {str(root)!r} does not hold images in one sub-folder per class (no "
            f"image in {', '.join(empty)}; the image files end in "
            f"{', '.join(datasets.folder.IMG_EXTENSIONS)})."
        )
    return ImageListing(classes, class_to_idx, samples)


def _check_class_folders(root: Path, key: str) -> None:
    """A ``ZooError`` if ``root`` is not a folder with at least one sub-folder, or is the
    file system's root (a walk of every file, not a folder of images anyone meant)."""
    if root.resolve().parent == root.resolve():
        raise ZooError(
            f"data.{key} is {str(root)!r}, the file system's root; allowed: a folder holding "
            "one sub-folder of images per class."
        )
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "does not exist"
        raise ZooError(
            f"data.{key} {str(root)!r} {problem}: it should be a folder holding one "
            "sub-folder of images per class (torchvision's ImageFolder layout)."
        )
    if not any(entry.is_dir() for entry in os.scandir(root)):
        raise ZooError(
            f"data.{key} {str(root)!r} does not hold images in one sub-folder per class "
            "(it has no sub-folder)."
        )


def _check_class_count(root: Path, classes: list[str]) -> None:
    """A ``ZooError`` if ``root`` has fewer than two class sub-folders."""
    if len(classes) < 2:
        raise ZooError(
            f"data.root {str(root)!r} has {len(classes)} class folder ({', '.join(classes)}); "
            "classification needs at least 2, one sub-folder of images per class."
        )


class ImageFolderDataModule(TensorDataModule):
    """Images from class sub-folders as ``uint8`` ``channels×image_size×image_size`` tensors.

    The validation set (and, without ``test_root``, the test set) are seeded, stratified
    fractions of ``root``'s images.

    Args:
        root: the training folder, one sub-folder per class.
        test_root: an optional test folder with the same layout (its class folders must be
            among ``root``'s); without one a ``test_fraction`` of ``root`` is the test set.
        image_size: the side of the square every image is brought to.
        channels: 3 (RGB) or 1 (grayscale).
        resize: "crop" (scale the shorter side, cut the centre square) or "stretch".
        **kwargs: the :class:`~zoo.data.base.TensorDataModule` arguments.
    """

    name = "image_folder"
    rebuildable = True

    def __init__(
        self,
        *,
        root: str,
        test_root: str | None = None,
        image_size: int = 64,
        channels: int = 3,
        resize: str = "crop",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if image_size < 1:
            raise ZooError(f"data.image_size must be >= 1, got {image_size}.")
        if channels not in CHANNEL_MODES:
            raise ZooError(f"data.channels must be 3 (RGB) or 1 (grayscale), got {channels!r}.")
        if resize not in RESIZE_MODES:
            raise ZooError(f"data.resize must be one of {', '.join(RESIZE_MODES)}, got {resize!r}.")
        self.root = Path(root).expanduser()
        self.test_root = Path(test_root).expanduser() if test_root else None
        # refused here, before training starts, when nothing can be read (images are
        # listed and decoded only in setup)
        for key, folder in (("root", self.root), ("test_root", self.test_root)):
            if folder is not None:
                _check_class_folders(folder, key)
        self.image_size = image_size
        self.channels = channels
        self.resize = resize

    @classmethod
    def describe_source(cls, **config: Any) -> dict[str, Any]:
        """What the folder gives before any image is decoded: ``num_classes``, its number
        of class sub-folders (torchvision's ``find_classes``), which a config leaving
        ``data.num_classes`` null is filled from."""
        root = Path(str(config.get("root"))).expanduser()
        _check_class_folders(root, "root")
        classes, _ = datasets.folder.find_classes(str(root))
        _check_class_count(root, classes)
        declared = config.get("num_classes")
        if declared not in (None, "auto") and declared != len(classes):
            raise ZooError(
                f"data.num_classes={declared!r}, but data.root {str(root)!r} has "
                f"{len(classes)} class sub-folders ({', '.join(classes)}); leave "
                "data.num_classes unset to take theirs."
            )
        return {"num_classes": len(classes)}

    # -- reading ----------------------------------------------------------------------------
    def _folder(self, root: Path, key: str) -> ImageListing:
        """The file listing of ``root`` (no image is decoded here)."""
        _check_class_folders(root, key)
        return list_images(root, key)

    def _read(self, path: str) -> np.ndarray:
        size = (self.image_size, self.image_size)
        try:
            with Image.open(path) as image:
                image = image.convert(CHANNEL_MODES[self.channels])
                if self.resize == "crop":
                    image = ImageOps.fit(image, size, method=Image.Resampling.BILINEAR)
                elif image.size != size:
                    image = image.resize(size, Image.Resampling.BILINEAR)
                return np.asarray(image, dtype=np.uint8)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise too_many_pixels(path, error) from None
        except (UnidentifiedImageError, OSError) as error:
            raise ZooError(f"cannot read image {path}: {error}") from error

    def _images(self, paths: list[str]) -> torch.Tensor:
        """Decode ``paths`` (in threads: PIL releases the GIL while decoding and resizing)."""
        workers = max(1, min(MAX_READERS, os.cpu_count() or 1, len(paths)))
        nbytes = len(paths) * self.channels * self.image_size**2 * 3  # decoded, stacked, split
        self.check_memory(nbytes, {"image_size": self.image_size})
        # an image over PIL's pixel limit is refused (it warns below twice the limit): the
        # filter is process-wide, so the reading threads see it
        with warnings.catch_warnings(), ThreadPoolExecutor(workers) as pool:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            arrays = list(pool.map(self._read, paths))
        images = torch.from_numpy(np.stack(arrays))
        if self.channels == 1:
            return images.unsqueeze(1).contiguous()
        return images.permute(0, 3, 1, 2).contiguous()

    def load(self) -> LoadedData:
        train = self._folder(self.root, "root")
        _check_class_count(self.root, train.classes)
        inputs = self._images([path for path, _ in train.samples])
        targets = torch.tensor(train.targets, dtype=torch.long)
        test_inputs = test_targets = None
        if self.test_root is not None:
            test = self._folder(self.test_root, "test_root")
            unknown = sorted(set(test.classes) - set(train.classes))
            if unknown:
                raise ZooError(
                    f"data.test_root {str(self.test_root)!r} has class folders that "
                    f"data.root {str(self.root)!r} lacks: {', '.join(unknown)}; "
                    f"the training classes are {', '.join(train.classes)}."
                )
            # test_root's folder indices → root's class indices, matched by name
            to_train = torch.tensor([train.class_to_idx[name] for name in test.classes])
            test_inputs = self._images([path for path, _ in test.samples])
            test_targets = to_train[torch.tensor(test.targets, dtype=torch.long)]
        return LoadedData(inputs, targets, list(train.classes), test_inputs, test_targets)
