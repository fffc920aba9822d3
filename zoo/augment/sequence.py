"""Batched augmentation of series and text (primer: "Data Augmentation").

Each transform draws its random values per sample from torch's global random state (so
``seed_everything`` reproduces them) and works on the whole batch at once, on its device.
Series transforms follow Um et al. 2017 ("Data augmentation of wearable sensor data for
Parkinson's disease monitoring using convolutional neural networks": jittering, scaling) and
Park et al. 2019 (SpecAugment: masking spans of time steps); the text transform replaces
characters at random (the noising of Xie et al. 2017, "Data noising as smoothing in neural
network language models"). ``input_kinds`` says which data a transform applies to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from zoo.augment.noise import MAX_SIGMA
from zoo.config.values import is_int, is_number, is_positive_int
from zoo.errors import ZooError


def _check_number(what: str, value: Any, valid: Callable[[float], bool], allowed: str) -> None:
    """Refuse a value that is not a finite number, or not one ``valid`` accepts."""
    if not is_number(value) or not valid(value):
        raise ZooError(f"{what} must be {allowed}, got {value!r}.")


def _check_sigma(what: str, sigma: Any) -> None:
    _check_number(what, sigma, lambda v: 0 <= v <= MAX_SIGMA, f"a number >= 0 and <= {MAX_SIGMA:g}")


def _check_series(x: torch.Tensor, name: str) -> None:
    if x.ndim != 3 or not x.is_floating_point():
        raise ZooError(
            f"augmentation {name} needs float (B, T, D) sequences, got "
            f"{x.dtype} of shape {tuple(x.shape)}."
        )


class Jitter(nn.Module):
    """Add Gaussian noise of standard deviation ``sigma`` to every value."""

    input_kinds: ClassVar[tuple[str, ...]] = ("sequence",)

    def __init__(self, sigma: float = 0.03) -> None:
        super().__init__()
        _check_sigma("jitter sigma", sigma)
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_series(x, "jitter")
        return x + self.sigma * torch.randn_like(x)  # (B, T, D)


class Scaling(nn.Module):
    """Multiply each sample's channels by factors drawn from N(1, ``sigma``²)."""

    input_kinds: ClassVar[tuple[str, ...]] = ("sequence",)

    def __init__(self, sigma: float = 0.1) -> None:
        super().__init__()
        _check_sigma("scaling sigma", sigma)
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_series(x, "scaling")
        factors = 1.0 + self.sigma * torch.randn(
            x.shape[0], 1, x.shape[2], device=x.device, dtype=x.dtype
        )  # (B, 1, D)
        return x * factors


class TimeMask(nn.Module):
    """Set ``num_masks`` spans of consecutive steps of each sample to ``value``; each span's
    width is drawn uniformly from 0 to ``max_fraction`` of the sequence length."""

    input_kinds: ClassVar[tuple[str, ...]] = ("sequence",)

    def __init__(self, max_fraction: float = 0.1, num_masks: int = 1, value: float = 0.0) -> None:
        super().__init__()
        _check_number(
            "time_mask max_fraction", max_fraction, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"
        )
        if not (is_int(num_masks) and num_masks >= 0):
            raise ZooError(f"time_mask num_masks must be an integer >= 0, got {num_masks!r}.")
        _check_number("time_mask value", value, lambda v: True, "a finite number")
        self.max_fraction, self.num_masks, self.value = max_fraction, num_masks, value

    def check_fits(self, data: Mapping[str, Any]) -> None:
        """Refuse more spans than the sequences ``data`` describes have steps (each span is
        drawn in turn: ``num_masks=1000000000`` never ended)."""
        shape = data.get("input_shape")
        steps = int(shape[0]) if shape is not None and len(shape) >= 1 else None
        if steps is not None and self.num_masks > steps:
            raise ZooError(
                f"time_mask num_masks must be at most the sequence length ({steps} steps), got "
                f"{self.num_masks}."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_series(x, "time_mask")
        batch, steps, _ = x.shape
        max_width = int(self.max_fraction * steps)
        if max_width == 0 or self.num_masks == 0:
            return x
        positions = torch.arange(steps, device=x.device)  # (T,)
        masked = torch.zeros(batch, steps, dtype=torch.bool, device=x.device)  # (B, T)
        for _ in range(self.num_masks):
            width = torch.randint(0, max_width + 1, (batch, 1), device=x.device)  # (B, 1)
            start = (torch.rand(batch, 1, device=x.device) * (steps - width + 1)).long()
            masked |= (positions >= start) & (positions < start + width)
        return x.masked_fill(masked.unsqueeze(-1), self.value)  # (B, T, D)


class TokenSubstitution(nn.Module):
    """Replace each token id, with probability ``p``, by one drawn uniformly from the
    vocabulary of ``vocab_size`` tokens (the targets stay the clean text)."""

    input_kinds: ClassVar[tuple[str, ...]] = ("tokens",)

    def __init__(self, vocab_size: int, p: float = 0.05) -> None:
        super().__init__()
        if not is_positive_int(vocab_size):
            raise ZooError(f"substitute vocab_size must be an integer >= 1, got {vocab_size!r}.")
        _check_number("substitute p", p, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")
        self.vocab_size, self.p = vocab_size, p

    def check_fits(self, data: Mapping[str, Any]) -> None:
        """Refuse a vocabulary larger than the data's: its extra ids are tokens the model has
        no embedding for."""
        vocab_size = data.get("vocab_size")
        if isinstance(vocab_size, int) and self.vocab_size > vocab_size:
            raise ZooError(
                f"substitute vocab_size must be at most the data's vocabulary ({vocab_size} "
                f"tokens), got {self.vocab_size}."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_floating_point():
            raise ZooError(f"augmentation substitute needs token ids, got {x.dtype} values.")
        replace = torch.rand(x.shape, device=x.device) < self.p  # (B, T)
        random_ids = torch.randint(0, self.vocab_size, x.shape, device=x.device, dtype=x.dtype)
        return torch.where(replace, random_ids, x)
