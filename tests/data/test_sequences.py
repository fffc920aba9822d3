"""Sequences: images read as rows or pixels, the adding problem, the copy task, and
forecasting windows of a series split chronologically and scaled with the training part."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import named
from hydra.utils import instantiate
from sklearn.datasets import load_digits

from zoo import ZooError
from zoo.config.checks import complete_data_description
from zoo.data import (
    AddingProblemDataModule,
    CopyTaskDataModule,
    CSVSeriesDataModule,
    DigitsDataModule,
    LoadedData,
    SineDataModule,
    SunspotsDataModule,
    TensorDataModule,
)


def write_series(path: Path, values: list, column: str = "value", extra: str = "day") -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([extra, column])
        writer.writerows([[i, v] for i, v in enumerate(values)])
    return path


# -- images as sequences ---------------------------------------------------------------------
class ColourImages(TensorDataModule):
    """Random 3-channel images with an official test split."""

    name = "colour"

    def load(self) -> LoadedData:
        generator = torch.Generator().manual_seed(0)
        return LoadedData(
            torch.rand(40, 3, 4, 5, generator=generator),
            torch.arange(40) % 2,
            test_inputs=torch.rand(10, 3, 4, 5, generator=generator),
            test_targets=torch.arange(10) % 2,
        )


@pytest.mark.parametrize("mode", ["rows", "pixels"])
def test_images_as_sequences_equal_the_images_reshaped(mode):
    images = ColourImages(val_fraction=0.25)
    images.setup()
    sequences = ColourImages(val_fraction=0.25, as_sequence=mode)
    sequences.setup()
    for split in ("train", "val", "test"):  # the official test split too
        x = images.splits[split][0]
        n, c, h, w = x.shape
        expected = torch.empty(n, h, c * w) if mode == "rows" else torch.empty(n, h * w, c)
        for i in range(h):
            for j in range(w):
                for k in range(c):
                    if mode == "rows":  # step = image row, features = each channel's row
                        expected[:, i, k * w + j] = x[:, k, i, j]
                    else:  # step = pixel in raster order, features = its channels
                        expected[:, i * w + j, k] = x[:, k, i, j]
        assert torch.equal(sequences.splits[split][0], expected)
        assert torch.equal(sequences.splits[split][1], images.splits[split][1])
    assert sequences.input_kind == "sequence"
    assert sequences.describe()["input_shape"] == ([4, 15] if mode == "rows" else [20, 3])


def test_digits_rows_and_pixels():
    originals = torch.tensor(load_digits().images, dtype=torch.float32) / 16.0
    rows = DigitsDataModule(image_size=8, as_sequence="rows", input_kind="sequence")
    rows.setup()
    pixels = DigitsDataModule(image_size=8, as_sequence="pixels")
    pixels.setup()
    assert rows.describe()["input_shape"] == [8, 8] and rows.input_kind == "sequence"
    assert pixels.describe()["input_shape"] == [64, 1] and pixels.input_kind == "sequence"
    all_rows = torch.cat([rows.splits[s][0] for s in ("train", "val", "test")])
    assert sorted(map(tuple, all_rows.flatten(1).tolist())) == sorted(
        map(tuple, originals.flatten(1).tolist())
    )
    assert torch.equal(pixels.splits["train"][0], rows.splits["train"][0].reshape(-1, 64, 1))
    # standardization per feature (per pixel column) over all steps
    assert len(rows.describe()["normalization"]["mean"]) == 8
    assert len(pixels.describe()["normalization"]["mean"]) == 1


def test_as_sequence_errors():
    with pytest.raises(ZooError, match=named("data.as_sequence", "'columns'")):
        DigitsDataModule(as_sequence="columns")
    flat = DigitsDataModule(flatten=True, as_sequence="rows")
    fragments = ("data.as_sequence='rows'", "[64]", "(C, H, W)", "data.as_sequence=null")
    with pytest.raises(ZooError, match=named(*fragments)):
        flat.setup()
    with pytest.raises(ZooError, match=named("input_kind", "'image'", "[8, 8]")):
        DigitsDataModule(image_size=8, as_sequence="rows", input_kind="image").setup()


# -- the adding problem ----------------------------------------------------------------------
def test_adding_problem_targets_and_markers():
    data = AddingProblemDataModule(length=11, num_samples=500, seed=3)
    loaded = data.load()
    values, markers = loaded.inputs[..., 0], loaded.inputs[..., 1]
    assert loaded.inputs.shape == (500, 11, 2) and loaded.targets.shape == (500, 1)
    assert ((values >= 0) & (values <= 1)).all()
    assert torch.equal(markers.sum(1), torch.full((500,), 2.0))
    assert set(markers.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(markers[:, :5].sum(1), torch.ones(500))  # one in the first half
    assert torch.equal(markers[:, 5:].sum(1), torch.ones(500))  # one in the second half
    assert torch.allclose(loaded.targets[:, 0], (values * markers).sum(1))
    data.setup()
    described = data.describe()
    assert described["input_kind"] == "sequence" and described["input_shape"] == [11, 2]
    assert described["target_kind"] == "value" and described["target_shape"] == [1]
    assert described["normalization"] is None


def test_adding_problem_is_seeded_with_its_own_generator():
    torch.manual_seed(1)
    first = AddingProblemDataModule(length=6, num_samples=50, seed=7).load()
    torch.manual_seed(2)
    again = AddingProblemDataModule(length=6, num_samples=50, seed=7).load()
    other = AddingProblemDataModule(length=6, num_samples=50, seed=8).load()
    assert torch.equal(first.inputs, again.inputs)
    assert not torch.equal(first.inputs, other.inputs)


def test_adding_problem_baseline_mse():
    loaded = AddingProblemDataModule(length=4, num_samples=200_000, seed=0).load()
    mse = F.mse_loss(torch.ones_like(loaded.targets), loaded.targets).item()
    assert AddingProblemDataModule.baseline_mse == pytest.approx(1 / 6)
    assert mse == pytest.approx(1 / 6, abs=0.003)


def test_adding_problem_errors():
    with pytest.raises(ZooError, match=named("data.length", "got 1")):
        AddingProblemDataModule(length=1)
    with pytest.raises(ZooError, match=named("data.target_kind", "'value'", "'class'")):
        AddingProblemDataModule(target_kind="class")


# -- the copy task ---------------------------------------------------------------------------
def test_copy_task_layout():
    data = CopyTaskDataModule(length=6, num_symbols=4, copy_length=3, num_samples=300, seed=1)
    loaded = data.load()
    total = 6 + 2 * 3
    assert loaded.inputs.shape == (300, total, 6) and loaded.targets.shape == (300, total)
    ids = loaded.inputs.argmax(-1)
    assert torch.equal(F.one_hot(ids, 6).float(), loaded.inputs)
    symbols = ids[:, :3]
    assert ((symbols >= 1) & (symbols <= 4)).all()
    assert (ids[:, 3:8] == 0).all()  # length - 1 blanks
    assert (ids[:, 8] == 5).all()  # the delimiter
    assert (ids[:, 9:] == 0).all()
    assert torch.equal(loaded.targets[:, -3:], symbols)  # the symbols, repeated at the end
    assert (loaded.targets[:, :-3] == 0).all()
    data.setup()  # stratification does not apply to per-step targets
    described = data.describe()
    assert described["input_kind"] == "sequence" and described["input_shape"] == [total, 6]
    assert described["target_kind"] == "class" and described["num_classes"] == 6
    assert described["class_names"][0] == "blank" and described["class_names"][-1] == "delimiter"
    assert sum(described["split_sizes"].values()) == 300


def test_copy_task_token_ids():
    data = CopyTaskDataModule(length=5, copy_length=2, num_samples=100, one_hot=False)
    data.setup()
    described = data.describe()
    assert described["input_kind"] == "tokens" and described["input_shape"] == [9]
    assert described["vocab_size"] == 10 and data.splits["train"][0].dtype == torch.int64
    source = CopyTaskDataModule.describe_source(length=5, copy_length=2, one_hot=False)
    assert source["input_kind"] == "tokens" and source["input_shape"] == [9]
    assert CopyTaskDataModule.describe_source()["input_shape"] == [120, 10]


def test_copy_task_baseline_is_the_memoryless_cross_entropy():
    data = CopyTaskDataModule(length=20, num_symbols=5, copy_length=4, num_samples=50)
    targets = data.load().targets
    total, k = 28, 4
    logits = torch.full((total, 7), -math.inf)
    logits[: total - k, 0] = 0.0  # blank with probability 1
    logits[total - k :, 1:6] = 0.0  # uniform over the symbols
    cross_entropy = F.cross_entropy(
        logits.expand(len(targets), -1, -1).flatten(0, 1), targets.flatten()
    )
    assert data.baseline_cross_entropy == pytest.approx(cross_entropy.item())
    assert data.baseline_cross_entropy == pytest.approx(4 * math.log(5) / 28)


def test_copy_task_baseline_accuracy_is_the_memoryless_guess():
    """Blanks always right and a uniform guess of the symbols, simulated."""
    data = CopyTaskDataModule(length=20, num_symbols=8, copy_length=10, num_samples=2000)
    data.setup()
    targets = data.splits["train"][1]
    generator = torch.Generator().manual_seed(0)
    guesses = torch.zeros_like(targets)
    guesses[:, -10:] = torch.randint(1, 9, (len(targets), 10), generator=generator)
    simulated = (guesses == targets).float().mean().item()
    assert data.baseline_accuracy == pytest.approx(simulated, abs=0.005)
    assert data.describe()["baseline"]["acc"] == data.baseline_accuracy


# -- forecasting -----------------------------------------------------------------------------
def test_forecast_split_is_chronological_and_windows_hold_the_series():
    data = SineDataModule(length=300, window=10, horizon=3, val_fraction=0.2, test_fraction=0.2)
    data.setup()
    series = data.series()
    times = {s: data.target_times(s) for s in ("train", "val", "test")}
    assert times["train"].max() < times["val"].min()
    assert times["val"].max() < times["test"].min()
    assert times["test"].max() == len(series) - 1
    for split, (inputs, targets) in data.splits.items():
        assert inputs.shape[1:] == (10, 1) and targets.shape[1:] == (3,)
        original = data.to_original_units(targets)
        assert torch.allclose(original, series[times[split]], atol=1e-5)
        context = times[split][:, :1] - 10 + torch.arange(10)
        assert torch.allclose(data.to_original_units(inputs[..., 0]), series[context], atol=1e-5)
    described = data.describe()
    assert described["forecast"] == {
        "window": 10, "horizon": 3, "window_norm": "revin", "season": None,
        "baseline": "AR(p), p <= 10 by AIC",
    }  # fmt: skip
    assert described["target_shape"] == [3] and described["target_kind"] == "value"
    assert described["input_kind"] == "sequence" and described["input_shape"] == [10, 1]
    assert described["normalization"] is None
    assert set(described["target_scale"]) == {"mean", "std"}


def test_scaling_uses_the_training_part_only(tmp_path):
    values = [math.sin(i / 3) * 5 + i * 0.1 for i in range(100)]
    changed = values[:80] + [v * 100 + 7 for v in values[80:]]  # the test part only
    first = CSVSeriesDataModule(
        path=str(write_series(tmp_path / "a.csv", values)), column="value", window=5
    )
    second = CSVSeriesDataModule(
        path=str(write_series(tmp_path / "b.csv", changed)), column="value", window=5
    )
    first.setup()
    second.setup()
    assert first.describe()["split_sizes"] == {"train": 66, "val": 10, "test": 19}
    assert first.target_mean == second.target_mean and first.target_std == second.target_std
    assert torch.equal(first.splits["train"][1], second.splits["train"][1])
    train_end = 5 + 66
    expected = torch.tensor(values[:train_end], dtype=torch.float64)
    assert first.target_mean == pytest.approx(expected.mean().item(), rel=1e-6)
    assert first.target_std == pytest.approx(expected.std(correction=0).item(), rel=1e-6)
    scaled = first.splits["train"][1]
    assert scaled.mean().abs() < 0.2  # roughly standardized
    back = first.to_original_units(first.scale(torch.tensor([1.5, -2.0])))
    assert torch.allclose(back, torch.tensor([1.5, -2.0]))


def test_naive_forecast_repeats_the_last_value():
    data = SineDataModule(length=200, window=7, horizon=4)
    data.setup()
    inputs, targets = data.splits["val"]
    naive = data.naive_forecast(inputs)
    assert naive.shape == targets.shape
    assert torch.equal(naive, inputs[:, -1, 0].unsqueeze(1).expand(-1, 4))


def test_sine_is_seeded():
    torch.manual_seed(1)
    first = SineDataModule(seed=3).series()
    torch.manual_seed(2)
    assert torch.equal(first, SineDataModule(seed=3).series())
    assert not torch.equal(first, SineDataModule(seed=4).series())


def test_sunspots_loads_309_years():
    data = SunspotsDataModule()
    series = data.series()
    assert len(series) == 309  # 1700-2008
    assert series[0].item() == pytest.approx(5.0)  # 1700
    data.setup()
    assert sum(data.describe()["split_sizes"].values()) == 309 - 24


def test_forecast_errors(tmp_path):
    path = write_series(tmp_path / "s.csv", [1.0, 2.0, "n/a", 4.0])
    missing = f"'{tmp_path / 'missing.csv'}'"
    with pytest.raises(ZooError, match=named("data.path", missing, ".csv")):
        CSVSeriesDataModule(path=str(tmp_path / "missing.csv"), column="value")
    with pytest.raises(ZooError, match=named("data.path", f"'{tmp_path}'", "folder", ".csv")):
        CSVSeriesDataModule(path=str(tmp_path), column="value")
    with pytest.raises(ZooError, match=named("'price'", "'day'", "'value'")):
        CSVSeriesDataModule(path=str(path), column="price").setup()
    with pytest.raises(ZooError, match=named("'n/a'", "line 4")):
        CSVSeriesDataModule(path=str(path), column="value").setup()
    empty = write_series(tmp_path / "empty.csv", [])
    with pytest.raises(ZooError, match=named("'value'", "empty")):
        CSVSeriesDataModule.describe_source(path=str(empty), column="value")
    with pytest.raises(ZooError, match=named("data.window", "got 0")):
        SineDataModule(window=0)
    with pytest.raises(ZooError, match=named("data.horizon", "got 0")):
        SineDataModule(horizon=0)
    fragments = ("30 values", "data.window=10", "data.horizon=5", "2 target time points")
    with pytest.raises(ZooError, match=named(*fragments)):
        SineDataModule(length=30, window=10, horizon=5).setup()
    with pytest.raises(ZooError, match=named("10 values")):
        SineDataModule(length=10, window=10).setup()
    with pytest.raises(ZooError, match=named("data.normalize")):
        SineDataModule(normalize=True)
    with pytest.raises(ZooError, match=named("data.train_fraction", "0.5")):
        SineDataModule(train_fraction=0.5)  # its splits are stretches of time


def test_csv_describe_source(tmp_path):
    path = write_series(tmp_path / "s.csv", [float(i % 7) for i in range(60)])
    described = CSVSeriesDataModule.describe_source(
        _target_="zoo.data.CSVSeriesDataModule", path=str(path), column="value", window=6,
        horizon=2, input_shape=None,
    )  # fmt: skip
    assert described["input_shape"] == [6, 1] and described["target_shape"] == [2]
    assert described["input_kind"] == "sequence" and described["target_kind"] == "value"


# -- the configs -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data", ["digits_rows", "digits_pixels", "adding", "copy", "sine", "sunspots", "series_csv"]
)
def test_configs_declare_what_the_data_gives(make_config, tmp_path, data):
    overrides = [f"data={data}"]
    if data == "series_csv":
        path = write_series(tmp_path / "s.csv", [float(i % 5) for i in range(200)])
        overrides += [f"data.path={path}", "data.column=value"]
    if data in ("adding", "copy"):
        overrides += ["data.num_samples=200"]
    cfg = make_config(*overrides)
    complete_data_description(cfg)  # what train.py does first: null keys from the data
    assert not cfg.get("augmentation")  # augmentation: [none]
    for key in ("input_kind", "input_shape", "target_kind", "target_shape", "vocab_size"):
        assert key in cfg.data
    module = instantiate(cfg.data)
    module.setup()
    described = module.describe()
    for key in ("input_kind", "target_kind", "num_classes", "target_shape"):
        assert described[key] == cfg.data[key], key
    assert described["input_shape"] == list(cfg.data.input_shape)
