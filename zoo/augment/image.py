"""Batched image augmentation in plain torch (primer: "Data Augmentation").

Each transform draws its random parameters per image, from torch's global random state on
the device the batch is on (so ``seed_everything`` reproduces them), and then transforms the
whole ``N×C×H×W`` float batch at once: one affine grid per image sampled by a single
``grid_sample``, crops by index arithmetic, flips and erasing by masks, color changes by
per-image factors. There is no per-image Python loop and none of kornia's per-call
bookkeeping, which is what makes these many times faster than torchvision's transforms applied
image by image (``scripts/benchmark_augmentation.py`` measures both).

Every transform keeps the constructor arguments and their meaning of the kornia /
torchvision transform of the same name (the differences are documented on each class), has
``batched = True`` (so :func:`zoo.augment.batched` hands it whole batches) and keeps the draws
of its last call in ``last_params`` (tensors of N rows; ``applied`` says which images were
transformed, each with probability ``p``). Images are expected in [0, 1] (``ColorJitter``
clamps to it, as torchvision does for float images).

The recipes: random crops of the zero-padded image with horizontal flips are the CIFAR
augmentation of He et al. 2016 ("Deep residual learning for image recognition", section
4.2); random erasing is Zhong et al. 2020 ("Random erasing data augmentation", AAAI).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from zoo.config.values import is_int, is_number
from zoo.errors import ZooError

Range = tuple[float, float]


# -- argument checks ---------------------------------------------------------------------------


def _is_pair(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2


def _refuse(owner: str, what: str, value: Any, allowed: str) -> ZooError:
    return ZooError(f"{owner} {what} must be {allowed}, got {value!r}.")


def _probability(owner: str, p: Any) -> float:
    if not is_number(p) or not 0.0 <= p <= 1.0:
        raise _refuse(owner, "p", p, "a probability in [0, 1]")
    return float(p)


def _number(owner: str, what: str, value: Any) -> float:
    if not is_number(value):
        raise _refuse(owner, what, value, "a number")
    return float(value)


def _increasing_pair(
    owner: str, what: str, value: Any, *, low: float, high: float, low_open: bool = False
) -> Range:
    """``value`` as a (min, max) pair with ``low <= min <= max <= high`` (``low < min`` when
    ``low_open``)."""
    above = ">" if low_open else ">="
    allowed = f"an increasing [min, max] pair of numbers {above} {low:g}" + (
        f" and <= {high:g}" if math.isfinite(high) else ""
    )
    if not _is_pair(value) or not all(is_number(v) for v in value):
        raise _refuse(owner, what, value, allowed)
    first, second = float(value[0]), float(value[1])
    if (first <= low if low_open else first < low) or not first <= second <= high:
        raise _refuse(owner, what, value, allowed)
    return first, second


def _fraction_pair(owner: str, value: Any) -> Range:
    """torchvision's translate: a (horizontal, vertical) pair of fractions in [0, 1]."""
    if not _is_pair(value) or not all(is_number(v) and 0.0 <= v <= 1.0 for v in value):
        raise _refuse(
            owner, "translate", value, "a (horizontal, vertical) pair of fractions in [0, 1]"
        )
    return float(value[0]), float(value[1])


#: the largest angle in degrees: a full turn (the angle is used in float32, where one like
#: 1e300 is infinite and makes every pixel NaN)
MAX_DEGREES = 360.0
#: the largest color factor: brightness x255 already makes every non-black 8-bit pixel white
#: (and a factor like 1e300, infinite in float32, makes black pixels NaN)
MAX_FACTOR = 255.0


def _degrees(owner: str, degrees: Any) -> Range:
    """torchvision's degrees: a number d in [0, 360] means [-d, d]; else an increasing pair
    within [-360, 360]."""
    if is_number(degrees) and 0 <= degrees <= MAX_DEGREES:
        return -float(degrees), float(degrees)
    if (
        _is_pair(degrees)
        and all(is_number(v) and abs(v) <= MAX_DEGREES for v in degrees)
        and degrees[0] <= degrees[1]
    ):
        return float(degrees[0]), float(degrees[1])
    raise _refuse(
        owner,
        "degrees",
        degrees,
        f"a number >= 0 and <= {MAX_DEGREES:g}, or an increasing [min, max] pair within "
        f"[-{MAX_DEGREES:g}, {MAX_DEGREES:g}]",
    )


def _factor_range(owner: str, what: str, value: Any) -> Range:
    """torchvision's ColorJitter ranges: x >= 0 means [max(0, 1 - x), 1 + x]; else an
    increasing pair of factors >= 0; factors at most :data:`MAX_FACTOR`."""
    if is_number(value):
        if not 0 <= value <= MAX_FACTOR - 1:
            raise _refuse(
                owner,
                what,
                value,
                f"a number >= 0 and <= {MAX_FACTOR - 1:g} or an increasing [min, max] >= 0 and "
                f"<= {MAX_FACTOR:g}",
            )
        return max(0.0, 1.0 - value), 1.0 + value
    return _increasing_pair(owner, what, value, low=0.0, high=MAX_FACTOR)


def _image_size(data: Mapping[str, Any]) -> tuple[int, int] | None:
    """The (height, width) of the images ``data`` describes (``input_shape`` C, H, W), or None
    when it does not say."""
    shape = data.get("input_shape")
    if shape is None or len(shape) != 3:
        return None
    return int(shape[1]), int(shape[2])


def _within_image(owner: str, what: str, pair: Range | None, data: Mapping[str, Any]) -> None:
    """Refuse a (min, max) pair of zoom factors or aspect ratios outside [1/side, side] of the
    larger side of the images ``data`` describes: beyond, the image (or the box) is under one
    pixel or one pixel fills it."""
    size = _image_size(data)
    if size is None or pair is None:
        return
    side = max(size)
    if not 1.0 / side <= pair[0] <= pair[1] <= side:
        raise _refuse(
            owner,
            what,
            list(pair),
            f"within [1/{side}, {side}] for {size[0]}x{size[1]} images (beyond, one pixel "
            "fills the image or the image is under one pixel)",
        )


def _int_pair(owner: str, what: str, value: Any, *, low: int) -> tuple[int, int]:
    """An int n >= ``low`` as (n, n), or a pair of them."""
    pair = (value, value) if not isinstance(value, Sequence) else value
    if not _is_pair(pair) or not all(is_int(v) for v in pair) or min(pair) < low:
        raise _refuse(owner, what, value, f"an integer >= {low} or a pair of them")
    return int(pair[0]), int(pair[1])


def _padding(owner: str, padding: Any) -> tuple[int, int, int, int]:
    """torchvision's padding: one int for every side, (left/right, top/bottom) or
    (left, top, right, bottom); returned as (left, top, right, bottom)."""
    allowed = (
        "an integer >= 0, or 2 or 4 of them (left/right, top/bottom; left, top, right, bottom)"
    )
    sides = [padding] if isinstance(padding, int) else padding
    if (
        not isinstance(sides, Sequence)
        or isinstance(sides, str)
        or len(sides) not in (1, 2, 4)
        or not all(is_int(v) and v >= 0 for v in sides)
    ):
        raise _refuse(owner, "padding", padding, allowed)
    if len(sides) == 1:
        return (sides[0],) * 4
    if len(sides) == 2:
        return sides[0], sides[1], sides[0], sides[1]
    return sides[0], sides[1], sides[2], sides[3]


# -- shared pieces -----------------------------------------------------------------------------


class _ImageTransform(nn.Module):
    """A batched image transform: checks the batch, keeps its last draws."""

    batched: ClassVar[bool] = True
    input_kinds: ClassVar[tuple[str, ...]] = ("image",)

    def __init__(self) -> None:
        super().__init__()
        self.last_params: dict[str, torch.Tensor] = {}

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or not x.is_floating_point():
            raise ZooError(
                f"{type(self).__name__} needs float N x C x H x W image batches, got "
                f"{x.dtype} of shape {tuple(x.shape)}."
            )

    @staticmethod
    def _uniform(draws: torch.Tensor, bounds: Range) -> torch.Tensor:
        """Map uniform [0, 1) draws onto [low, high]."""
        low, high = bounds
        return draws * (high - low) + low


def _choose(mask: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``torch.where(mask, new, old)`` for finite pixel values, as one ``lerp`` with weights 0
    or 1, which is exact (torch computes ``old + 0·(new - old)`` for weights below 0.5 and
    ``new - (new - old)·0`` above) and about twice as fast as ``torch.where`` on the CPU."""
    return torch.lerp(old, new, mask.to(old.dtype))


def _inverse_affine(
    angle: torch.Tensor,
    translation: torch.Tensor,
    scale: torch.Tensor,
    height: int,
    width: int,
) -> torch.Tensor:
    """The (N, 2, 3) ``affine_grid`` matrices of torchvision's ``affine(angle, translate,
    scale, shear=0)`` about the image centre: output pixel -> input pixel, in normalized
    coordinates (align_corners=False), ``angle`` (N,) in degrees, ``translation`` (N, 2) in
    pixels (x, y), ``scale`` (N,)."""
    radians = torch.deg2rad(angle)
    cos, sin = torch.cos(radians) / scale, torch.sin(radians) / scale  # (N,), (N,)
    tx, ty = translation.unbind(1)  # (N,), (N,)
    # torchvision's inverse, in pixel coordinates centred on the image: [[cos, sin], [-sin, cos]]
    # / scale, applied after undoing the translation; then rescaled by (2 / W, 2 / H).
    row_x = torch.stack(
        [cos, sin * (height / width), -(cos * tx + sin * ty) * (2.0 / width)], dim=1
    )  # (N, 3)
    row_y = torch.stack(
        [-sin * (width / height), cos, (sin * tx - cos * ty) * (2.0 / height)], dim=1
    )  # (N, 3)
    return torch.stack([row_x, row_y], dim=1)  # (N, 2, 3)


def _warp(x: torch.Tensor, theta: torch.Tensor, fill: float) -> torch.Tensor:
    """Sample ``x`` (N, C, H, W) through the (N, 2, 3) matrices ``theta``: bilinear, outside
    pixels ``fill``. The grid is built by broadcasting (``F.affine_grid``'s batched matmul is
    several times slower on the CPU); it equals ``F.affine_grid(theta, x.shape,
    align_corners=False)``."""
    _, _, height, width = x.shape
    theta = theta.to(x.dtype)
    xs = torch.arange(width, device=x.device, dtype=x.dtype).mul_(2.0 / width).add_(1.0 / width - 1)
    ys = torch.arange(height, device=x.device, dtype=x.dtype).mul_(2.0 / height)
    ys = ys.add_(1.0 / height - 1).unsqueeze(1)  # (H, 1)
    coefficients = theta[:, :, :, None, None]  # (N, 2, 3, 1, 1)
    grid = coefficients[:, :, 0] * xs + (coefficients[:, :, 1] * ys + coefficients[:, :, 2])
    grid = grid.permute(0, 2, 3, 1)  # (N, H, W, 2): the (x, y) input point of each output pixel
    if fill == 0.0:
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    ones = torch.ones_like(x[:, :1])  # (N, 1, H, W): how much of each output lies inside
    sampled = F.grid_sample(
        torch.cat([x, ones], dim=1),
        grid,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )  # (N, C + 1, H, W)
    image, inside = sampled[:, :-1], sampled[:, -1:]
    return image + (1.0 - inside) * fill  # (N, C, H, W)


# -- geometry ----------------------------------------------------------------------------------


class RandomAffine(_ImageTransform):
    """Rotate, shift and scale each image about its centre by its own random draws.

    As torchvision's/kornia's ``RandomAffine`` (without shear): the angle is uniform in
    [-``degrees``, ``degrees``] (or a [min, max] pair), with ``v2.functional.affine``'s sign;
    the shift is uniform in ±``translate[0]``·width pixels horizontally and
    ±``translate[1]``·height vertically (sub-pixel, as kornia draws it; torchvision rounds to
    whole pixels); the scale is uniform in ``scale`` = [min, max]. Each image is transformed
    with probability ``p``; pixels from outside the image are ``fill``. Bilinear sampling.
    ``last_params``: ``applied`` (N,), ``angle`` (N,) degrees, ``translation`` (N, 2) pixels
    (x, y), ``scale`` (N,), ``matrix`` (N, 2, 3), the normalized ``affine_grid`` matrices.
    """

    def __init__(
        self,
        degrees: float | Sequence[float],
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        p: float = 1.0,
        fill: float = 0.0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.degrees = _degrees(owner, degrees)
        self.translate = None if translate is None else _fraction_pair(owner, translate)
        self.scale = (
            None
            if scale is None
            else _increasing_pair(owner, "scale", scale, low=0.0, high=math.inf, low_open=True)
        )
        self.p = _probability(owner, p)
        self.fill = _number(owner, "fill", fill)

    def check_fits(self, data: Mapping[str, Any]) -> None:
        """Refuse a ``scale`` range out of proportion with the images ``data`` describes."""
        _within_image(type(self).__name__, "scale", self.scale, data)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        n, _, height, width = x.shape  # (N, C, H, W)
        draws = torch.rand(n, 5, device=x.device)  # (N, 5): angle, x shift, y shift, scale, p
        applied = draws[:, 4] < self.p  # (N,)
        angle = self._uniform(draws[:, 0], self.degrees)  # (N,)
        translation = torch.zeros(n, 2, device=x.device)  # (N, 2)
        if self.translate is not None:
            shift = draws[:, 1:3] * 2 - 1  # (N, 2), uniform in [-1, 1]
            translation = torch.stack(
                [
                    shift[:, 0] * (self.translate[0] * width),
                    shift[:, 1] * (self.translate[1] * height),
                ],
                dim=1,
            )  # (N, 2), pixels
        scale = (
            torch.ones(n, device=x.device)
            if self.scale is None
            else self._uniform(draws[:, 3], self.scale)
        )  # (N,)
        if self.p < 1.0:
            angle = angle * applied
            translation = translation * applied[:, None]
            scale = torch.where(applied, scale, 1.0)
        theta = _inverse_affine(angle, translation, scale, height, width)  # (N, 2, 3)
        self.last_params = {
            "applied": applied,
            "angle": angle,
            "translation": translation,
            "scale": scale,
            "matrix": theta,
        }
        out = _warp(x, theta, self.fill)  # (N, C, H, W)
        return out if self.p == 1.0 else _choose(applied[:, None, None, None], out, x)

    def extra_repr(self) -> str:
        return (
            f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
            f"p={self.p}, fill={self.fill}"
        )


class RandomRotation(_ImageTransform):
    """Rotate each image about its centre by an angle uniform in [-``degrees``, ``degrees``]
    (or a [min, max] pair), counter-clockwise for positive angles as
    ``v2.functional.rotate``; with probability ``p``, pixels from outside the image ``fill``.
    Bilinear sampling. ``last_params``: ``applied`` (N,), ``angle`` (N,) degrees."""

    def __init__(self, degrees: float | Sequence[float], p: float = 1.0, fill: float = 0.0) -> None:
        super().__init__()
        owner = type(self).__name__
        self.degrees = _degrees(owner, degrees)
        self.p = _probability(owner, p)
        self.fill = _number(owner, "fill", fill)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        n, _, height, width = x.shape  # (N, C, H, W)
        draws = torch.rand(n, 2, device=x.device)  # (N, 2): angle, p
        applied = draws[:, 1] < self.p  # (N,)
        angle = self._uniform(draws[:, 0], self.degrees)  # (N,)
        if self.p < 1.0:
            angle = angle * applied
        # torchvision's rotate(angle) is its affine(-angle)
        theta = _inverse_affine(
            -angle,
            torch.zeros(n, 2, device=x.device),
            torch.ones(n, device=x.device),
            height,
            width,
        )  # (N, 2, 3)
        self.last_params = {"applied": applied, "angle": angle}
        out = _warp(x, theta, self.fill)  # (N, C, H, W)
        return out if self.p == 1.0 else _choose(applied[:, None, None, None], out, x)

    def extra_repr(self) -> str:
        return f"degrees={self.degrees}, p={self.p}, fill={self.fill}"


class RandomCrop(_ImageTransform):
    """Pad each image by ``padding`` pixels of ``fill``, then cut a ``size`` window at a
    random position of its own (the CIFAR recipe of He et al. 2016 pads by 4 and crops back
    to 32x32). ``size`` is an int or (height, width); ``padding`` an int, (left/right,
    top/bottom) or (left, top, right, bottom), as torchvision's. An image not drawn (with
    probability 1 - ``p``) gets the window at the centre of the unpadded image (the image
    itself when ``size`` is its size). ``last_params``: ``applied`` (N,), ``offset`` (N, 2),
    the window's (top, left) in the padded image. Crops are exact copies of pixels.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] = 0,
        fill: float = 0.0,
        p: float = 1.0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.size = _int_pair(owner, "size", size, low=1)
        self.padding = _padding(owner, padding)  # (left, top, right, bottom)
        self.fill = _number(owner, "fill", fill)
        self.p = _probability(owner, p)

    def check_fits(self, data: Mapping[str, Any]) -> None:
        """Refuse a padding wider than the images ``data`` describes (``padding=1000000``
        allocated terabytes) and a window larger than the padded image, before training."""
        size = _image_size(data)
        if size is None:
            return
        height, width = size
        left, top, right, bottom = self.padding
        if max(left, right) > width or max(top, bottom) > height:
            raise _refuse(
                type(self).__name__,
                "padding",
                list(self.padding),
                f"at most the image's side on each side ({width} left and right, {height} top "
                f"and bottom, for {height}x{width} images)",
            )
        padded = (height + top + bottom, width + left + right)
        if self.size[0] > padded[0] or self.size[1] > padded[1]:
            raise ZooError(
                f"RandomCrop size {list(self.size)} is larger than the padded image "
                f"{list(padded)} of {height}x{width} images; use a size up to it or more "
                "padding."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        n, channels, height, width = x.shape  # (N, C, H, W)
        left, top, right, bottom = self.padding
        if any(self.padding):
            x = F.pad(x, (left, right, top, bottom), value=self.fill)  # (N, C, H', W')
        padded_height, padded_width = x.shape[-2:]
        crop_height, crop_width = self.size
        if crop_height > padded_height or crop_width > padded_width:
            raise ZooError(
                f"RandomCrop size {self.size} is larger than the padded image "
                f"({padded_height}, {padded_width}); use a size up to it or more padding."
            )
        room = (padded_height - crop_height, padded_width - crop_width)  # the largest (top, left)
        draws = torch.rand(n, 3, device=x.device)  # (N, 3): top, left, p
        applied = draws[:, 2] < self.p  # (N,)
        # uniform in 0..room (the clamp catches float rounding at the top of the range)
        offset = torch.stack(
            [(draws[:, i] * (room[i] + 1)).long().clamp_(max=room[i]) for i in (0, 1)], dim=1
        )  # (N, 2)
        if self.p < 1.0:
            # not drawn: the window at the centre of the unpadded image
            centre_top = min(max(top + (height - crop_height) // 2, 0), room[0])
            centre_left = min(max(left + (width - crop_width) // 2, 0), room[1])
            offset = torch.stack(
                [
                    torch.where(applied, offset[:, 0], centre_top),
                    torch.where(applied, offset[:, 1], centre_left),
                ],
                dim=1,
            )  # (N, 2)
        self.last_params = {"applied": applied, "offset": offset}
        # Every (C, h, w) window of the batch's memory as one strided view, indexed by the
        # flat position of its first pixel; index_select copies the chosen one per image.
        x = x.contiguous()  # (N, C, H', W')
        plane = padded_height * padded_width
        last = (channels - 1) * plane + (crop_height - 1) * padded_width + crop_width - 1
        windows = x.as_strided(
            (x.numel() - last, channels, crop_height, crop_width), (1, plane, padded_width, 1)
        )  # (positions, C, h, w), a view
        first = offset[:, 0] * padded_width + offset[:, 1]  # (N,)
        first = first + torch.arange(n, device=x.device) * (channels * plane)
        return windows.index_select(0, first)  # (N, C, h, w)

    def extra_repr(self) -> str:
        return f"size={self.size}, padding={self.padding}, fill={self.fill}, p={self.p}"


class RandomHorizontalFlip(_ImageTransform):
    """Mirror each image left to right with probability ``p`` (with random crops, the CIFAR
    recipe of He et al. 2016). ``last_params``: ``applied`` (N,)."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _probability(type(self).__name__, p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        applied = torch.rand(x.shape[0], device=x.device) < self.p  # (N,)
        self.last_params = {"applied": applied}
        return _choose(applied[:, None, None, None], x.flip(-1), x)  # (N, C, H, W)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# -- erasing and color -------------------------------------------------------------------------


class RandomErasing(_ImageTransform):
    """Random erasing (Zhong et al. 2020): with probability ``p``, set one rectangle of each
    image to ``value``.

    torchvision's sampling: the rectangle's area is a fraction uniform in ``scale`` of the
    image's, its aspect ratio (height / width) log-uniform in ``ratio``, its sides rounded to
    whole pixels, its position uniform over the places it fits. Where torchvision redraws (up
    to 10 times) a rectangle that does not fit, the sides are clamped to the image instead.
    ``last_params``: ``applied`` (N,), ``box`` (N, 4): top, left, height, width.
    """

    def __init__(
        self,
        p: float = 0.5,
        scale: Sequence[float] = (0.02, 0.33),
        ratio: Sequence[float] = (0.3, 3.3),
        value: float = 0.0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.p = _probability(owner, p)
        self.scale = _increasing_pair(owner, "scale", scale, low=0.0, high=1.0)
        self.ratio = _increasing_pair(owner, "ratio", ratio, low=0.0, high=math.inf, low_open=True)
        self.value = _number(owner, "value", value)

    def check_fits(self, data: Mapping[str, Any]) -> None:
        """Refuse aspect ratios out of proportion with the images ``data`` describes."""
        _within_image(type(self).__name__, "ratio", self.ratio, data)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        n, _, height, width = x.shape  # (N, C, H, W)
        draws = torch.rand(n, 5, device=x.device)  # (N, 5): area, ratio, top, left, p
        applied = draws[:, 4] < self.p  # (N,)
        area = self._uniform(draws[:, 0], self.scale) * (height * width)  # (N,)
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        aspect = torch.exp(self._uniform(draws[:, 1], log_ratio))  # (N,)
        box_height = torch.sqrt(area * aspect).round().clamp(max=height).long()  # (N,)
        box_width = torch.sqrt(area / aspect).round().clamp(max=width).long()  # (N,)
        top = (draws[:, 2] * (height - box_height + 1)).long()  # (N,)
        left = (draws[:, 3] * (width - box_width + 1)).long()  # (N,)
        top, left = torch.minimum(top, height - box_height), torch.minimum(left, width - box_width)
        self.last_params = {
            "applied": applied,
            "box": torch.stack([top, left, box_height, box_width], dim=1),
        }
        rows = torch.arange(height, device=x.device)  # (H,)
        columns = torch.arange(width, device=x.device)  # (W,)
        in_rows = (rows >= top[:, None]) & (rows < (top + box_height)[:, None])  # (N, H)
        in_columns = (columns >= left[:, None]) & (columns < (left + box_width)[:, None])  # (N, W)
        in_rows &= applied[:, None]
        inside = in_rows.to(x.dtype)[:, :, None] * in_columns.to(x.dtype)[:, None, :]  # (N, H, W)
        value = x.new_full((), self.value)  # ()
        return _choose(inside[:, None], value, x)  # (N, C, H, W)

    def extra_repr(self) -> str:
        return f"p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value}"


def _grayscale(x: torch.Tensor) -> torch.Tensor:
    """torchvision's luma of (N, 3, H, W) RGB images: 0.2989 R + 0.587 G + 0.114 B."""
    red, green, blue = x.unbind(1)  # (N, H, W) each
    return (red * 0.2989 + green * 0.587 + blue * 0.114).unsqueeze(1)  # (N, 1, H, W)


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """torchvision's blend of float images: factor·x + (1 - factor)·other, clamped to [0, 1]."""
    return (x * factor + other * (1.0 - factor)).clamp_(0.0, 1.0)


class ColorJitter(_ImageTransform):
    """Change each image's brightness, contrast and saturation by factors of its own.

    torchvision's ranges and formulas: ``brightness``, ``contrast`` and ``saturation`` x
    give factors uniform in [max(0, 1 - x), 1 + x] (or a [min, max] pair of factors >= 0; 0
    leaves the property alone). In this fixed order (torchvision shuffles it per call):
    brightness multiplies the image; contrast blends it with the mean of its grayscale
    image; saturation blends it with its grayscale image (a one-channel image has none to
    change); each result is clamped to [0, 1]. Each image is changed with probability ``p``.
    ``last_params``: ``applied`` (N,), ``factors`` (N, 3): brightness, contrast, saturation.
    """

    def __init__(
        self,
        brightness: float | Sequence[float] = 0.0,
        contrast: float | Sequence[float] = 0.0,
        saturation: float | Sequence[float] = 0.0,
        p: float = 1.0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.brightness = _factor_range(owner, "brightness", brightness)
        self.contrast = _factor_range(owner, "contrast", contrast)
        self.saturation = _factor_range(owner, "saturation", saturation)
        self.p = _probability(owner, p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        n, channels = x.shape[:2]  # (N, C, H, W)
        changes_color = self.contrast != (1.0, 1.0) or self.saturation != (1.0, 1.0)
        if changes_color and channels not in (1, 3):
            raise ZooError(
                f"ColorJitter contrast and saturation need 1- or 3-channel images, got {channels} "
                "channels; use brightness only."
            )
        draws = torch.rand(n, 4, device=x.device)  # (N, 4): brightness, contrast, saturation, p
        applied = draws[:, 3] < self.p  # (N,)
        ranges = (self.brightness, self.contrast, self.saturation)
        factors = torch.stack(
            [self._uniform(draws[:, i], bounds) for i, bounds in enumerate(ranges)], dim=1
        )  # (N, 3)
        if self.p < 1.0:
            factors = torch.where(applied[:, None], factors, 1.0)
        self.last_params = {"applied": applied, "factors": factors}
        factor = factors.to(x.dtype)[:, :, None, None, None]  # (N, 3, 1, 1, 1)
        out = x
        if self.brightness != (1.0, 1.0):
            out = (out * factor[:, 0]).clamp_(0.0, 1.0)  # (N, C, H, W)
        if self.contrast != (1.0, 1.0):
            gray = out if channels == 1 else _grayscale(out)  # (N, 1, H, W)
            mean = gray.mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
            out = _blend(out, mean, factor[:, 1])  # (N, C, H, W)
        if self.saturation != (1.0, 1.0) and channels == 3:
            out = _blend(out, _grayscale(out), factor[:, 2])  # (N, C, H, W)
        return out if self.p == 1.0 else _choose(applied[:, None, None, None], out, x)

    def extra_repr(self) -> str:
        return (
            f"brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation}, p={self.p}"
        )
