"""Batches as index slices of tensors that already hold the whole dataset.

For small datasets a ``DataLoader`` spends most of its time collating single samples; here a
batch is ``x[indices]``, one gather on the device that holds the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch


class TensorBatchLoader:
    """Iterate ``(inputs[i], targets[i])`` batches over a seeded, per-epoch permutation.

    Under distributed training each of ``world_size`` ranks takes every ``world_size``-th
    index of the same permutation; the permutation is padded by wrapping around so every rank
    sees the same number of batches (as ``DistributedSampler`` does).

    ``epoch`` returns the current epoch, so a resumed run draws the same orders as an
    uninterrupted one.
    """

    def __init__(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        *,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        epoch: Callable[[], int] | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if len(inputs) != len(targets):
            raise ValueError(f"{len(inputs)} inputs but {len(targets)} targets")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.inputs, self.targets = inputs, targets
        self.batch_size = batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.seed = seed
        self._epoch = epoch
        self._iterations = 0
        self.rank, self.world_size = rank, world_size

    @property
    def samples_per_rank(self) -> int:
        return math.ceil(len(self.inputs) / self.world_size)

    def __len__(self) -> int:
        n = self.samples_per_rank
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _indices(self) -> torch.Tensor:
        n = len(self.inputs)
        epoch = self._epoch() if self._epoch is not None else self._iterations
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            order = torch.randperm(n, generator=generator)
        else:
            order = torch.arange(n)
        padded = self.samples_per_rank * self.world_size
        if padded > n:
            order = torch.cat([order, order[: padded - n]])
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        indices = self._indices().to(self.inputs.device)
        self._iterations += 1
        for batch in range(len(self)):
            index = indices[batch * self.batch_size : (batch + 1) * self.batch_size]
            yield self.inputs[index], self.targets[index]
