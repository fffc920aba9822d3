"""The preprocessing a trained model expects and the meaning of its outputs, carried by its
exported folder.

A zoo model is trained on batches its data module prepared: images brought to one size and
scaled to [0, 1], then standardized with the training split's statistics; or feature vectors
standardized the same way. Its outputs are class scores, or values in the units its data
module scaled the targets to. The exported ``config.json`` records both (``data``: input kind
and shape, normalization, feature and class names, the targets' scale), and
:class:`Preprocess` and :class:`Postprocess` rebuild them, so a model loaded with
:func:`zoo.load_pretrained` takes raw inputs and gives answers in the data's terms, as
torchvision's weights do with their ``transforms()``::

    model = zoo.load_pretrained("outputs/runs/<run>/model")
    probabilities = model.postprocess(model(model.preprocess(["7.png", "3.png"])))

The data description also records statistics of the training inputs
(:func:`input_statistics`: each image's mean and spread, or each feature's range), against
which :meth:`Preprocess.unusual` names an input far outside the training data (a
dark-on-light digit for a model that learned light-on-dark ones), whose prediction means
little.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from zoo.errors import ZooError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# The statistics of one image that input_statistics records and Preprocess.unusual checks:
# the mean of its values in [0, 1] and their standard deviation.
IMAGE_STATISTICS = ("mean pixel", "pixel std")
# What input_statistics records of each statistic over the training split.
STATISTIC_KEYS = ("min", "max", "mean", "std")
# An input is unusual when one of its statistics lies more than this many of the training
# split's standard deviations beyond the range the training split spans.
UNUSUAL_SD = 4.0
# below this a recorded standard deviation counts as 0 (a constant feature): as the
# normalization does, 1 takes its place
MIN_SD = 1e-6


def sample_statistics(batch: torch.Tensor, input_kind: str) -> torch.Tensor:
    """The statistics of each input of ``batch`` that :func:`input_statistics` summarizes,
    ``(N, S)`` in float64: for ``(N, C, H, W)`` images in [0, 1], each image's mean and
    standard deviation (:data:`IMAGE_STATISTICS`); for ``(N, D)`` vectors, the features."""
    flat = batch.flatten(1).double()  # (N, C*H*W) or (N, D)
    if input_kind == "image":
        return torch.stack([flat.mean(dim=1), flat.std(dim=1, correction=0)], dim=1)  # (N, 2)
    return flat


def input_statistics(
    inputs: torch.Tensor, input_kind: str, chunk: int = 1024
) -> dict[str, list[float]] | None:
    """The range of the training inputs, recorded at export: for each statistic of
    :func:`sample_statistics` its ``min``, ``max``, ``mean`` and ``std`` over ``inputs``
    (images in [0, 1], or ``uint8`` 0-255 read as ``x / 255``; raw feature vectors); None for
    inputs of other kinds. Measured in chunks, without a float64 copy of the data."""
    if input_kind not in ("image", "vector") or len(inputs) == 0:
        return None
    low = high = total = total_sq = None
    for part in inputs.split(chunk):
        part = part.float() / 255.0 if part.dtype == torch.uint8 else part
        values = sample_statistics(part.cpu(), input_kind)  # (n, S)
        if low is None:
            low, high = values.min(dim=0).values, values.max(dim=0).values
            total, total_sq = values.sum(dim=0), values.square().sum(dim=0)
        else:
            low = torch.minimum(low, values.min(dim=0).values)
            high = torch.maximum(high, values.max(dim=0).values)
            total, total_sq = total + values.sum(dim=0), total_sq + values.square().sum(dim=0)
    mean = total / len(inputs)
    std = (total_sq / len(inputs) - mean.square()).clamp_min(0).sqrt()
    return {
        "min": low.tolist(),
        "max": high.tolist(),
        "mean": mean.tolist(),
        "std": std.tolist(),
    }


def _numbers(value: Any, count: int | None = None) -> bool:
    """Whether ``value`` is a list of finite numbers (of ``count`` of them when given)."""
    return (
        isinstance(value, list)
        and (count is None or len(value) == count)
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    )


def _recorded_error(key: str, value: Any, allowed: str) -> ZooError:
    shown = repr(value)
    shown = shown if len(shown) <= 120 else shown[:117] + "..."  # a long list: its start
    return ZooError(f"config.json's data.{key} is {shown}; allowed: {allowed}.")


class Preprocess:
    """From raw inputs to the normalized batch a trained model takes.

    Images: file paths, PIL images, or ``C×H×W`` tensors (``uint8`` 0-255 or floats in
    [0, 1]), converted to the training channels (grayscale or RGB), resized to the training
    size (bilinear, antialiased), scaled to [0, 1] and standardized. Vectors: sequences,
    arrays or tensors of ``D`` features, or a pandas DataFrame whose columns hold them (by
    ``feature_names`` when the training data named them; other columns are left out),
    standardized per feature.

    ``preprocess(inputs)`` is :meth:`prepare` then :meth:`standardize`; between the two,
    :meth:`unusual` names the inputs far outside the training data's ``statistics``
    (:func:`input_statistics`; a model exported without them checks nothing).
    """

    def __init__(
        self,
        input_kind: str,
        input_shape: Sequence[int],
        normalization: Mapping[str, Sequence[float]] | None = None,
        class_names: Sequence[str] | None = None,
        *,
        feature_names: Sequence[str] | None = None,
        statistics: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        if input_kind not in ("image", "vector"):
            raise ZooError(
                f"no preprocessing is recorded for {input_kind} inputs; it is for images and "
                "feature vectors."
            )
        self.input_kind = input_kind
        self.input_shape = [int(s) for s in input_shape]
        self.class_names = list(class_names) if class_names else None
        self.feature_names = list(feature_names) if feature_names else None
        shape = (-1, 1, 1) if input_kind == "image" else (-1,)
        self.mean = self.std = None
        if normalization:
            self.mean = torch.tensor(normalization["mean"], dtype=torch.float32).reshape(shape)
            self.std = torch.tensor(normalization["std"], dtype=torch.float32).reshape(shape)
        self.statistics = (
            {k: torch.tensor(statistics[k], dtype=torch.float64) for k in STATISTIC_KEYS}
            if statistics
            else None
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Preprocess:
        """The preprocessing recorded in an exported ``config.json`` (its ``data`` entry)."""
        data = config.get("data") or {}
        if not data.get("input_shape") or not data.get("input_kind"):
            raise ZooError(
                "this model's config.json records no data description (input kind and shape), "
                "so its preprocessing is unknown; it was not exported by a training run."
            )
        kind, shape = data["input_kind"], data["input_shape"]
        features = shape[-1] if kind == "vector" else None
        names = data.get("feature_names")
        if names is not None and not (
            isinstance(names, list)
            and len(names) == features
            and all(isinstance(n, str) for n in names)
        ):
            raise _recorded_error(
                "feature_names", names, f"a list of {features} column names, one per feature"
            )
        statistics = data.get("input_statistics")
        if statistics is not None:
            count = len(IMAGE_STATISTICS) if kind == "image" else features
            if not (
                isinstance(statistics, Mapping)
                and set(statistics) == set(STATISTIC_KEYS)
                and all(_numbers(statistics[k], count) for k in STATISTIC_KEYS)
            ):
                raise _recorded_error(
                    "input_statistics",
                    statistics,
                    f"{{{', '.join(STATISTIC_KEYS)}}}, each a list of {count} finite numbers",
                )
        return cls(
            kind,
            shape,
            data.get("normalization"),
            data.get("class_names"),
            feature_names=names,
            statistics=statistics,
        )

    def __call__(
        self, inputs: Any, *, on_unusual: Callable[[int, str], None] | None = None
    ) -> torch.Tensor:
        """A batch for the model from one input, a list of them, or an ``N×C×H×W`` batch;
        ``on_unusual(index, description)`` is called for each input :meth:`unusual` names."""
        batch = self.prepare(inputs)
        if on_unusual is not None:
            for index, description in self.unusual(batch):
                on_unusual(index, description)
        return self.standardize(batch)

    def prepare(self, inputs: Any) -> torch.Tensor:
        """The batch before standardization: images ``(N, C, H, W)`` in [0, 1] at the
        training size, or ``(N, D)`` raw features."""
        if self.input_kind == "vector":
            columns = getattr(inputs, "columns", None)  # a pandas DataFrame: its columns by name
            if columns is not None:
                names = self.feature_names or list(columns)
                missing = [name for name in names if name not in columns]
                if missing:
                    raise ZooError(
                        f"the table has no column {missing[0]!r}; the model takes the features "
                        f"{', '.join(names)}."
                    )
                inputs = inputs[names].to_numpy(dtype="float32", copy=True)
            batch = torch.as_tensor(inputs, dtype=torch.float32)
            features = math.prod(self.input_shape)
            if batch.ndim == 0 or batch.shape[-1] != features:
                raise ZooError(
                    f"inputs of shape {list(batch.shape)} are not rows of the {features} "
                    "features the model takes."
                )
            return batch.reshape(-1, *self.input_shape)
        batched = isinstance(inputs, torch.Tensor) and inputs.ndim == 4  # (N, C, H, W)
        items = inputs if isinstance(inputs, list | tuple) or batched else [inputs]
        return torch.stack([self.image(item) for item in items])

    def standardize(self, batch: torch.Tensor) -> torch.Tensor:
        """``(batch - mean) / std`` with the training split's statistics, when recorded."""
        if self.mean is None:
            return batch
        return (batch - self.mean.to(batch.device)) / self.std.to(batch.device)

    def statistic_names(self) -> list[str]:
        """What each recorded statistic is: the image statistics, or the features' names."""
        if self.input_kind == "image":
            return list(IMAGE_STATISTICS)
        return self.feature_names or [f"feature {j}" for j in range(self.input_shape[-1])]

    def unusual(self, batch: torch.Tensor) -> list[tuple[int, str]]:
        """The inputs of a :meth:`prepare`-d batch far outside the training data: one of
        their statistics more than :data:`UNUSUAL_SD` of the training split's standard
        deviations beyond the training range. Each as its index and one sentence naming the
        statistic furthest out, its value and the training data's. A coarse check of
        simple statistics, not a detector of every novelty: an input within range may still
        be unlike anything the model saw."""
        if self.statistics is None or len(batch) == 0:
            return []
        low, high = self.statistics["min"], self.statistics["max"]
        mean, sd = self.statistics["mean"], self.statistics["std"]
        sd = torch.where(sd < MIN_SD, torch.ones_like(sd), sd)
        values = sample_statistics(batch.cpu(), self.input_kind)  # (N, S)
        beyond = torch.maximum(low - values, values - high) / sd  # (N, S): sds out of range
        furthest, which = beyond.max(dim=1)
        names = self.statistic_names()
        found = []
        for index in (furthest > UNUSUAL_SD).nonzero().flatten().tolist():
            j = int(which[index])
            value = float(values[index, j])
            z = (value - float(mean[j])) / float(sd[j])
            description = (
                f"{names[j]} = {value:.4g} is {abs(z):.1f} sd {'above' if z > 0 else 'below'} "
                f"the training mean {float(mean[j]):.4g} (training values {float(low[j]):.4g} "
                f"to {float(high[j]):.4g})"
            )
            if self.input_kind == "image" and self._inverted_fits(values[index]):
                light = value > float(mean[j])
                description += (
                    f"; it looks inverted: the training images are {'dark' if light else 'light'}"
                    f" where it is {'light' if light else 'dark'}"
                )
            found.append((index, description))
        return found

    def _inverted_fits(self, values: torch.Tensor) -> bool:
        """Whether an image with statistics ``values`` would be usual inverted (1 - x)."""
        low, high, sd = self.statistics["min"], self.statistics["max"], self.statistics["std"]
        inverted = torch.stack([1.0 - values[0], values[1]])  # std is unchanged by 1 - x
        sd = torch.where(sd < MIN_SD, torch.ones_like(sd), sd)
        return bool((torch.maximum(low - inverted, inverted - high) / sd <= UNUSUAL_SD).all())

    def image(self, item: Any) -> torch.Tensor:
        """One image as the ``C×H×W`` float tensor in [0, 1] the model was trained on."""
        from PIL import Image, UnidentifiedImageError
        from torchvision.transforms import v2
        from torchvision.transforms.v2 import functional as TF

        channels, height, width = self.input_shape
        if isinstance(item, str | os.PathLike):
            try:
                # over PIL's pixel limit an image is refused (below twice the limit PIL warns)
                with warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    with Image.open(item) as opened:
                        item = opened.convert("L" if channels == 1 else "RGB")
            except FileNotFoundError:
                raise ZooError(f"{str(item)!r} does not exist.") from None
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
                raise too_many_pixels(repr(str(item)), error) from None
            except (OSError, UnidentifiedImageError) as error:
                raise ZooError(f"cannot read image {str(item)!r}: {error}") from None
        image = TF.to_image(item)
        if image.dtype == torch.uint8:
            image = TF.to_dtype(image, torch.float32, scale=True)
        elif image.is_floating_point():
            image = image.float()  # float64 arrays and tensors too
        if image.shape[0] != channels:
            if channels == 1:
                image = TF.rgb_to_grayscale(image[:3], num_output_channels=1)
            elif image.shape[0] == 1:
                image = image.expand(channels, -1, -1)
            else:
                raise ZooError(
                    f"an image of {image.shape[0]} channels cannot become the {channels} the "
                    "model takes."
                )
        if tuple(image.shape[-2:]) != (height, width):
            image = v2.functional.resize(image, [height, width], antialias=True)
        return image.as_subclass(torch.Tensor).clamp(0.0, 1.0)


class Postprocess:
    """From the model's outputs to what they mean in the data's terms.

    Class targets: the probabilities of the classes (softmax over the last dimension), named
    by ``class_names``. Value targets: the outputs as ``(N, *target_shape)`` values in the
    data's own units, undoing the scaling the data module gave the targets in training
    (``target_scale``: ``original = output * std + mean``, one number or one per target value)
    and named by ``target_name`` when the data named its target column.
    """

    def __init__(
        self,
        target_kind: str,
        *,
        class_names: Sequence[str] | None = None,
        target_shape: Sequence[int] | None = None,
        target_scale: Mapping[str, Any] | None = None,
        target_name: str | None = None,
    ) -> None:
        if target_kind not in ("class", "value"):
            raise ZooError(
                f"no postprocessing is recorded for {target_kind} targets; it is for classes "
                "and values."
            )
        self.target_kind = target_kind
        self.class_names = list(class_names) if class_names else None
        self.target_shape = [int(s) for s in target_shape] if target_shape else None
        self.target_name = target_name
        self.target_mean = self.target_std = None
        if target_scale is not None:  # one number, or one per target value

            def scale(values: Any) -> torch.Tensor:
                tensor = torch.tensor(values, dtype=torch.float32)
                return tensor.reshape(self.target_shape if tensor.numel() > 1 else ())

            self.target_mean = scale(target_scale["mean"])
            self.target_std = scale(target_scale["std"])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Postprocess:
        """The postprocessing recorded in an exported ``config.json`` (its ``data`` entry)."""
        data = config.get("data") or {}
        kind, shape = data.get("target_kind"), data.get("target_shape")
        if kind == "value" and not shape:
            raise _recorded_error(
                "target_shape", shape, "the shape of one target, for value targets"
            )
        scale = data.get("target_scale")
        if kind == "value" and scale is not None:
            count = math.prod(shape)

            def fits(values: Any) -> bool:
                if isinstance(values, int | float) and not isinstance(values, bool):
                    return math.isfinite(values)
                try:
                    tensor = torch.tensor(values, dtype=torch.float64)
                except (TypeError, ValueError, RuntimeError):
                    return False
                return tensor.numel() == count and bool(torch.isfinite(tensor).all())

            if not (
                isinstance(scale, Mapping)
                and set(scale) == {"mean", "std"}
                and fits(scale["mean"])
                and fits(scale["std"])
                and bool((torch.tensor(scale["std"], dtype=torch.float64) > 0).all())
            ):
                raise _recorded_error(
                    "target_scale",
                    scale,
                    f"{{mean, std}}: numbers, or {count} of them (one per target value), std > 0",
                )
        name = data.get("target_name")
        if name is not None and not isinstance(name, str):
            raise _recorded_error("target_name", name, "the target column's name, a string")
        return cls(
            kind,
            class_names=data.get("class_names"),
            target_shape=shape,
            target_scale=scale if kind == "value" else None,
            target_name=name,
        )

    def __call__(self, outputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(N, K)``, or values ``(N, *target_shape)`` in the data's
        units, from the model's outputs for a batch."""
        if self.target_kind == "class":
            return outputs.float().softmax(dim=-1)
        values = outputs.float().reshape(len(outputs), *self.target_shape)
        if self.target_mean is None:
            return values
        return values * self.target_std.to(values.device) + self.target_mean.to(values.device)


def too_many_pixels(name: str, error: Exception) -> ZooError:
    """The error for an image file over PIL's pixel limit (``Image.MAX_IMAGE_PIXELS``), which
    PIL refuses as a possible decompression bomb: ``name`` and its pixel count."""
    from PIL import Image

    found = re.search(r"\((\d+) pixels\)", str(error))
    pixels = f"{int(found.group(1)):,} pixels" if found else "more pixels than that"
    return ZooError(
        f"cannot read image {name}: it has {pixels}, more than the "
        f"{Image.MAX_IMAGE_PIXELS:,} PIL decodes (a decompression bomb, or an image to shrink "
        "before use)."
    )


def image_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The image files among ``paths`` and inside the folders among them, sorted."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        else:  # a file named, or one that is missing: reading it says so (the others go on)
            files.append(path)
    if not files:
        raise ZooError(
            f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(map(str, paths))}."
        )
    return files


# -- forecasting: each window's level taken out before the model, put back after -------------
#: How a forecaster sees each window (``data.window_norm``): "none" (the series as scaled by
#: the data), "last" (the change from the window's last value), "revin" (the window less its
#: mean, over its std: RevIN), "revin_last" (less its last value, over its std).
WINDOW_NORMS = ("none", "last", "revin", "revin_last")
# RevIN's epsilon under the square root (Kim et al. 2022's implementation): a flat window is
# divided by sqrt(eps), not by zero.
WINDOW_NORM_EPS = 1e-5


class WindowNorm:
    """Reversible instance normalization of forecasting windows (Kim et al. 2022, "Reversible
    Instance Normalization for Accurate Time-Series Forecasting against Distribution Shift",
    without its learned affine map): each input window ``(B, T, C)`` is shifted by its own
    level (its mean or its last value) and divided by its own std (or not), the model sees the
    result, and its forecasts ``(B, horizon)`` get the same shift and scale back. A trending
    series then shows the model the same shapes at levels it never saw in training.

    Mode "last" alone is the forecast of the change from the last value (NLinear, Zeng et al.
    2023, "Are Transformers Effective for Time Series Forecasting?"). Parameter-free: the
    exported weights are the model's own, and ``config.json`` records the mode.
    """

    def __init__(self, mode: str = "none") -> None:
        if mode not in WINDOW_NORMS:
            raise ZooError(
                f"data.window_norm must be one of {', '.join(WINDOW_NORMS)}, got {mode!r}."
            )
        self.mode = mode

    def __repr__(self) -> str:
        return f"WindowNorm({self.mode!r})"

    def normalize(self, windows: torch.Tensor) -> tuple[torch.Tensor, tuple[Any, Any]]:
        """``(B, T, C)`` windows as the model sees them, and the ``(shift, scale)`` of each
        (``(B, 1)`` tensors, or 0 and 1 where the mode leaves them) that :meth:`restore`
        applies to its forecasts (the first channel's: the series the targets continue)."""
        if self.mode == "none":
            return windows, (0.0, 1.0)
        first = windows[:, :, :1]  # (B, T, 1)
        shift = first[:, -1:] if self.mode in ("last", "revin_last") else first.mean(1, True)
        scale: Any = 1.0
        if self.mode in ("revin", "revin_last"):
            scale = (first.var(1, keepdim=True, unbiased=False) + WINDOW_NORM_EPS).sqrt()
        windows = (windows - shift) / scale  # (B, T, C)
        return windows, (shift.flatten(1), scale if isinstance(scale, float) else scale.flatten(1))

    def restore(self, forecasts: torch.Tensor, stats: tuple[Any, Any]) -> torch.Tensor:
        """Forecasts ``(B, horizon)`` of the normalized windows in the windows' own units."""
        shift, scale = stats
        return forecasts * scale + shift

    def __call__(self, model: Any, windows: torch.Tensor) -> torch.Tensor:
        """``model``'s forecasts ``(B, horizon)`` for ``windows``, in the windows' units."""
        normalized, stats = self.normalize(windows)
        outputs = model(normalized)
        return self.restore(outputs.reshape(len(windows), -1), stats)


# -- what data with value targets tells the regression task ---------------------------------
@dataclass(frozen=True)
class ValueTargets:
    """The contract between a data module with value targets and the regression task
    (:class:`zoo.tasks.regression.RegressionTask` reads it at setup from any data module
    that :class:`HasValueTargets`; other data modules get these defaults):

    - ``mean``, ``std``: the targets' scaling (original = scaled * std + mean), one number or
      one per target value; the task reports its metrics in the original units;
    - ``naive_forecast(inputs)``: the naive prediction the model must beat, ``(N, *target)``
      in scaled units (a table's training mean, a series' last value), scored beside the
      model as ``naive_mse`` and ``naive_mae``;
    - ``window_norm``: forecasting data's normalization of each window around the model;
    - ``classical_forecasts()``: a classical model's forecasts of the val and test splits
      (``{"val": (N, horizon), "test": ...}`` in scaled units), scored as ``classical_*``.
    """

    mean: torch.Tensor | float = 0.0
    std: torch.Tensor | float = 1.0
    naive_forecast: Callable[[torch.Tensor], torch.Tensor] | None = None
    window_norm: WindowNorm | None = None
    classical_forecasts: Callable[[], dict[str, torch.Tensor]] = field(default=dict)


@runtime_checkable
class HasValueTargets(Protocol):
    """A data module that describes its value targets (:class:`ValueTargets`)."""

    def value_targets(self) -> ValueTargets: ...
