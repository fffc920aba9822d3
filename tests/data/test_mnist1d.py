"""MNIST-1D (Greydanus 2020): the package's generated data, split 4,000/1,000 with validation
taken from the training part, the same from the same seed, standardized with the training
split alone, generated without a network call or a draw from the global random streams."""

from __future__ import annotations

import random
import socket

import numpy as np
import pytest
import torch
from conftest import named

from zoo import ZooError
from zoo.data import MNIST1DDataModule
from zoo.data.mnist1d import generate


def package_data(**changes) -> dict:
    """The data as the mnist1d package's own generating function makes it."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    for key, value in changes.items():
        setattr(args, key, value)
    states = np.random.get_state(), random.getstate()
    try:
        return make_dataset(args)
    finally:
        np.random.set_state(states[0])
        random.setstate(states[1])


def sorted_rows(x: np.ndarray) -> np.ndarray:
    return x[np.lexsort(x.T[::-1])]


# A part of the paper's data (generating its 5,000 series takes seconds): 240 to train on
# (216 after the validation split), 60 to test.
SMALL = {"num_samples": 300}


@pytest.fixture(scope="module")
def sequences() -> MNIST1DDataModule:
    module = MNIST1DDataModule(**SMALL)
    module.setup()
    return module


@pytest.mark.slow
def test_the_papers_splits_and_shapes():
    module = MNIST1DDataModule()
    module.setup()
    described = module.describe()
    assert described["split_sizes"] == {"train": 3600, "val": 400, "test": 1000}
    assert described["input_kind"] == "sequence" and described["input_shape"] == [40, 1]
    assert described["num_classes"] == 10 and described["target_kind"] == "class"
    reference = package_data()
    assert len(reference["x"]) == 4000 and len(reference["x_test"]) == 1000
    assert np.array_equal(module.splits["test"][1].numpy(), reference["y_test"])


def test_splits_and_shapes(sequences):
    described = sequences.describe()
    assert described["split_sizes"] == {"train": 216, "val": 24, "test": 60}
    assert described["input_kind"] == "sequence" and described["input_shape"] == [40, 1]
    assert described["num_classes"] == 10 and described["target_kind"] == "class"
    # stratified: every digit in the validation split, in its share of the training part
    assert torch.bincount(sequences.splits["val"][1], minlength=10).min() >= 1


def test_the_data_is_the_packages_and_val_comes_from_its_training_part(sequences):
    reference = package_data(**SMALL)
    train_x, train_y = sequences.splits["train"]
    val_x, val_y = sequences.splits["val"]
    together = torch.cat([train_x, val_x])[..., 0].double().numpy()
    labels = torch.cat([train_y, val_y]).numpy()
    expected = reference["x"].astype(np.float32).astype(np.float64)
    assert np.array_equal(sorted_rows(together), sorted_rows(expected))
    assert np.array_equal(np.bincount(labels), np.bincount(reference["y"]))
    test_x, test_y = sequences.splits["test"]
    assert np.array_equal(test_x[..., 0].numpy(), reference["x_test"].astype(np.float32))
    assert np.array_equal(test_y.numpy(), reference["y_test"])


def test_flat_vectors_hold_the_same_series(sequences):
    flat = MNIST1DDataModule(flatten=True, **SMALL)
    flat.setup()
    assert flat.describe()["name"] == "mnist1d_flat"
    assert flat.input_kind == "vector" and flat.input_shape == (40,)
    for split in ("train", "val", "test"):
        assert torch.equal(flat.splits[split][0], sequences.splits[split][0][..., 0])
        assert torch.equal(flat.splits[split][1], sequences.splits[split][1])
    # per step for vectors, one mean and std over all steps for sequences (numpy, population)
    train = flat.splits["train"][0].double().numpy()
    np.testing.assert_allclose(flat.mean, train.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(flat.std, train.std(axis=0), rtol=1e-5)


def test_standardized_with_the_training_split_alone(sequences):
    train = sequences.splits["train"][0].double().numpy()
    np.testing.assert_allclose(sequences.mean, [train.mean()], rtol=1e-5)
    np.testing.assert_allclose(sequences.std, [train.std()], rtol=1e-5)
    everything = np.concatenate([s[0].double().numpy().ravel() for s in sequences.splits.values()])
    assert abs(everything.mean() - train.mean()) > 1e-4  # the other splits would move it
    standardized = sequences.normalization(sequences.splits["train"][0])
    assert abs(float(standardized.mean())) < 1e-5 and abs(float(standardized.std()) - 1) < 1e-3


def test_the_seed_decides_the_data():
    first = MNIST1DDataModule(num_samples=100, seed=3, val_fraction=0.25)
    again = MNIST1DDataModule(num_samples=100, seed=3, val_fraction=0.25)
    other = MNIST1DDataModule(num_samples=100, seed=4, val_fraction=0.25)
    for module in (first, again, other):
        module.setup()
    reference = package_data(num_samples=100, seed=3)
    expected = reference["x_test"].astype(np.float32)
    assert np.array_equal(first.splits["test"][0][..., 0].numpy(), expected)
    for split in ("train", "val", "test"):
        assert torch.equal(first.splits[split][0], again.splits[split][0])
    assert not torch.equal(first.splits["test"][0], other.splits["test"][0])
    assert first.describe()["split_sizes"] == {"train": 60, "val": 20, "test": 20}


def test_generated_offline_without_touching_the_global_random_state(monkeypatch):
    """The package's downloading function is never called, no socket connects, and the
    package's seeding of numpy's and Python's global generators is undone."""
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("MNIST-1D made a network call")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setattr("mnist1d.data.get_dataset", no_network)
    np.random.seed(7)
    random.seed(7)
    expected = (np.random.rand(), random.random())
    np.random.seed(7)
    random.seed(7)
    generate.cache_clear()
    module = MNIST1DDataModule(
        num_samples=100, length=24, seed=11, shuffle_seq=True, val_fraction=0.25
    )
    module.setup()
    assert (np.random.rand(), random.random()) == expected
    assert module.input_shape == (24, 1)


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"length": -1}, ("data.length", "-1")),
        ({"length": 1}, ("data.length", "1")),
        ({"num_samples": 5}, ("data.num_samples", "5")),
        ({"train_split": 1.0}, ("data.train_split", "1.0")),
        ({"num_samples": 10, "train_split": 0.05}, ("data.train_split=0.05", "0")),
        ({"seed": -3}, ("data.seed", "-3")),
        ({"flatten": "yes"}, ("data.flatten", "'yes'")),
    ],
)
def test_bad_options_are_refused(kwargs, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        MNIST1DDataModule(**kwargs)
