"""Your own data beyond images: arrays in a file given by path.

Three formats, read without unpickling anything:

- ``.npz`` with an input array and a target array (keys ``x`` and ``y`` unless told),
- a pair of ``.npy`` files (``path`` for the inputs, ``targets_path`` for the targets),
- ``.csv`` with a header row: the target column by name, the features by name (every other
  column unless told). Features must be numbers; the target column may hold class names.

What the data gives is read from the file: the input shape and kind ((D,) vectors, (T, D)
sequences, (C, H, W) images), the target kind (integers and names are classes, floats are
values) and the classes. Class labels are numbered in sorted order of their values, as
scikit-learn's ``LabelEncoder`` does, and kept as ``class_names``.

Value targets are standardized with the training split's mean and standard deviation (per
target value; ``normalize_targets``), as the inputs are, so that a model starts near the
right scale whatever the units; the regression task reports its metrics back in the data's
units, beside those of the training mean predicted for every sample (:meth:`naive_forecast`,
the baseline a model must beat). :func:`read_inputs` reads the rows a trained model predicts
on, the feature columns by name.
"""

from __future__ import annotations

import csv
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.data.base import LoadedData, TensorDataModule, infer_input_kind
from zoo.errors import ZooError
from zoo.kinds import TARGET_KINDS
from zoo.preprocessing import ValueTargets

FORMATS = (".npz", ".npy", ".csv")
TARGET_KIND_CHOICES = ("auto", *TARGET_KINDS)


@dataclass(frozen=True)
class ArrayFile:
    """The arrays of a file, as read: inputs, raw targets (None without any), a label, and
    the names of the features (a CSV's columns)."""

    inputs: np.ndarray
    targets: np.ndarray | None
    source: str
    feature_names: tuple[str, ...] | None = None


def _require_file(path: Path, key: str) -> None:
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ZooError(f"data.{key} {str(path)!r} {what}; expected a {', '.join(FORMATS)} file.")


def _load_npy(path: Path, key: str) -> np.ndarray:
    _require_file(path, key)
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:  # object arrays need pickle, which is refused
        raise ZooError(f"cannot read {str(path)!r}: {error}") from error
    except (OSError, EOFError) as error:
        raise ZooError(f"cannot read {str(path)!r}: not a valid .npy file ({error}).") from error


def _read_npz(path: Path, x_key: str, y_key: str | None, *, inputs_only: bool = False) -> ArrayFile:
    """The ``x_key`` and ``y_key`` arrays of a .npz; with ``inputs_only`` (a model's inputs
    to predict on), the ``x_key`` array or the file's only array."""
    _require_file(path, "path")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ZooError(f"cannot read {str(path)!r}: not a valid .npz file ({error}).") from error
    with archive:
        keys = list(archive.keys())
        if inputs_only and x_key not in keys and len(keys) == 1:
            x_key = keys[0]
        wanted = [x_key] + ([y_key] if y_key is not None else [])
        missing = [k for k in wanted if k not in keys]
        if missing:
            named = "the inputs' name in training" if inputs_only else "data.x_key / data.y_key"
            raise ZooError(
                f"{str(path)!r} has no array {missing[0]!r} ({named}); "
                f"it has: {', '.join(keys) or 'nothing'}."
            )
        try:
            inputs = archive[x_key]
            targets = archive[y_key] if y_key is not None else None
        except ValueError as error:
            raise ZooError(f"cannot read {str(path)!r}: {error}") from error
    return ArrayFile(inputs, targets, str(path))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _read_csv(
    path: Path, feature_columns: Sequence[str] | None, target_column: str | None
) -> ArrayFile:
    _require_file(path, "path")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise ZooError(f"cannot read {str(path)!r}: {error}") from error
    if not rows or not any(rows[0]):
        raise ZooError(f"{str(path)!r} is empty; expected a header row of column names.")
    header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if r]
    if not body:
        raise ZooError(f"{str(path)!r} has a header but no rows of data.")
    wanted = list(feature_columns or []) + ([target_column] if target_column else [])
    unknown = [c for c in wanted if c not in header]
    if unknown:
        separator = next((s for s in (";", "\t", "|") if len(header) == 1 and s in header[0]), "")
        hint = f" (columns are separated by {separator!r}, not commas)" if separator else ""
        raise ZooError(
            f"{str(path)!r} has no column {unknown[0]!r}; its columns: {', '.join(header)}{hint}."
        )
    if feature_columns is None:
        feature_columns = [c for c in header if c != target_column]
    if not feature_columns:
        raise ZooError(f"{str(path)!r}: no feature columns left beside {target_column!r}.")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ZooError(
                f"{str(path)!r} line {line} has {len(row)} fields, the header {len(header)}."
            )
    columns = {name: [row[i].strip() for row in body] for i, name in enumerate(header)}
    features = np.empty((len(body), len(feature_columns)), dtype=np.float32)
    for j, name in enumerate(feature_columns):
        for i, text in enumerate(columns[name]):
            value = _number(text)
            if value is None or not math.isfinite(value):
                raise ZooError(
                    f"{str(path)!r} column {name!r} line {i + 2} holds {text!r}, not a finite "
                    "number; feature columns must be numeric, with no empty or NaN cells."
                )
            features[i, j] = value
    targets = None
    if target_column:
        texts = columns[target_column]
        numbers = [_number(t) for t in texts]
        for i, (text, number) in enumerate(zip(texts, numbers, strict=True)):
            if not text or (number is not None and math.isnan(number)):
                raise ZooError(
                    f"{str(path)!r} target column {target_column!r} line {i + 2} holds "
                    f"{text!r}, a missing value; every row needs its target (remove the row or "
                    "fill it in)."
                )
            if number is not None and not math.isfinite(number):
                raise ZooError(
                    f"{str(path)!r} target column {target_column!r} line {i + 2} holds "
                    f"{text!r}, not a finite number."
                )
        if all(n is not None for n in numbers):
            values = np.array(numbers, dtype=np.float64)
            integral = np.all(values == np.round(values)) and all("." not in t for t in texts)
            targets = values.astype(np.int64) if integral else values.astype(np.float32)
        else:
            targets = np.array(texts)  # names of classes
    return ArrayFile(features, targets, str(path), tuple(feature_columns))


@lru_cache(maxsize=8)
def _read_cached(
    path: str,
    mtime: float,
    targets_path: str | None,
    x_key: str,
    y_key: str | None,
    feature_columns: tuple[str, ...] | None,
    target_column: str | None,
) -> ArrayFile:
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".npz":
        return _read_npz(file, x_key, y_key)
    if suffix == ".npy":
        inputs = _load_npy(file, "path")
        targets = _load_npy(Path(targets_path), "targets_path") if targets_path else None
        return ArrayFile(inputs, targets, path)
    if suffix == ".csv":
        return _read_csv(file, feature_columns, target_column)
    raise ZooError(f"data.path {path!r} is not a {', '.join(FORMATS)} file.")


def read_array_file(
    path: str,
    *,
    targets_path: str | None = None,
    x_key: str = "x",
    y_key: str | None = "y",
    feature_columns: Sequence[str] | None = None,
    target_column: str | None = None,
) -> ArrayFile:
    """The inputs and targets of ``path`` (cached while the file is unchanged)."""
    file = Path(path).expanduser()
    _require_file(file, "path")
    return _read_cached(
        str(file),
        file.stat().st_mtime,
        str(Path(targets_path).expanduser()) if targets_path else None,
        x_key,
        y_key,
        tuple(feature_columns) if feature_columns is not None else None,
        target_column,
    )


def read_inputs(
    path: str | Path,
    *,
    features: int,
    feature_names: Sequence[str] | None = None,
    x_key: str = "x",
) -> torch.Tensor:
    """The rows ``(N, features)`` a model trained on a table predicts on, read as its
    training file was: a ``.csv``'s feature columns by name (in any order; other columns,
    such as the target, are left out; every column, in order, for a model whose data named
    none), a ``.npy`` array, or a ``.npz``'s ``x_key`` array (or its only array)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ZooError(f"{str(path)!r} {'is a folder' if file.is_dir() else 'does not exist'}.")
    suffix = file.suffix.lower()
    if suffix == ".csv":
        names = list(feature_names) if feature_names else None
        array = read_array_file(str(file), y_key=None, feature_columns=names).inputs
    elif suffix == ".npy":
        array = _load_npy(file, "path")
    elif suffix == ".npz":
        array = _read_npz(file, x_key, None, inputs_only=True).inputs
    else:
        raise ZooError(
            f"{str(path)!r} is not a {', '.join(FORMATS)} file; the model takes rows of "
            f"{features} features from one."
        )
    if array.ndim == 1 and len(array) == features > 1:
        array = array[None]  # one row
    rows = _as_inputs(array, str(path))
    if list(rows.shape[1:]) != [features]:
        raise ZooError(
            f"{str(path)!r} holds inputs of shape {list(rows.shape[1:])}; the model takes rows "
            f"of {features} features."
        )
    return rows.float()


def _as_inputs(array: np.ndarray, source: str) -> torch.Tensor:
    if array.dtype.kind not in "biuf":
        raise ZooError(
            f"the inputs in {source!r} are of dtype {array.dtype}, not numbers; inputs must be "
            "numeric."
        )
    if array.ndim < 1 or len(array) == 0:
        raise ZooError(f"the inputs in {source!r} hold no samples (shape {list(array.shape)}).")
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_floating_point():
        tensor = tensor.float()
        if not torch.isfinite(tensor).all():
            raise ZooError(f"the inputs in {source!r} hold NaN or infinite values.")
    elif array.dtype != np.uint8:
        tensor = tensor.long()
    return tensor.unsqueeze(1) if tensor.ndim == 1 else tensor


def infer_target_kind(targets: np.ndarray | None) -> str:
    """``class`` for integer, boolean or text targets, ``value`` for floats, ``none``
    without targets."""
    if targets is None:
        return "none"
    return "value" if targets.dtype.kind == "f" else "class"


def encode_classes(targets: np.ndarray) -> tuple[torch.Tensor, list[str]]:
    """Class labels numbered 0..K-1 in sorted order of their values, and their names."""
    values, codes = np.unique(targets, return_inverse=True)
    return torch.from_numpy(codes.reshape(-1).astype(np.int64)), [str(v) for v in values]


class ArrayDataModule(TensorDataModule):
    """Inputs and targets from a ``.npz``, a pair of ``.npy`` files or a ``.csv``.

    Args:
        path: the ``.npz``, ``.csv``, or the inputs' ``.npy`` file.
        targets_path: the targets' ``.npy`` file, beside a ``.npy`` ``path``.
        x_key, y_key: the arrays' names in a ``.npz``.
        feature_columns: the ``.csv`` columns that are features (all but the target when
            None).
        target_column: the ``.csv`` column that is the target.
        target_kind: ``auto`` (read from the targets' type), ``class``, ``value`` or ``none``.
        normalize_targets: standardize value targets with the training split's mean and
            standard deviation (the metrics stay in the data's units).
        **kwargs: the :class:`~zoo.data.base.TensorDataModule` arguments (splits, batch
            sizes, ``input_kind`` for token ids, ``normalize``, ...).
    """

    name = "arrays"
    rebuildable = True

    def __init__(
        self,
        *,
        path: str,
        targets_path: str | None = None,
        x_key: str = "x",
        y_key: str = "y",
        feature_columns: Sequence[str] | None = None,
        target_column: str | None = None,
        target_kind: str = "auto",
        normalize_targets: bool = True,
        **kwargs: Any,
    ) -> None:
        if not isinstance(normalize_targets, bool):
            raise ZooError(
                f"data.normalize_targets must be true or false, got {normalize_targets!r}."
            )
        if target_kind not in TARGET_KIND_CHOICES:
            raise ZooError(
                f"data.target_kind must be one of {', '.join(TARGET_KIND_CHOICES)}, "
                f"got {target_kind!r}."
            )
        self.read_kwargs = {
            "targets_path": targets_path,
            "x_key": x_key,
            "y_key": None if target_kind == "none" else y_key,
            "feature_columns": list(feature_columns) if feature_columns is not None else None,
            "target_column": target_column,
        }
        self.path = str(path)
        if target_kind == "auto":
            target_kind = infer_target_kind(self._file().targets)
        super().__init__(target_kind=target_kind, **kwargs)
        self.normalize_targets = normalize_targets
        self.feature_names: list[str] | None = None
        # value targets: their scale (original = scaled * std + mean; identity until setup)
        # and the training split's mean, the naive prediction
        self.target_mean: torch.Tensor | float = 0.0
        self.target_std: torch.Tensor | float = 1.0
        self.training_target_mean: torch.Tensor | None = None

    def _file(self) -> ArrayFile:
        suffix = Path(self.path).suffix.lower()
        wants_targets = self.read_kwargs["y_key"] is not None
        if suffix == ".npy" and wants_targets and not self.read_kwargs["targets_path"]:
            raise ZooError(
                f"data.path {self.path!r} is a .npy file: set data.targets_path to the "
                "targets' .npy file."
            )
        if suffix == ".csv" and wants_targets and not self.read_kwargs["target_column"]:
            raise ZooError(
                f"data.path {self.path!r} is a .csv file: set data.target_column to the "
                "name of the target column."
            )
        return read_array_file(self.path, **self.read_kwargs)

    @classmethod
    def describe_source(cls, **config: Any) -> dict[str, Any]:
        """What the file gives, before any training: ``input_kind``, ``input_shape``,
        ``target_kind``, ``num_classes`` (class targets) and ``target_shape`` (value
        targets); the config's values are filled from these."""
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        module = cls(**config)
        data = module.load()
        values = module.target_kind == "value" and data.targets is not None
        return {
            "input_kind": module.declared_input_kind or infer_input_kind(data.inputs),
            "input_shape": list(data.inputs.shape[1:]),
            "target_kind": module.target_kind,
            "num_classes": len(data.class_names) if data.class_names else None,
            "target_shape": list(data.targets.shape[1:]) if values else None,
        }

    def load(self) -> LoadedData:
        file = self._file()
        self.feature_names = list(file.feature_names) if file.feature_names else None
        inputs = _as_inputs(file.inputs, file.source)
        if self.target_kind == "none" or file.targets is None:
            if self.target_kind != "none":
                raise ZooError(
                    f"{file.source!r} has no targets for target_kind {self.target_kind}."
                )
            return LoadedData(inputs, torch.zeros(len(inputs), dtype=torch.long))
        raw = file.targets
        if len(raw) != len(inputs):
            raise ZooError(
                f"{file.source!r}: {len(inputs)} inputs but {len(raw)} targets; every input "
                "needs one target."
            )
        if self.target_kind == "class":
            if raw.dtype.kind == "f" and not np.all(raw == np.round(raw)):
                raise ZooError(
                    f"the targets in {file.source!r} are fractional numbers, not classes; "
                    "use data.target_kind=value (or auto)."
                )
            if raw.ndim != 1:
                raise ZooError(
                    f"class targets in {file.source!r} must be one label per sample, got "
                    f"shape {list(raw.shape)}."
                )
            targets, names = encode_classes(raw)
            if len(names) < 2:
                raise ZooError(
                    f"the targets in {file.source!r} hold a single class ({names[0]!r}); "
                    "classification needs at least 2."
                )
            return LoadedData(inputs, targets, class_names=names)
        if raw.dtype.kind not in "biuf":
            raise ZooError(f"the targets in {file.source!r} are not numbers (dtype {raw.dtype}).")
        values = torch.from_numpy(np.ascontiguousarray(raw)).float()
        finite = torch.isfinite(values.reshape(len(values), -1)).all(dim=1)  # (N,)
        if not finite.all():
            row = int((~finite).nonzero()[0])
            raise ZooError(
                f"the targets in {file.source!r} hold NaN or infinite values (the first in row "
                f"{row}: {raw[row].tolist()!r}); every sample needs a finite target."
            )
        return LoadedData(inputs, values.unsqueeze(1) if values.ndim == 1 else values)

    # -- value targets: their scale and the naive prediction ---------------------------------
    def _split(self, data: LoadedData) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The base split; value targets then standardized with the training split's mean
        and standard deviation per target value (``normalize_targets``)."""
        splits = super()._split(data)
        if self.target_kind != "value":
            return splits
        targets = splits["train"][1].double()
        mean = targets.mean(dim=0)
        self.training_target_mean = mean.float()
        if self.normalize_targets:
            std = targets.std(dim=0, correction=0)
            std = torch.where(std > 1e-8, std, torch.ones_like(std))  # a constant target
            self.target_mean, self.target_std = mean.float(), std.float()
            splits = {name: (x, self.scale(y)) for name, (x, y) in splits.items()}
        return splits

    def scale(self, values: torch.Tensor) -> torch.Tensor:
        """Targets in the units the model learns: ``(values - mean) / std``."""
        mean, std = self.target_mean, self.target_std
        if isinstance(mean, torch.Tensor):
            mean, std = mean.to(values.device), std.to(values.device)
        return (values - mean) / std

    def to_original_units(self, values: torch.Tensor) -> torch.Tensor:
        """Scaled targets or predictions back in the data's units: ``values * std + mean``."""
        mean, std = self.target_mean, self.target_std
        if isinstance(mean, torch.Tensor):
            mean, std = mean.to(values.device), std.to(values.device)
        return values * std + mean

    def naive_forecast(self, inputs: torch.Tensor) -> torch.Tensor:
        """The naive prediction a model must beat, which the regression task scores beside
        the model (``naive_mse``, ``naive_mae``, as it scores a series' last value): the
        training split's mean target for every input, ``(N, *target_shape)`` in scaled
        units."""
        if self.training_target_mean is None:
            raise RuntimeError("call setup() on data with value targets before naive_forecast()")
        mean = self.training_target_mean.to(inputs.device)
        return self.scale(mean).expand(len(inputs), *mean.shape)

    def value_targets(self) -> ValueTargets:
        """The regression task's view of these targets (:class:`zoo.preprocessing.ValueTargets`):
        their scale and the training mean as the naive prediction."""
        return ValueTargets(
            mean=self.target_mean, std=self.target_std, naive_forecast=self.naive_forecast
        )

    def describe(self) -> dict[str, Any]:
        """The base description, with the file's feature and target names (a CSV's columns),
        the inputs' array name (a .npz) and, for value targets, their scale."""
        scaled = self.normalize_targets and isinstance(self.target_mean, torch.Tensor)
        suffix = Path(self.path).suffix.lower()
        return super().describe() | {
            "feature_names": self.feature_names,
            "target_name": self.read_kwargs["target_column"]
            or (self.read_kwargs["y_key"] if suffix == ".npz" else None),
            "x_key": self.read_kwargs["x_key"] if suffix == ".npz" else None,
            "target_scale": {
                "mean": self.target_mean.tolist(),
                "std": self.target_std.tolist(),
            }
            if scaled
            else None,
        }
