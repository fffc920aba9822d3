"""The preprocessing a trained model expects, carried by its exported folder.

A zoo model is trained on batches its data module prepared: images brought to one size and
scaled to [0, 1], then standardized with the training split's statistics; or feature vectors
standardized the same way. The exported ``config.json`` records this (``data``: input kind
and shape, normalization, class names), and :class:`Preprocess` rebuilds it, so a model
loaded with :func:`zoo.load_pretrained` takes raw images, as torchvision's weights do with
their ``transforms()``::

    model = zoo.load_pretrained("outputs/runs/<run>/model")
    probabilities = model(model.preprocess(["7.png", "3.png"])).softmax(-1)
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from zoo.errors import ZooError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class Preprocess:
    """From raw inputs to the normalized batch a trained model takes.

    Images: file paths, PIL images, or ``C×H×W`` tensors (``uint8`` 0-255 or floats in
    [0, 1]), converted to the training channels (grayscale or RGB), resized to the training
    size (bilinear, antialiased), scaled to [0, 1] and standardized. Vectors: sequences or
    tensors of ``D`` features, standardized per feature.
    """

    def __init__(
        self,
        input_kind: str,
        input_shape: Sequence[int],
        normalization: Mapping[str, Sequence[float]] | None = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        if input_kind not in ("image", "vector"):
            raise ZooError(
                f"no preprocessing is recorded for {input_kind} inputs; it is for images and "
                "feature vectors."
            )
        self.input_kind = input_kind
        self.input_shape = [int(s) for s in input_shape]
        self.class_names = list(class_names) if class_names else None
        shape = (-1, 1, 1) if input_kind == "image" else (-1,)
        self.mean = self.std = None
        if normalization:
            self.mean = torch.tensor(normalization["mean"], dtype=torch.float32).reshape(shape)
            self.std = torch.tensor(normalization["std"], dtype=torch.float32).reshape(shape)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Preprocess:
        """The preprocessing recorded in an exported ``config.json`` (its ``data`` entry)."""
        data = config.get("data") or {}
        if not data.get("input_shape") or not data.get("input_kind"):
            raise ZooError(
                "this model's config.json records no data description (input kind and shape), "
                "so its preprocessing is unknown; it was not exported by a training run."
            )
        return cls(
            data["input_kind"],
            data["input_shape"],
            data.get("normalization"),
            data.get("class_names"),
        )

    def __call__(self, inputs: Any) -> torch.Tensor:
        """A batch for the model from one input, a list of them, or an ``N×C×H×W`` batch."""
        if self.input_kind == "vector":
            batch = torch.as_tensor(inputs, dtype=torch.float32).reshape(-1, *self.input_shape)
        else:
            batched = isinstance(inputs, torch.Tensor) and inputs.ndim == 4  # (N, C, H, W)
            items = inputs if isinstance(inputs, list | tuple) or batched else [inputs]
            batch = torch.stack([self.image(item) for item in items])
        if self.mean is not None:
            batch = (batch - self.mean) / self.std
        return batch

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
