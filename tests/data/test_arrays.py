"""Bring your own arrays: .npz, .npy pairs and .csv files, described from the data itself,
with the same seeded splits as every other data module and one clear error per mistake."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import named

from zoo import ZooError
from zoo.data import ArrayDataModule
from zoo.training.run import train


def blobs(n: int = 120, features: int = 4, classes: int = 3, seed: int = 0):
    """Separable Gaussian blobs: class c is centred at 3c on every feature."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = (rng.normal(size=(n, features)) + 3.0 * y[:, None]).astype(np.float32)
    return x, y


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_npz_with_class_targets(tmp_path):
    x, y = blobs()
    np.savez(tmp_path / "blobs.npz", x=x, y=y)
    data = ArrayDataModule(path=str(tmp_path / "blobs.npz"), val_fraction=0.25, test_fraction=0.25)
    data.setup()
    described = data.describe()
    assert described["input_kind"] == "vector" and described["input_shape"] == [4]
    assert described["target_kind"] == "class" and described["num_classes"] == 3
    assert described["class_names"] == ["0", "1", "2"]
    assert described["split_sizes"] == {"train": 60, "val": 30, "test": 30}
    for split in ("train", "val", "test"):  # stratified: every class equally often
        counts = torch.bincount(data.splits[split][1], minlength=3)
        assert counts.min() == counts.max()
    all_inputs = torch.cat([data.splits[s][0] for s in ("train", "val", "test")])
    assert sorted(map(tuple, all_inputs.tolist())) == sorted(map(tuple, x.tolist()))


def test_npy_pair_and_other_key_names(tmp_path):
    x, y = blobs()
    np.save(tmp_path / "inputs.npy", x)
    np.save(tmp_path / "labels.npy", y + 5)  # labels 5, 6, 7 become classes 0, 1, 2
    data = ArrayDataModule(
        path=str(tmp_path / "inputs.npy"), targets_path=str(tmp_path / "labels.npy")
    )
    data.setup()
    assert data.num_classes == 3 and data.class_names == ["5", "6", "7"]
    np.savez(tmp_path / "named.npz", features=x, label=y)
    named = ArrayDataModule(path=str(tmp_path / "named.npz"), x_key="features", y_key="label")
    named.setup()
    assert named.num_classes == 3


def test_csv_with_named_columns_and_class_names(tmp_path):
    x, y = blobs(n=30)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    rows = [[*row, name, 1.0] for row, name in zip(x.tolist(), names)]
    path = write_csv(tmp_path / "flowers.csv", ["a", "b", "c", "d", "species", "constant"], rows)
    data = ArrayDataModule(
        path=str(path), target_column="species", feature_columns=["a", "b", "c", "d"]
    )
    data.setup()
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    assert data.input_shape == (4,)
    every = ArrayDataModule(path=str(path), target_column="species")  # all other columns
    every.setup()
    assert every.input_shape == (5,)


def test_float_targets_are_values_and_sequences_are_sequences(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6, 2)).astype(np.float32)
    y = x.sum(axis=(1, 2))
    np.savez(tmp_path / "series.npz", x=x, y=y)
    data = ArrayDataModule(path=str(tmp_path / "series.npz"))
    data.setup()
    described = data.describe()
    assert described["input_kind"] == "sequence" and described["input_shape"] == [6, 2]
    assert described["target_kind"] == "value" and described["target_shape"] == [1]
    assert described["num_classes"] is None
    # value targets are not stratified; the statistics are per feature over all steps
    assert len(data.mean) == 2


def test_token_ids_are_never_standardized(tmp_path):
    x = np.random.default_rng(0).integers(0, 20, size=(40, 8))
    np.savez(tmp_path / "tokens.npz", x=x, y=np.arange(40) % 2)
    data = ArrayDataModule(path=str(tmp_path / "tokens.npz"), input_kind="tokens")
    data.setup()
    assert data.input_kind == "tokens" and data.normalization is None
    assert data.describe()["normalization"] is None
    assert data.splits["train"][0].dtype == torch.long


def test_normalization_and_stratification_are_choices(tmp_path):
    x, y = blobs()
    np.savez(tmp_path / "blobs.npz", x=x, y=y)
    plain = ArrayDataModule(path=str(tmp_path / "blobs.npz"), normalize=False)
    plain.setup()
    assert plain.normalization is None
    unstratified = ArrayDataModule(path=str(tmp_path / "blobs.npz"), stratify=False)
    stratified = ArrayDataModule(path=str(tmp_path / "blobs.npz"))
    unstratified.setup(), stratified.setup()
    assert not torch.equal(unstratified.splits["test"][1], stratified.splits["test"][1])


def test_mistakes_are_one_clear_error(tmp_path):
    x, y = blobs()
    np.savez(tmp_path / "ok.npz", x=x, y=y)
    np.savez(tmp_path / "short.npz", x=x, y=y[:-1])
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}] * 3, dtype=object), y=y[:3])
    np.savez(tmp_path / "one_class.npz", x=x, y=np.zeros(len(x), dtype=int))
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "text.npz").write_text("not a zip archive")
    write_csv(tmp_path / "bad.csv", ["a", "b", "label"], [[1, "oops", 0], [2, 3, 1]])

    def quoted(name: str) -> str:
        return f"'{tmp_path / name}'"

    bad_csv = quoted("bad.csv")
    cases = [  # what each refusal names: the file, the bad key or value, what is allowed
        ({"path": "missing.npz"}, ("data.path", quoted("missing.npz"), ".npz", ".npy", ".csv")),
        ({"path": ""}, ("data.path", f"'{tmp_path}'", "folder", ".npz")),
        ({"path": "ok.npz", "x_key": "inputs"}, (quoted("ok.npz"), "'inputs'", "x", "y")),
        ({"path": "short.npz"}, (quoted("short.npz"), "120 inputs", "119 targets")),
        ({"path": "objects.npz"}, (quoted("objects.npz"),)),
        ({"path": "one_class.npz"}, (quoted("one_class.npz"), "('0')", "at least 2")),
        ({"path": "text.npz"}, (quoted("text.npz"), ".npz")),
        ({"path": "x.npy"}, (quoted("x.npy"), "data.targets_path")),
        ({"path": "bad.csv"}, (bad_csv, "data.target_column")),
        ({"path": "bad.csv", "target_column": "lable"}, (bad_csv, "'lable'", "label")),
        ({"path": "bad.csv", "target_column": "label"}, (bad_csv, "'b'", "line 2", "'oops'")),
        (
            {"path": "ok.npz", "target_kind": "labels"},
            ("data.target_kind", "'labels'", "auto", "class", "value"),
        ),
    ]
    for kwargs, fragments in cases:
        with pytest.raises(ZooError, match=named(*fragments)):
            ArrayDataModule(**{**kwargs, "path": str(tmp_path / kwargs["path"])}).setup()


def test_trains_through_train_py_with_the_description_read_from_the_file(make_config, tmp_path):
    x, y = blobs(n=150, features=5, classes=3)
    np.savez(tmp_path / "blobs.npz", x=x, y=y)
    cfg = make_config(
        "data=arrays",
        f"data.path={tmp_path / 'blobs.npz'}",
        "model=mlp",
        "data.batch_size=16",
        "trainer.max_epochs=10",
    )
    metrics = train(cfg)
    assert cfg.data.num_classes == 3 and list(cfg.data.input_shape) == [5]
    assert cfg.model.in_features == 5
    assert metrics["test/acc"] > 0.9  # the blobs are three standard deviations apart


def test_an_mlp_regresses_float_targets_through_train_py(make_config, tmp_path):
    """The README's own-data regression with the MLP: one output per target value."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32))[:, None]  # (N, 1) values
    np.savez(tmp_path / "linear.npz", x=x, y=y)
    cfg = make_config(
        "data=arrays",
        f"data.path={tmp_path / 'linear.npz'}",
        "model=mlp",
        "task=regression",
        "data.batch_size=16",
        "trainer.max_epochs=3",
    )
    metrics = train(cfg)
    assert cfg.model.num_classes == 1
    assert metrics["test/mse"] < float(np.var(y))  # better than predicting the mean


def test_a_missing_file_is_refused_before_any_work(make_config, tmp_path):
    cfg = make_config("data=arrays", f"data.path={tmp_path / 'nope.npz'}", "model=mlp")
    with pytest.raises(ZooError, match=named(f"'{tmp_path / 'nope.npz'}'")):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()


def test_too_few_samples_of_a_class_is_one_clear_error(tmp_path):
    x, y = blobs(n=20, classes=2)
    y[:] = 0
    y[0] = 1  # one sample of class 1 cannot be stratified into three splits
    np.savez(tmp_path / "rare.npz", x=x, y=y)
    fragments = ("20 samples", "{'0': 19, '1': 1}", "data.stratify=false")
    with pytest.raises(ZooError, match=named(*fragments)):
        ArrayDataModule(path=str(tmp_path / "rare.npz")).setup()
    ArrayDataModule(path=str(tmp_path / "rare.npz"), stratify=False).setup()  # the way out
