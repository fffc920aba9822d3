"""MNIST-1D (Greydanus 2020, "Scaling down deep learning", arXiv:2011.14439): ten 1-D digit
templates, padded, scaled, translated, noised (correlated and i.i.d.) and sheared, then
resampled to series of ``length`` steps; generated offline from a seed by the ``mnist1d``
package (``mnist1d.data.make_dataset``, never its downloading ``get_dataset``).

The paper's defaults: 5,000 series of 40 steps, the first 80% (4,000) for training and the
rest (1,000) the test split; the validation split is a seeded, stratified ``val_fraction`` of
the training part. Inputs are standardized with the training split's statistics.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from zoo.config.values import is_int, is_number
from zoo.data.base import LoadedData, TensorDataModule
from zoo.errors import ZooError

# The package's defaults (mnist1d.data.get_dataset_args): the data of the paper's table.
NUM_SAMPLES, TRAIN_SPLIT, LENGTH, SEED = 5000, 0.8, 40, 42
NUM_CLASSES = 10


@lru_cache(maxsize=4)
def generate(
    num_samples: int, train_split: float, length: int, seed: int, shuffle_seq: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, x_test, y_test) of MNIST-1D as ``mnist1d.data.make_dataset`` generates it from
    the package's default arguments with these changed (cached: the same arguments give the
    same arrays; the caller must not modify them). The package seeds numpy's and Python's
    global generators; their states are restored afterwards, so generating the data draws
    nothing from the run's random streams."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split = num_samples, train_split
    args.final_seq_length, args.seed, args.shuffle_seq = length, seed, shuffle_seq
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return data["x"], data["y"], data["x_test"], data["y_test"]


class MNIST1DDataModule(TensorDataModule):
    """MNIST-1D as ``(length, 1)`` sequences (one value per step, for recurrent networks and
    1-D CNNs), or as flat ``length``-vectors (``flatten=True``) for an MLP or logistic
    regression.

    Args:
        num_samples: the series generated, ``num_samples // 10`` of each digit (>= 10).
        train_split: the share of them in the training part, the rest is the test split.
        length: the steps of each series (the package's ``final_seq_length``).
        seed: the seed of the generation (42: the package's, the paper's).
        shuffle_seq: permute the steps of every series with one fixed permutation (the
            paper's "shuffled" row: no spatial structure left for a CNN to use).
        flatten: give ``(N, length)`` vectors instead of ``(N, length, 1)`` sequences.
        **kwargs: the :class:`~zoo.data.base.TensorDataModule` arguments (``val_fraction``,
            ``split_seed``, batch sizes, ...); ``test_fraction`` is unused (the test split is
            the generated one).
    """

    name = "mnist1d"
    rebuildable = True

    def __init__(
        self,
        *,
        num_samples: int = NUM_SAMPLES,
        train_split: float = TRAIN_SPLIT,
        length: int = LENGTH,
        seed: int = SEED,
        shuffle_seq: bool = False,
        flatten: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("test_fraction", 0.0)
        super().__init__(**kwargs)
        if not (is_int(num_samples) and num_samples >= NUM_CLASSES):
            raise ZooError(
                f"data.num_samples must be an integer >= {NUM_CLASSES} (num_samples // 10 series "
                f"of each digit), got {num_samples!r}."
            )
        if not (is_number(train_split) and 0 < train_split < 1):
            raise ZooError(f"data.train_split must be a number in (0, 1), got {train_split!r}.")
        per_class = num_samples // NUM_CLASSES * NUM_CLASSES
        train = int(per_class * train_split)
        if train < 1 or train == per_class:
            raise ZooError(
                f"data.train_split={train_split} of data.num_samples={num_samples} leaves "
                f"{train} training and {per_class - train} test series; each needs at least one."
            )
        if not (is_int(length) and length >= 2):
            raise ZooError(f"data.length must be an integer >= 2, got {length!r}.")
        if not (is_int(seed) and 0 <= seed < 2**32):
            raise ZooError(f"data.seed must be an integer in [0, 2**32), got {seed!r}.")
        for key, value in (("shuffle_seq", shuffle_seq), ("flatten", flatten)):
            if not isinstance(value, bool):
                raise ZooError(f"data.{key} must be true or false, got {value!r}.")
        self.num_samples, self.train_split, self.length = num_samples, float(train_split), length
        self.seed, self.shuffle_seq, self.flatten = seed, shuffle_seq, flatten
        if flatten:
            self.name = "mnist1d_flat"

    def memory_estimate(self) -> tuple[int, dict[str, Any]] | None:
        """The generated float64 series (the package's, before the templates' padding to 72
        steps is resampled) and their float32 copies, split."""
        nbytes = self.num_samples * (max(self.length, 72) * 8 * 2 + self.length * 4 * 3)
        return nbytes, {"num_samples": self.num_samples, "length": self.length}

    def load(self) -> LoadedData:
        x, y, x_test, y_test = generate(
            self.num_samples, self.train_split, self.length, self.seed, self.shuffle_seq
        )

        def inputs(array: np.ndarray) -> torch.Tensor:
            series = torch.tensor(array, dtype=torch.float32)  # (N, T)
            return series if self.flatten else series.unsqueeze(-1)  # (N, T, 1)

        return LoadedData(
            inputs(x),
            torch.tensor(y, dtype=torch.long),
            class_names=[str(digit) for digit in range(NUM_CLASSES)],
            test_inputs=inputs(x_test),
            test_targets=torch.tensor(y_test, dtype=torch.long),
        )
