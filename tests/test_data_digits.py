"""The tensor-resident base DataModule through the digits one, and the batch loader."""

from __future__ import annotations

import pytest
import torch
from conftest import named
from sklearn.datasets import load_digits

from zoo import ZooError
from zoo.data import DigitsDataModule, TensorBatchLoader


@pytest.fixture(scope="module")
def digits():
    module = DigitsDataModule(batch_size=32)
    module.setup("fit")
    return module


def test_description(digits):
    assert digits.input_shape == (1, 32, 32)
    assert digits.input_kind == "image"
    assert digits.num_classes == 10
    assert digits.class_names == [str(i) for i in range(10)]
    described = digits.describe()
    assert described["split_sizes"] == {"train": 1257, "val": 180, "test": 360}
    assert described["input_kind"] == "image" and described["input_shape"] == [1, 32, 32]
    assert described["target_kind"] == "class" and described["target_shape"] is None
    assert len(described["normalization"]["mean"]) == 1


def test_the_data_does_not_choose_the_task():
    """The same digits without targets to learn (autoencoders, GANs): no classes, splits
    not stratified, the same standardization."""
    module = DigitsDataModule(target_kind="none")
    module.setup()
    described = module.describe()
    assert described["target_kind"] == "none" and described["num_classes"] is None
    assert not module.stratify
    assert described["normalization"] is not None


def test_declared_input_kind_is_checked():
    with pytest.raises(ZooError, match=named("input_kind", "'vector'", "[1, 32, 32]")):
        DigitsDataModule(input_kind="vector").setup()
    with pytest.raises(ZooError, match=named("data.input_kind", "image", "vector", "'pixels'")):
        DigitsDataModule(input_kind="pixels")


def test_splits_are_disjoint_stratified_and_cover_the_data(digits):
    # Upsampling is deterministic, so identical images mean the same sample.
    flat = {split: x.reshape(len(x), -1) for split, (x, _) in digits.splits.items()}
    total = sum(len(v) for v in flat.values())
    assert total == len(load_digits().target)
    per_class = sum(torch.bincount(y, minlength=10) for _, y in digits.splits.values())
    assert per_class.tolist() == torch.bincount(torch.tensor(load_digits().target)).tolist()
    train_rows = {tuple(r.tolist()) for r in flat["train"][:, ::37]}
    test_rows = {tuple(r.tolist()) for r in flat["test"][:, ::37]}
    assert len(train_rows & test_rows) < 5  # a handful of identical digits exist in the data
    for split in ("train", "val", "test"):
        counts = torch.bincount(digits.splits[split][1], minlength=10).float()
        share = counts / counts.sum()
        assert (share - 0.1).abs().max() < 0.02, split


def test_train_fraction_keeps_a_stratified_share_of_the_training_split(digits):
    small = DigitsDataModule(batch_size=32, train_fraction=0.1)
    small.setup("fit")
    for split in ("val", "test"):  # unchanged: the scores stay comparable with the full run
        assert torch.equal(small.splits[split][0], digits.splits[split][0])
    full_x = digits.splits["train"][0]
    x, y = small.splits["train"]
    assert abs(len(x) - 0.1 * len(full_x)) <= 1
    assert torch.bincount(y, minlength=10).min() >= 10  # every class, about a tenth of it
    full_rows = {tuple(r.tolist()) for r in full_x.flatten(1)[:, ::7]}
    assert all(tuple(r.tolist()) in full_rows for r in x.flatten(1)[:, ::7])
    with pytest.raises(ZooError, match=named("data.train_fraction", "0.001")):
        DigitsDataModule(train_fraction=0.001).setup()  # 1 image cannot hold 10 classes


def test_split_depends_on_split_seed_only():
    a, b = DigitsDataModule(split_seed=3), DigitsDataModule(split_seed=3)
    torch.manual_seed(1)
    a.setup()
    torch.manual_seed(2)
    b.setup()
    assert torch.equal(a.splits["test"][1], b.splits["test"][1])
    c = DigitsDataModule(split_seed=4)
    c.setup()
    assert not torch.equal(a.splits["test"][1], c.splits["test"][1])


def test_normalization_comes_from_the_training_split(digits):
    train = digits.splits["train"][0]
    assert digits.mean == pytest.approx([train.mean().item()], rel=1e-5)
    assert digits.std == pytest.approx([train.std(unbiased=False).item()], rel=1e-4)
    normalized = digits.normalization(train)
    assert normalized.mean().abs() < 1e-4
    assert (normalized.std(unbiased=False) - 1).abs() < 1e-3


def test_flat_vectors_for_the_mlp():
    module = DigitsDataModule(flatten=True)
    module.setup()
    assert module.input_shape == (64,)
    assert module.input_kind == "vector"
    raw = torch.tensor(load_digits().data, dtype=torch.float32) / 16
    assert len(module.mean) == 64
    # every flat vector is one of the dataset's rows
    assert torch.isin(module.splits["test"][0][:, 20], raw[:, 20]).all()


def test_declared_shape_is_checked():
    module = DigitsDataModule(input_shape=[1, 28, 28])
    with pytest.raises(ZooError, match=named("input_shape", "[1, 28, 28]", "[1, 32, 32]")):
        module.setup()


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"batch_size": 0}, ("data.batch_size", ">= 1", "0")),
        ({"batch_size": "64"}, ("data.batch_size", ">= 1", "'64'")),
        ({"eval_batch_size": 2.5}, ("data.eval_batch_size", ">= 1", "2.5")),
        ({"val_fraction": 1.5}, ("data.val_fraction", "[0, 1)", "1.5")),
        ({"val_fraction": "0.1"}, ("data.val_fraction", "[0, 1)", "'0.1'")),
        (
            {"val_fraction": 0.5, "test_fraction": 0.5},
            ("data.val_fraction", "data.test_fraction", "< 1", "1.0"),
        ),
        ({"on_device": "gpu"}, ("data.on_device", "auto", "always", "never", "'gpu'")),
        ({"image_size": 4}, ("data.image_size", ">= 8", "4")),
        ({"train_fraction": 0.0}, ("data.train_fraction", "0.0")),
        ({"train_fraction": 1.5}, ("data.train_fraction", "1.5")),
        ({"train_fraction": "0.1"}, ("data.train_fraction", "'0.1'")),
    ],
)
def test_bad_arguments(kwargs, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        DigitsDataModule(**kwargs)


def test_loader_batches_are_slices_of_a_per_epoch_permutation():
    x = torch.arange(10).float().unsqueeze(1)
    y = torch.arange(10)
    epoch = [0]
    loader = TensorBatchLoader(x, y, batch_size=4, shuffle=True, seed=7, epoch=lambda: epoch[0])
    assert len(loader) == 3
    first = torch.cat([b[1] for b in loader])
    again = torch.cat([b[1] for b in loader])
    assert torch.equal(first, again)  # same epoch, same order
    assert sorted(first.tolist()) == list(range(10))
    epoch[0] = 1
    assert not torch.equal(torch.cat([b[1] for b in loader]), first)
    for inputs, targets in loader:
        assert torch.equal(inputs.squeeze(1).long(), targets)


def test_loader_drop_last_and_no_shuffle():
    x, y = torch.zeros(10, 2), torch.arange(10)
    loader = TensorBatchLoader(x, y, batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert torch.cat([b[1] for b in loader]).tolist() == list(range(8))


def test_loader_shards_evenly_across_ranks():
    x, y = torch.zeros(11, 1), torch.arange(11)
    shards = [
        torch.cat(
            [
                b[1]
                for b in TensorBatchLoader(x, y, batch_size=2, shuffle=True, rank=r, world_size=3)
            ]
        )
        for r in range(3)
    ]
    assert [len(s) for s in shards] == [4, 4, 4]  # 11 padded to 12 by wrapping around
    assert set(torch.cat(shards).tolist()) == set(range(11))
    assert all(
        len(TensorBatchLoader(x, y, batch_size=2, rank=r, world_size=3)) == 2 for r in range(3)
    )
