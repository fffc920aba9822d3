"""Forecasting against level shifts: the window normalization and its inverse, the classical
baseline against statsmodels called here, python -m zoo.predict on a forecaster against the
run's own test metrics, and (slow) the default recipe beating the naive forecast on a
trending, seasonal series."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import named, names
from sklearn.metrics import mean_squared_error

from zoo import ZooError
from zoo.apps import predict
from zoo.apps.forecast import load_forecaster
from zoo.data import CSVSeriesDataModule, SunspotsDataModule
from zoo.preprocessing import WINDOW_NORMS, WindowNorm
from zoo.training.run import train

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from forecast_table import series_overrides, trend_season_series, write_series_csv  # noqa: E402


# -- the window normalization ----------------------------------------------------------------
def test_each_window_norm_is_undone_and_removes_the_level():
    torch.manual_seed(0)
    windows = torch.randn(5, 12, 1).cumsum(1) * 3 + 40  # (B, T, 1), far from 0
    last, mean = windows[:, -1, 0], windows[:, :, 0].mean(1)
    std = (windows[:, :, 0].var(1, unbiased=False) + 1e-5).sqrt()
    expected = {  # (shift, scale) by hand
        "none": (torch.zeros(5), torch.ones(5)),
        "last": (last, torch.ones(5)),
        "revin": (mean, std),
        "revin_last": (last, std),
    }
    for mode in WINDOW_NORMS:
        norm = WindowNorm(mode)
        normalized, stats = norm.normalize(windows)
        shift, scale = expected[mode]
        by_hand = (windows - shift[:, None, None]) / scale[:, None, None]
        assert torch.allclose(normalized, by_hand, atol=1e-5), mode
        # restoring the normalized windows' own values gives the windows back
        restored = norm.restore(normalized[:, :, 0], stats)
        assert torch.allclose(restored, windows[:, :, 0], atol=1e-4), mode
        if mode != "none":  # a level shift of the input moves the forecast by the same amount
            model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
            moved = norm(model, windows + 100.0) - norm(model, windows)
            assert torch.allclose(moved, torch.full_like(moved, 100.0), atol=1e-3), mode
    with pytest.raises(ZooError, match=named("data.window_norm", "'revn'", "revin")):
        WindowNorm("revn")


# -- the classical baseline ------------------------------------------------------------------
@pytest.fixture(scope="module")
def trend_csv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("series")
    return write_series_csv(folder / "trend_season.csv", trend_season_series())


def test_holt_winters_baseline_matches_statsmodels_forecasts(trend_csv):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    data = CSVSeriesDataModule(path=str(trend_csv), column="value", season=12, horizon=2)
    data.setup()
    forecasts = data.to_original_units(data.classical_forecasts()["test"]).double()
    series = trend_season_series()
    train_end = data.window + data.split_points(len(series))["train"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ExponentialSmoothing(
            series[:train_end], trend="add", seasonal="add", seasonal_periods=12,
            initialization_method="estimated",
        ).fit()  # fmt: skip
        p = fitted.params
        starts = data.window_starts["test"]
        for row in (0, len(starts) - 1):  # statsmodels' own forecasts
            origin = int(starts[row]) + data.window - 1
            same = ExponentialSmoothing(
                series[: origin + 1], trend="add", seasonal="add", seasonal_periods=12,
                initialization_method="known", initial_level=p["initial_level"],
                initial_trend=p["initial_trend"], initial_seasonal=p["initial_seasons"],
            ).fit(
                smoothing_level=p["smoothing_level"], smoothing_trend=p["smoothing_trend"],
                smoothing_seasonal=p["smoothing_seasonal"], optimized=False,
            )  # fmt: skip
            assert np.allclose(forecasts[row].numpy(), same.forecast(2), atol=1e-4)
    assert data.describe()["forecast"]["baseline"].startswith("Holt-Winters")


def test_ar_baseline_matches_statsmodels_forecasts():
    from statsmodels.tsa.ar_model import AutoReg, ar_select_order

    data = SunspotsDataModule(horizon=3)
    data.setup()
    forecasts = data.to_original_units(data.classical_forecasts()["test"]).double()
    series = data.series().double().numpy()
    train = series[: data.window + data.split_points(len(series))["train"]]
    order = max(ar_select_order(train, maxlag=24, ic="aic", trend="c").ar_lags)
    fitted = AutoReg(train, lags=order, trend="c").fit()
    starts = data.window_starts["test"]
    for row in (0, len(starts) - 1):
        origin = int(starts[row]) + data.window - 1
        expected = fitted.apply(series[: origin + 1]).forecast(3)
        assert np.allclose(forecasts[row].numpy(), expected, atol=1e-3)
    targets = data.to_original_units(data.splits["test"][1])
    # the classic result: an AR beats the naive forecast on the sunspots
    naive = data.to_original_units(data.naive_forecast(data.splits["test"][0]))
    ar_mse = mean_squared_error(targets[:, 0], forecasts[:, 0])
    assert ar_mse < mean_squared_error(targets[:, 0], naive[:, 0])


def test_forecast_settings_are_checked(trend_csv, refusal):
    line = refusal("model=lstm", "data=sunspots", "task=regression", "data.window_norm=revn")
    assert names(line, "data.window_norm", "'revn'", "revin", "last")
    with pytest.raises(ZooError, match=named("data.season", "1")):
        CSVSeriesDataModule(path=str(trend_csv), column="value", season=1)
    with pytest.raises(ZooError, match=named("data.baseline", "'arima'")):
        CSVSeriesDataModule(path=str(trend_csv), column="value", baseline="arima")
    too_long = CSVSeriesDataModule(path=str(trend_csv), column="value", season=300)
    with pytest.raises(ZooError, match=named("data.season", "300", "data.baseline")):
        too_long.setup()


# -- predict ---------------------------------------------------------------------------------
def test_predict_forecasts_what_the_run_tested(make_config, tmp_path, trend_csv, capsys):
    """The forecasts python -m zoo.predict makes from the series up to each test window
    score the run's own test MSE."""
    overrides = series_overrides(trend_csv)
    cfg = make_config(*overrides, "debug=fdr", "model.hidden_size=8", "data.window=12")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    recorded = json.loads((run / "results.json").read_text())["metrics"]
    assert recorded["test/mse"] == pytest.approx(metrics["test/mse"])
    forecaster = load_forecaster(str(run))
    series = torch.from_numpy(trend_season_series())
    points = len(series) - 12
    first_test = len(series) - round(points * 0.2)  # the first test target's time
    predicted = torch.stack(
        [forecaster.next_values(series[:t]) for t in range(first_test, len(series))]
    )
    mse = mean_squared_error(series[first_test:].numpy(), predicted[:, 0].numpy())
    assert mse == pytest.approx(recorded["test/mse"], rel=1e-4)
    # the command line: the next value after the whole series, in the series' units
    capsys.readouterr()  # the run's own summary
    assert predict.main([str(run), str(trend_csv), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["column"] == "value"
    assert result["window"] == pytest.approx(series[-12:].tolist(), rel=1e-6)
    assert result["forecast"][0]["index"] == len(series)
    assert result["forecast"][0]["value"] == pytest.approx(
        forecaster.next_values(series).item(), rel=1e-5
    )
    short = write_series_csv(tmp_path / "short.csv", np.arange(5.0))
    assert predict.main([str(run), str(short)]) == 2
    assert names(capsys.readouterr().err, "5", "12")  # the values it has, the window


# -- the default recipe ----------------------------------------------------------------------
@pytest.mark.slow
def test_default_recipe_beats_the_naive_forecast_on_a_trending_series(make_config, trend_csv):
    metrics = train(make_config(*series_overrides(trend_csv)))
    print(
        f"test mse {metrics['test/mse']:.4f}, naive {metrics['test/naive_mse']:.4f}, "
        f"Holt-Winters {metrics['test/classical_mse']:.4f}"
    )
    assert metrics["test/mse"] < metrics["test/naive_mse"]
    assert metrics["test/classical_mse"] < metrics["test/naive_mse"]


@pytest.mark.slow
def test_sunspots_recipe_beats_the_naive_forecast(make_config):
    metrics = train(make_config("experiment=lstm_sunspots"))
    print(f"test mse {metrics['test/mse']:.1f}, AR {metrics['test/classical_mse']:.1f}")
    assert metrics["test/mse"] < metrics["test/naive_mse"]
