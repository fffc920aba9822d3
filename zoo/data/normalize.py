"""Standardization with statistics measured on the training split."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Standardize(nn.Module):
    """``(x - mean) / std`` per channel (images ``N×C×H×W``) or per feature (vectors ``N×D``)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], *, spatial: bool) -> None:
        super().__init__()
        shape = (-1, 1, 1) if spatial else (-1,)
        self.register_buffer(
            "mean", torch.tensor(mean, dtype=torch.float32).reshape(shape), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(std, dtype=torch.float32).reshape(shape), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


def channel_statistics(
    x: torch.Tensor, *, spatial: bool, eps: float = 1e-6
) -> tuple[list[float], list[float]]:
    """Mean and standard deviation per channel (``N×C×H×W``) or per feature (``N×D``).

    ``uint8`` images are measured as ``x / 255``, the scale the task feeds the model.
    Features that never vary (constant border pixels of the digits) get std 1 instead of 0.
    """
    dims = (0, 2, 3) if spatial else (0,)
    count = x.numel() / x.shape[1]
    if x.dtype == torch.uint8:
        # Exact integer sums: fast, and no float copy of a 60k-image dataset.
        total = x.sum(dim=dims, dtype=torch.int64).double() / 255.0
        total_sq = torch.zeros(x.shape[1], dtype=torch.int64)
        for chunk in x.split(4096):
            total_sq += chunk.int().square().sum(dim=dims, dtype=torch.int64)
        total_sq = total_sq.double() / 255.0**2
    else:
        total = torch.zeros(x.shape[1], dtype=torch.float64)
        total_sq = torch.zeros_like(total)
        for chunk in x.split(4096):  # float64 sums over chunks, without a float64 copy
            chunk = chunk.double()
            total += chunk.sum(dim=dims)
            total_sq += chunk.square().sum(dim=dims)
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(0).sqrt()
    std = torch.where(std < eps, torch.ones_like(std), std)
    return mean.float().tolist(), std.float().tolist()
