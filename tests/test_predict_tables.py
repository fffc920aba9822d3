"""``python -m zoo.predict`` on table models (``data=arrays``): the rows of a CSV, .npy or
.npz, read by feature name as in training, predicted as the test split was (the test metric
in results.json, recomputed from predict's own outputs), values in the data's units; a
regressor's targets standardized in training and its mean baseline reported; a row far
outside the training data warned about; models of other inputs sent elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import compose_config, names
from hydra.core.global_hydra import GlobalHydra
from sklearn.datasets import load_diabetes, load_iris
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error
from sklearn.model_selection import train_test_split

from zoo import create_model, load_pretrained, save_pretrained
from zoo.apps.predict import main

TARGETS = {"iris": "species", "diabetes": "progression"}


def tables() -> dict[str, pd.DataFrame]:
    iris = load_iris(as_frame=True)
    flowers = iris.data.assign(species=[iris.target_names[t] for t in iris.target])
    diabetes = load_diabetes(as_frame=True, scaled=False)
    return {"iris": flowers, "diabetes": diabetes.data.assign(progression=diabetes.target)}


def split(frame: pd.DataFrame, target: str, *, stratify: bool) -> dict[str, pd.DataFrame]:
    """The data module's documented split, made here by scikit-learn: test 0.2, then val 0.1
    of the whole from the rest, seed 0, stratified for classes."""
    index = np.arange(len(frame))
    labels = frame[target].to_numpy()
    rest, test = train_test_split(
        index, test_size=0.2, random_state=0, stratify=labels if stratify else None
    )
    train, val = train_test_split(
        rest, test_size=0.1 / 0.8, random_state=0, stratify=labels[rest] if stratify else None
    )
    return {
        name: frame.iloc[rows] for name, rows in (("train", train), ("val", val), ("test", test))
    }


@pytest.fixture(scope="module")
def table_runs(tmp_path_factory) -> dict[str, tuple[Path, pd.DataFrame, dict]]:
    """A tiny MLP classifier (iris) and regressor (diabetes), each trained for 2 epochs in
    process and exported: its run folder, its table and the split of the table."""
    from zoo.training.run import train

    root = tmp_path_factory.mktemp("tables")
    runs = {}
    for name, frame in tables().items():
        frame.to_csv(root / f"{name}.csv", index=False)
        task = "classification" if name == "iris" else "regression"
        cfg = compose_config(
            [
                "data=arrays",
                f"data.path={root / name}.csv",
                f"data.target_column={TARGETS[name]}",
                "model=mlp",
                "model.hidden_sizes=[16]",
                f"task={task}",
                "trainer.max_epochs=2",
                "data.batch_size=32",
                "logger=none",
            ],
            root / f"run_{name}",
        )
        try:
            train(cfg)
        finally:
            GlobalHydra.instance().clear()
        runs[name] = (
            root / f"run_{name}",
            frame,
            split(frame, TARGETS[name], stratify=name == "iris"),
        )
    return runs


def predicted(argv: list[str], capsys) -> tuple[list[dict], str]:
    assert main(argv) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_a_table_classifier_predicts_the_test_split_as_it_was_tested(table_runs, tmp_path, capsys):
    run, _, parts = table_runs["iris"]
    test = parts["test"]
    recorded = json.loads((run / "results.json").read_text())["metrics"]["test/acc"]
    # the columns in another order, the target among them: read by name
    shuffled = test[["species", "petal width (cm)", *test.columns[:3]]]
    shuffled.to_csv(tmp_path / "test.csv", index=False)
    results, err = predicted([str(run), str(tmp_path / "test.csv"), "--json", "--top", "2"], capsys)
    assert err == ""  # test rows are like the training rows: no warning
    assert [r["row"] for r in results] == list(range(len(test)))
    assert all(len(r["top"]) == 2 for r in results)
    classes = [r["top"][0]["class"] for r in results]
    assert set(classes) <= {"setosa", "versicolor", "virginica"}
    assert accuracy_score(test["species"], classes) == pytest.approx(recorded, abs=1e-4)


def test_a_table_regressor_gives_values_in_the_datas_units(table_runs, tmp_path, capsys):
    run, frame, parts = table_runs["diabetes"]
    test, train_part = parts["test"], parts["train"]
    metrics = json.loads((run / "results.json").read_text())["metrics"]
    test.to_csv(tmp_path / "test.csv", index=False)
    results, err = predicted([str(run), str(tmp_path / "test.csv"), "--json"], capsys)
    assert err == ""
    values = np.array([r["value"] for r in results])
    truth = test["progression"].to_numpy()
    # results.json's metrics are in the data's units: predict's values reproduce them
    assert mean_absolute_error(truth, values) == pytest.approx(metrics["test/mae"], rel=1e-4)
    assert mean_squared_error(truth, values) == pytest.approx(metrics["test/mse"], rel=1e-4)
    # beside them, the mean baseline: the training split's mean predicted for every test row
    mean = np.full_like(truth, train_part["progression"].mean())
    assert metrics["test/naive_mae"] == pytest.approx(mean_absolute_error(truth, mean), rel=1e-4)
    assert metrics["test/naive_mse"] == pytest.approx(mean_squared_error(truth, mean), rel=1e-4)
    # the targets were learned standardized: the scale the export records is the training
    # split's, and the loss (on that scale) is the mse over the variance
    model = load_pretrained(run).eval()
    with torch.no_grad():  # in Python: the DataFrame, target column and all
        in_python = model.postprocess(model(model.preprocess(test)))  # (N, 1)
    np.testing.assert_allclose(in_python[:, 0].numpy(), values, rtol=1e-6)
    assert float(model.postprocess.target_mean) == pytest.approx(train_part["progression"].mean())
    assert float(model.postprocess.target_std) == pytest.approx(
        train_part["progression"].std(ddof=0), rel=1e-5
    )
    variance = train_part["progression"].var(ddof=0)
    assert metrics["test/loss"] == pytest.approx(metrics["test/mse"] / variance, rel=1e-4)
    # the same rows from a .npy and a .npz (features in training order), and as text
    features = test[frame.columns[:-1]].to_numpy(np.float32)
    np.save(tmp_path / "test.npy", features)
    np.savez(tmp_path / "test.npz", x=features)
    for file in ("test.npy", "test.npz"):
        again, _ = predicted([str(run), str(tmp_path / file), "--json"], capsys)
        np.testing.assert_allclose([r["value"] for r in again], values, rtol=1e-6)
    assert main([str(run), str(tmp_path / "test.csv")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"{tmp_path / 'test.csv'} row 0: progression {values[0]:.6g}"


def test_a_row_far_outside_the_training_rows_is_warned_about(table_runs, tmp_path, capsys):
    run, _, parts = table_runs["diabetes"]
    rows = parts["test"].iloc[:3].copy()
    bmi = parts["train"]["bmi"]
    rows.iloc[1, rows.columns.get_loc("bmi")] = bmi.mean() + 10 * bmi.std(ddof=0)  # 10 sd out
    rows.to_csv(tmp_path / "rows.csv", index=False)
    results, err = predicted([str(run), str(tmp_path / "rows.csv"), "--json"], capsys)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: "), err
    assert names(lines[0], "row 1", "bmi", "10.0 sd above")
    assert "warning" in results[1] and "warning" not in results[0] | results[2]


def test_table_mistakes_are_one_line(table_runs, tmp_path, capsys):
    run, _, parts = table_runs["diabetes"]
    parts["test"].drop(columns=["s3"]).to_csv(tmp_path / "missing.csv", index=False)
    np.save(tmp_path / "narrow.npy", np.zeros((2, 3), dtype=np.float32))
    (tmp_path / "notes.txt").write_text("bmi\n1\n")
    for path, named in (
        (tmp_path / "missing.csv", ["s3"]),
        (tmp_path / "narrow.npy", ["[3]", "10 features"]),
        (tmp_path / "notes.txt", [".csv", ".npy", ".npz"]),
        (tmp_path / "nowhere.csv", ["does not exist"]),
    ):
        assert main([str(run), str(path)]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and names(err[0], str(path), *named), err
    # a bad file among good ones is named, the others predicted, exit 1
    parts["test"].to_csv(tmp_path / "test.csv", index=False)
    assert main([str(run), str(tmp_path / "missing.csv"), str(tmp_path / "test.csv")]) == 1
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == len(parts["test"])
    assert len(captured.err.splitlines()) == 1 and "s3" in captured.err


def test_models_of_other_inputs_are_sent_elsewhere(tmp_path, capsys):
    """Dispatch is on the data description the export records: a language model is pointed
    to zoo.generate, a series model refused, each in one line, exit 2."""
    text = {"input_kind": "tokens", "input_shape": [16], "target_kind": "next_token"}
    gpt = create_model("gpt", vocab_size=8, block_size=16, n_layer=1, n_head=1, n_embd=8)
    save_pretrained(gpt, tmp_path / "gpt", data=text)
    series = {"input_kind": "sequence", "input_shape": [12, 1], "target_kind": "value"}
    lstm = create_model("lstm", input_size=1, num_classes=1, hidden_size=4)
    save_pretrained(lstm, tmp_path / "lstm", data=series)
    (tmp_path / "prompt.txt").write_text("hello")
    for folder, named in (("gpt", ["zoo.generate", "--prompt"]), ("lstm", ["sequence"])):
        assert main([str(tmp_path / folder), str(tmp_path / "prompt.txt")]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and names(err[0], str(tmp_path / folder), *named), err


@pytest.mark.slow
def test_the_readmes_table_regression_beats_the_mean_baseline(make_config, tmp_path, capsys):
    """The README's wine example, as written there (default epochs): the MLP beats the
    training mean on the test split, and predict on the test rows gives its test MAE."""
    import re
    import shlex

    from sklearn.datasets import load_wine

    from zoo.training.run import train

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    command = re.search(r"^python train\.py (data=arrays data\.path=wine\.csv .*)$", readme, re.M)
    wine = load_wine(as_frame=True).data
    wine.to_csv(tmp_path / "wine.csv", index=False)
    overrides = [
        o.replace("wine.csv", str(tmp_path / "wine.csv")) for o in shlex.split(command.group(1))
    ]
    metrics = train(make_config(*overrides, "logger=none"))
    capsys.readouterr()  # the run's own output
    assert metrics["test/mae"] < 0.8 * metrics["test/naive_mae"]
    assert metrics["test/mse"] < 0.8 * metrics["test/naive_mse"]
    test = split(wine, "alcohol", stratify=False)["test"]
    test.to_csv(tmp_path / "test.csv", index=False)
    results, _ = predicted([str(tmp_path / "run"), str(tmp_path / "test.csv"), "--json"], capsys)
    mae = mean_absolute_error(test["alcohol"], [r["value"] for r in results])
    assert mae == pytest.approx(metrics["test/mae"], rel=1e-4)


def test_crafted_recorded_scales_and_ranges_are_refused_when_loading(tmp_path):
    """What pre- and postprocessing read from config.json is checked when the folder loads:
    one line naming the entry, not an error deep inside a prediction."""
    from zoo import ZooError

    data = {
        "input_kind": "vector",
        "input_shape": [3],
        "target_kind": "value",
        "target_shape": [1],
        "feature_names": ["a", "b", "c"],
        "target_scale": {"mean": [2.0], "std": [0.5]},
        "input_statistics": {k: [0.0, 1.0, 2.0] for k in ("min", "max", "mean", "std")},
    }
    model = create_model("mlp", in_features=3, num_classes=1, hidden_sizes=[4])
    save_pretrained(model, tmp_path / "good", data=data)
    loaded = load_pretrained(tmp_path / "good")
    with torch.no_grad():
        outputs = loaded(loaded.preprocess([[1.0, 2.0, 3.0]]))
    # values in the data's units: the recorded scale undone
    assert float(loaded.postprocess(outputs)) == pytest.approx(float(outputs) * 0.5 + 2.0)
    for key, bad in (
        ("target_scale", {"mean": [2.0], "std": [0.0]}),
        ("target_scale", {"mean": [2.0, 1.0], "std": [1.0, 1.0]}),
        ("feature_names", ["a", "b"]),
        ("input_statistics", {"min": [0.0], "max": [1.0], "mean": [0.0], "std": [1.0]}),
        ("input_statistics", {k: ["x", 1.0, 2.0] for k in ("min", "max", "mean", "std")}),
    ):
        save_pretrained(model, tmp_path / "bad", data={**data, key: bad})
        with pytest.raises(ZooError) as refused:
            load_pretrained(tmp_path / "bad")
        assert names(str(refused.value), "config.json", f"data.{key}", repr(bad)), refused.value
