"""The tensor-resident base DataModule every small dataset builds on.

The whole dataset lives in tensors (moved to the training device when it has room); batches
are index slices (:class:`~zoo.data.loader.TensorBatchLoader`); the train/val/test split is
seeded, and stratified by class when the targets are classes (a choice: ``stratify``);
standardization statistics come from the training split alone (a choice: ``normalize``;
token ids are never standardized). Any image data can be read as a sequence (a choice:
``as_sequence``): one step per image row, ``(N, H, C*W)``, as in classifying digits read row by
row with a recurrent network, or one step per pixel, ``(N, H*W, C)`` ("pixel MNIST", Le et al.
2015).

After ``setup`` a DataModule describes what it gives (:meth:`TensorDataModule.describe`): the
input kind and shape, the target kind (:mod:`zoo.kinds`) and, as they apply, ``num_classes``
and ``class_names``, ``vocab_size`` or ``target_shape``, and the normalization. Its config
declares the same values so that models and tasks can be checked against them, and built
from them, before any data is loaded; ``setup`` refuses a declaration the data contradicts.
The data does not choose the task: the same digits serve classification, autoencoders and
GANs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import lightning as L
import torch
from sklearn.model_selection import train_test_split

from zoo.config.values import is_int, is_number, is_positive_int
from zoo.data.loader import TensorBatchLoader
from zoo.data.normalize import Standardize, channel_statistics
from zoo.errors import ZooError
from zoo.kinds import INPUT_KINDS, TARGET_KINDS
from zoo.preprocessing import input_statistics
from zoo.resources import check_fits_memory

ON_DEVICE_CHOICES = ("auto", "always", "never")
# Images read as sequences: one step per image row (N, H, C*W), or per pixel (N, H*W, C).
AS_SEQUENCE_CHOICES = ("rows", "pixels")
# "auto" moves a dataset to the accelerator when it takes at most this share of free memory.
ON_DEVICE_MEMORY_SHARE = 0.25


def contiguous_split_sizes(
    length: int, val_fraction: float, test_fraction: float
) -> dict[str, int]:
    """The sizes of the train, val and test parts, in that order, of ``length`` items split
    without shuffling (a text's characters, a series' target time points)."""
    test = round(length * test_fraction)
    val = round(length * val_fraction)
    return {"train": length - val - test, "val": val, "test": test}


def placement_device(
    trainer: Any, on_device: str, tensors: Iterable[torch.Tensor]
) -> torch.device | None:
    """The accelerator to move a data module's ``tensors`` to (data.on_device), None to
    leave them where they are: no trainer, ``never``, a CPU run, or (``auto``) more than
    :data:`ON_DEVICE_MEMORY_SHARE` of the GPU's free memory."""
    if trainer is None or on_device == "never":
        return None
    device = trainer.strategy.root_device
    if device.type == "cpu":
        return None
    if on_device == "auto" and device.type == "cuda":
        nbytes = sum(t.nelement() * t.element_size() for t in tensors)
        free, _ = torch.cuda.mem_get_info(device)
        if nbytes > ON_DEVICE_MEMORY_SHARE * free:
            return None
    return device


@dataclass
class LoadedData:
    """Raw tensors as a dataset provides them: float inputs in [0, 1] (or raw features), or
    ``uint8`` images (0-255, scaled to [0, 1] by the task on the device), and targets.

    ``test_inputs``/``test_targets`` are set when the dataset has an official test split.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    class_names: list[str] | None = None
    test_inputs: torch.Tensor | None = None
    test_targets: torch.Tensor | None = None


# The number of dimensions of one input of each kind.
INPUT_NDIM = {"image": 3, "vector": 1, "sequence": 2, "tokens": 1, "noise": 1}


def as_sequence_shape(image_shape: Sequence[int], mode: str) -> list[int]:
    """The sample shape of (C, H, W) images read as sequences (``as_sequence``): rows
    (H, C*W) or pixels (H*W, C), as :func:`_image_rows` and :func:`_image_pixels` give."""
    channels, height, width = (int(s) for s in image_shape)
    return [height, channels * width] if mode == "rows" else [height * width, channels]


def _image_rows(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images as (N, H, C*W) sequences: step t is row t of every channel."""
    return images.permute(0, 2, 1, 3).flatten(2).contiguous()


def _image_pixels(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images as (N, H*W, C) sequences of pixels in raster order."""
    return images.flatten(2).transpose(1, 2).contiguous()


def infer_input_kind(inputs: torch.Tensor) -> str:
    """The input kind of a batch of samples: "image" for (N, C, H, W), "vector" for (N, D),
    "sequence" for (N, T, D), "tokens" for integer (N, T) ids."""
    ndim = inputs.ndim - 1
    if ndim == 1 and not inputs.is_floating_point() and inputs.dtype != torch.uint8:
        return "tokens"
    kinds = {3: "image", 1: "vector", 2: "sequence"}
    if ndim not in kinds:
        raise ZooError(
            f"cannot tell the input kind of samples of shape {list(inputs.shape[1:])}: "
            "expected (D,) vectors, (T, D) sequences or (C, H, W) images."
        )
    return kinds[ndim]


def check_loading(
    batch_size: Any,
    eval_batch_size: Any,
    val_fraction: Any,
    test_fraction: Any,
    on_device: Any,
) -> None:
    """Refuse, naming its ``data.`` key, a batch size, split fraction or ``on_device`` choice
    that no data module takes (the tensor-resident ones and the text's)."""
    if not is_positive_int(batch_size):
        raise ZooError(f"data.batch_size must be an integer >= 1, got {batch_size!r}.")
    if eval_batch_size is not None and not is_positive_int(eval_batch_size):
        raise ZooError(
            f"data.eval_batch_size must be an integer >= 1 or null, got {eval_batch_size!r}."
        )
    for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not (is_number(value) and 0.0 <= value < 1.0):
            raise ZooError(f"data.{key} must be a number in [0, 1), got {value!r}.")
    if val_fraction + test_fraction >= 1.0:
        raise ZooError(
            "data.val_fraction + data.test_fraction must be < 1, "
            f"got {val_fraction + test_fraction}."
        )
    if on_device not in ON_DEVICE_CHOICES:
        raise ZooError(
            f"data.on_device must be one of {', '.join(ON_DEVICE_CHOICES)}, got {on_device!r}."
        )


class TensorDataModule(L.LightningDataModule):
    """Base for datasets that fit in memory. Subclasses implement :meth:`load`."""

    name = "tensor"
    #: whether the class rebuilds its data from the arguments a run records (results.json's
    #: config.data), for the tools that read a shared run (zoo.config.recorded); set on each
    #: class itself, never inherited: a base class, or data handed over as tensors, cannot
    rebuildable = False

    def __init__(
        self,
        *,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        train_fraction: float = 1.0,
        split_seed: int = 0,
        drop_last: bool = False,
        on_device: str = "auto",
        input_kind: str | None = None,
        target_kind: str = "class",
        input_shape: list[int] | None = None,
        num_classes: int | None = None,
        stratify: bool | None = None,
        normalize: bool = True,
        as_sequence: str | None = None,
        target_shape: list[int] | None = None,
        vocab_size: int | None = None,
        holdout_classes: list[int] | None = None,
    ) -> None:
        super().__init__()
        holdout = list(holdout_classes or [])
        if holdout and (target_kind != "class" or not all(is_int(c) and c >= 0 for c in holdout)):
            raise ZooError(
                "data.holdout_classes takes class indices (integers >= 0) of data whose targets "
                f"are classes, got {holdout_classes!r} with target_kind {target_kind!r}."
            )
        self.holdout_classes = holdout
        if as_sequence is not None and as_sequence not in AS_SEQUENCE_CHOICES:
            raise ZooError(
                f"data.as_sequence must be one of {', '.join(AS_SEQUENCE_CHOICES)} or null, "
                f"got {as_sequence!r}."
            )
        if input_kind is not None and input_kind not in INPUT_KINDS:
            raise ZooError(
                f"data.input_kind must be one of {', '.join(INPUT_KINDS)}, got {input_kind!r}."
            )
        if target_kind not in TARGET_KINDS:
            raise ZooError(
                f"data.target_kind must be one of {', '.join(TARGET_KINDS)}, got {target_kind!r}."
            )
        check_loading(batch_size, eval_batch_size, val_fraction, test_fraction, on_device)
        if not (is_number(train_fraction) and 0.0 < train_fraction <= 1.0):
            raise ZooError(
                f"data.train_fraction must be a number in (0, 1], got {train_fraction!r}."
            )
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.train_fraction = train_fraction
        self.split_seed = split_seed
        self.drop_last = drop_last
        self.on_device = on_device
        self.declared_input_kind = input_kind
        self.target_kind = target_kind
        self.stratify = target_kind == "class" if stratify is None else bool(stratify)
        self.normalize = normalize
        self.declared_input_shape = list(input_shape) if input_shape is not None else None
        self.declared_num_classes = num_classes
        self.as_sequence = as_sequence
        self.declared_target_shape = list(target_shape) if target_shape is not None else None
        self.declared_vocab_size = vocab_size
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.class_names: list[str] | None = None
        self.mean: list[float] = []
        self.std: list[float] = []
        self.shuffle_seed = 0

    # -- what subclasses provide ------------------------------------------------------------
    def load(self) -> LoadedData:
        """Return the whole dataset as tensors (subclasses implement this)."""
        raise NotImplementedError

    def memory_estimate(self) -> tuple[int, dict[str, Any]] | None:
        """The bytes :meth:`load` will allocate, known from the arguments alone, and the
        arguments that set it (``{"length": 2000000000}``), for data whose size the config
        sets (generated data, resized images); None when only the files tell (subclasses)."""
        return None

    def check_memory(self, nbytes: int, values: dict[str, Any]) -> None:
        """Refuse data whose ``values`` (``{"length": ...}``) make it take ``nbytes``, more
        than this machine's memory, before it is allocated."""
        named = ", ".join(f"data.{key}={value!r}" for key, value in values.items())
        keys = " or ".join(f"data.{key}" for key in values)
        check_fits_memory(nbytes, f"data={self.name} with {named}", f"lower {keys}.")

    # -- setup ------------------------------------------------------------------------------
    def example_input(self) -> torch.Tensor:
        """One training input as a batch of one, as the data gives it (before the task's
        preprocessing): what the model summary runs to count the FLOPs of one input."""
        if not self.splits:
            raise RuntimeError("call setup() before example_input()")
        return self.splits["train"][0][:1]

    def setup(self, stage: str | None = None) -> None:
        if self.splits:  # loaded before the trainer was built (zoo.training.run): placed now
            self._place_on_device()
            return
        estimate = self.memory_estimate()
        if estimate is not None:
            self.check_memory(*estimate)
        data = self.load()
        if self.as_sequence is not None:
            data = self._read_as_sequence(data)
        self.class_names = data.class_names
        self.splits = self._split(data)
        if self.holdout_classes:
            self._hold_out(data)
        train_inputs = self.splits["train"][0]
        self._check_declared()
        if self.standardizes:
            self.mean, self.std = channel_statistics(
                train_inputs.flatten(0, -2) if self.input_kind == "sequence" else train_inputs,
                spatial=self.input_kind == "image",
            )
        self.shuffle_seed = int(torch.initial_seed() % 2**31)
        self._place_on_device()

    def _read_as_sequence(self, data: LoadedData) -> LoadedData:
        """Images (N, C, H, W) as sequences: rows (N, H, C*W) or pixels (N, H*W, C); the
        official test split too."""
        if data.inputs.ndim != 4:
            raise ZooError(
                f"{self.name}: data.as_sequence={self.as_sequence!r} reads images as sequences, "
                f"but the samples have shape {list(data.inputs.shape[1:])}, not (C, H, W); "
                "set data.as_sequence=null."
            )
        reshape = _image_rows if self.as_sequence == "rows" else _image_pixels
        return replace(
            data,
            inputs=reshape(data.inputs),
            test_inputs=None if data.test_inputs is None else reshape(data.test_inputs),
        )

    def _hold_out(self, data: LoadedData) -> None:
        """Remove ``holdout_classes`` from the training and validation splits (the test split
        keeps them): a model trained on the rest meets them first at test time, as anomalies."""
        count = len(data.class_names or []) or int(data.targets.max()) + 1
        unknown = [c for c in self.holdout_classes if c >= count]
        if unknown:
            raise ZooError(
                f"{self.name}: data.holdout_classes {unknown} are not classes; the data has "
                f"classes 0 to {count - 1}."
            )
        held = torch.tensor(self.holdout_classes)
        for split in ("train", "val"):
            inputs, targets = self.splits[split]
            keep = ~torch.isin(targets, held)
            self.splits[split] = (inputs[keep], targets[keep])
        if len(self.splits["train"][1]) == 0:
            raise ZooError(f"{self.name}: data.holdout_classes leaves no training samples.")

    def stratifies(self, data: LoadedData) -> bool:
        """Whether the split is stratified: when asked for, and only with one class label per
        sample (not, e.g., a class per step of a sequence)."""
        return self.stratify and data.targets.ndim == 1

    def _split(self, data: LoadedData) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        stratify = self.stratifies(data)
        x, y = data.inputs, data.targets
        indices = torch.arange(len(x)).numpy()

        def split(idx, fraction, labels):
            if fraction == 0:
                return idx, idx[:0]
            try:
                return train_test_split(
                    idx,
                    test_size=fraction,
                    random_state=self.split_seed,
                    stratify=labels[idx] if stratify else None,
                )
            except ValueError as error:  # too few samples (of a class) for the fractions
                raise self.split_error(data, error) from None

        labels = y.numpy()
        if data.test_inputs is None:
            rest, test = split(indices, self.test_fraction, labels)
            test_set = (x[test], y[test])
            val_share = self.val_fraction / (1.0 - self.test_fraction)
        else:
            rest = indices
            test_set = (data.test_inputs, data.test_targets)
            val_share = self.val_fraction
        train, val = split(rest, val_share, labels)
        if self.train_fraction < 1.0 and len(train):
            # A smaller training set, to show overfitting and what regularization does against
            # it (primer: Regularization); validation and test splits stay as they are.
            train, _ = split(train, 1.0 - self.train_fraction, labels)
        if len(train) == 0:
            raise ZooError(f"{self.name}: no training samples left after the val/test split.")
        return {"train": (x[train], y[train]), "val": (x[val], y[val]), "test": test_set}

    def split_error(self, data: LoadedData, error: ValueError) -> ZooError:
        """The error for a split scikit-learn refuses: too few samples, or a class too rare
        to stratify."""
        stratify = self.stratifies(data)
        detail = f"{len(data.targets)} samples"
        if stratify:
            counts = torch.bincount(data.targets.flatten().long())
            names = data.class_names or [str(i) for i in range(len(counts))]
            detail += f", per class {dict(zip(names, counts.tolist()))}"
        return ZooError(
            f"{self.name}: cannot split {detail} into "
            f"{'stratified ' if stratify else ''}train/val/test sets with "
            f"data.val_fraction={self.val_fraction} and data.test_fraction={self.test_fraction}"
            + (f", data.train_fraction={self.train_fraction}" if self.train_fraction < 1 else "")
            + f" ({' '.join(str(error).split())}). Add samples, change the fractions"
            + (", or set data.stratify=false." if stratify else ".")
        )

    def _check_declared(self) -> None:
        inputs = self.splits["train"][0]
        declared = self.declared_input_kind
        if declared is not None and (
            INPUT_NDIM[declared] != inputs.ndim - 1
            or (declared == "tokens" and inputs.is_floating_point())
        ):
            raise ZooError(
                f"{self.name}: the config declares input_kind {declared!r}, but the samples "
                f"have shape {list(inputs.shape[1:])} and dtype {inputs.dtype}."
            )
        for key in ("input_shape", "num_classes", "target_shape", "vocab_size"):
            declared = getattr(self, f"declared_{key}")
            if declared is None:
                continue
            actual = getattr(self, key)
            actual = list(actual) if key == "input_shape" else actual
            # data without a target shape or a vocabulary passes; data without classes does not
            if actual != declared and (actual is not None or key == "num_classes"):
                raise ZooError(
                    f"{self.name}: the config declares {key} {declared} but the data has {actual}."
                )

    def _place_on_device(self) -> None:
        tensors = [t for pair in self.splits.values() for t in pair]
        device = placement_device(self.trainer, self.on_device, tensors)
        if device is not None:
            self.splits = {k: (x.to(device), y.to(device)) for k, (x, y) in self.splits.items()}

    # -- description ------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.splits["train"][0].shape[1:])

    @property
    def input_kind(self) -> str:
        """The declared input kind, or the one the samples' shape and dtype tell."""
        return self.declared_input_kind or infer_input_kind(self.splits["train"][0])

    @property
    def num_classes(self) -> int | None:
        """The number of classes, for class targets."""
        if self.target_kind != "class":
            return None
        targets = self.splits["train"][1]
        return len(self.class_names) if self.class_names else int(targets.max()) + 1

    @property
    def target_shape(self) -> list[int] | None:
        """The shape of one target, for value targets."""
        if self.target_kind != "value":
            return None
        return list(self.splits["train"][1].shape[1:])

    @property
    def vocab_size(self) -> int | None:
        """The number of token ids, for token inputs of a known vocabulary (subclasses)."""
        return None

    @property
    def standardizes(self) -> bool:
        """Whether inputs are standardized: when ``normalize`` is on, never for token ids."""
        return self.normalize and self.input_kind != "tokens"

    @property
    def normalization(self) -> Standardize | None:
        """The standardization to apply to every batch (after augmentation), or None."""
        if not self.standardizes:
            return None
        return Standardize(self.mean, self.std, spatial=self.input_kind == "image")

    def describe(self) -> dict[str, Any]:
        """What the data gives, JSON-ready: input kind and shape, target kind, classes or
        target shape or vocabulary size, normalization, split sizes, and the range of the
        training inputs that tells a prediction's input far outside them
        (:func:`zoo.preprocessing.input_statistics`; images and vectors)."""
        return {
            "name": f"{self.name}_{self.as_sequence}" if self.as_sequence else self.name,
            "input_kind": self.input_kind,
            "input_shape": list(self.input_shape),
            "target_kind": self.target_kind,
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "target_shape": self.target_shape,
            "vocab_size": self.vocab_size,
            "normalization": ({"mean": self.mean, "std": self.std} if self.standardizes else None),
            "split_sizes": {k: len(v[1]) for k, v in self.splits.items()},
            "split_seed": self.split_seed,
            "holdout_classes": self.holdout_classes or None,
            "input_statistics": input_statistics(self.splits["train"][0], self.input_kind),
        }

    # -- loaders ----------------------------------------------------------------------------
    def _loader(self, split: str, *, train: bool) -> TensorBatchLoader:
        if not self.splits:
            raise RuntimeError("call setup() before asking for data loaders")
        inputs, targets = self.splits[split]
        trainer = self.trainer
        rank, world_size = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        return TensorBatchLoader(
            inputs,
            targets,
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            drop_last=self.drop_last and train,
            seed=self.shuffle_seed,
            epoch=(lambda: trainer.current_epoch) if trainer is not None else None,
            rank=rank,
            world_size=world_size,
        )

    def train_dataloader(self) -> TensorBatchLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> TensorBatchLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> TensorBatchLoader:
        return self._loader("test", train=False)

    predict_dataloader = test_dataloader  # predictions are made on the test split
