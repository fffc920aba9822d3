"""Forecast the next values of a series with a trained forecaster, the branch of
``python -m zoo.predict RUN series.csv [--column NAME] [--json]`` for forecasting runs.

The exported folder's ``config.json`` records what the training data did to the series
(``data.target_scale``: the training part's mean and std; ``data.forecast``: the window, the
horizon, the window normalization and, for ``data=series_csv``, the column), so the last
``window`` values of any series are prepared as the training windows were, and the forecasts
come back in the series' units::

    python -m zoo.predict outputs/runs/<run> sales.csv --json

From Python, :func:`load_forecaster` and :meth:`Forecaster.forecast` (any number of windows).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.apps.command import say
from zoo.config.values import is_number, is_positive_int
from zoo.data.sequences import read_series_column
from zoo.errors import ZooError
from zoo.models.layers import evaluating
from zoo.models.pretrained import load_pretrained
from zoo.preprocessing import WINDOW_NORMS, WindowNorm
from zoo.weights import read_pretrained_config, run_model_folder


@dataclass
class Forecaster:
    """A trained forecaster and the preparation its windows had in training: standardized
    with the training part's ``mean`` and ``std``, then normalized by ``window_norm``."""

    model: nn.Module
    window: int
    horizon: int
    mean: float
    std: float
    window_norm: WindowNorm
    column: str | None = None

    def forecast(self, windows: Any) -> torch.Tensor:
        """The next ``horizon`` values ``(N, horizon)`` after each window ``(N, window)`` (or
        one window ``(window,)``), both in the series' units."""
        values = torch.as_tensor(windows, dtype=torch.float64)
        if values.ndim == 1:
            values = values.unsqueeze(0)
        if values.ndim != 2 or values.shape[1] != self.window:
            raise ZooError(
                f"a forecaster of window {self.window} takes windows of {self.window} values, "
                f"got shape {list(values.shape)}."
            )
        device = next(self.model.parameters()).device
        scaled = ((values - self.mean) / self.std).float().unsqueeze(-1).to(device)  # (N, T, 1)
        with evaluating(self.model), torch.no_grad():
            outputs = self.window_norm(self.model, scaled)  # (N, horizon), scaled
        return outputs.double().cpu() * self.std + self.mean

    def next_values(self, series: Sequence[float] | torch.Tensor) -> torch.Tensor:
        """The ``horizon`` values ``(horizon,)`` after the last ``window`` values of
        ``series`` (in time order)."""
        values = torch.as_tensor(series, dtype=torch.float64).flatten()
        if len(values) < self.window:
            raise ZooError(
                f"the series has {len(values)} values; the forecaster reads the last "
                f"{self.window} (its data.window)."
            )
        return self.forecast(values[-self.window :])[0]


def recorded_forecast(source: str) -> Mapping[str, Any] | None:
    """The forecast description ``source``'s config.json records (None: not a forecaster,
    or not a folder: shipped weights are image models)."""
    path = run_model_folder(source)
    if not path.is_dir():
        return None
    data = read_pretrained_config(path).get("data") or {}
    forecast = data.get("forecast") if isinstance(data, Mapping) else None
    return data if forecast is not None else None


def load_forecaster(source: str) -> Forecaster:
    """The forecaster at ``source`` (a model folder or a run folder), in eval mode, with the
    preparation its config.json records (each value checked: a damaged or crafted file is
    one line naming it)."""
    data = recorded_forecast(source)
    if data is None:
        raise ZooError(f"{source!r} is not a forecaster: its config.json records no forecast.")
    forecast, scale = data.get("forecast"), data.get("target_scale")
    where = f"{source!r} config.json data"
    if not isinstance(forecast, Mapping) or not isinstance(scale, Mapping):
        raise ZooError(f"{where}.forecast and .target_scale must be mappings.")
    window, horizon = forecast.get("window"), forecast.get("horizon")
    mode = forecast.get("window_norm", "none")  # runs before data.window_norm saw the series
    mean, std = scale.get("mean"), scale.get("std")
    checks = [
        (is_positive_int(window), "forecast.window", window, "a positive integer"),
        (is_positive_int(horizon), "forecast.horizon", horizon, "a positive integer"),
        (mode in WINDOW_NORMS, "forecast.window_norm", mode, ", ".join(WINDOW_NORMS)),
        (is_number(mean), "target_scale.mean", mean, "a number"),
        (is_number(std) and std > 0, "target_scale.std", std, "a positive number"),
        (
            data.get("input_shape") == [window, 1],
            "input_shape",
            data.get("input_shape"),
            f"[{window}, 1] (the window, one value a step)",
        ),
    ]
    for ok, key, value, allowed in checks:
        if not ok:
            raise ZooError(f"{where}.{key} is {value!r}; allowed: {allowed}.")
    column = forecast.get("column")
    model = load_pretrained(run_model_folder(source)).eval()
    return Forecaster(
        model, int(window), int(horizon), float(mean), float(std), WindowNorm(mode),
        column if isinstance(column, str) else None,
    )  # fmt: skip


def series_column(path: str | Path, column: str | None, recorded: str | None) -> str:
    """The CSV column to read: ``column`` when given, else the training column when the file
    has it, else the file's only column."""
    if column is not None:
        return column
    try:
        with open(Path(path).expanduser(), newline="", encoding="utf-8") as handle:
            header = [name.strip() for name in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError) as error:
        raise ZooError(f"cannot read {str(path)!r}: {error}") from error
    if recorded is not None and recorded in header:
        return recorded
    if len(header) == 1:
        return header[0]
    trained = f"the training column {recorded!r} is not among them; " if recorded else ""
    raise ZooError(
        f"{str(path)!r} has the columns {', '.join(map(repr, header))}: {trained}name the "
        "series' column with --column."
    )


def forecast_main(source: str, files: Sequence[str], *, column: str | None, as_json: bool) -> int:
    """``python -m zoo.predict RUN series.csv``: print the next ``horizon`` values after the
    last ``window`` values of the CSV's column (raises ``ZooError`` for a mistake)."""
    if len(files) != 1:
        raise ZooError(
            f"{source!r} is a forecaster: give it one CSV file of the series, got {len(files)} "
            "paths."
        )
    forecaster = load_forecaster(source)
    name = series_column(files[0], column, forecaster.column)
    series = torch.from_numpy(read_series_column(files[0], name, "--column")).double()
    values = forecaster.next_values(series).tolist()
    first = len(series)  # the rows' time index: the forecasts follow the last one
    if as_json:
        result = {
            "file": str(files[0]),
            "column": name,
            "window": series[-forecaster.window :].tolist(),
            "forecast": [{"index": first + k, "value": v} for k, v in enumerate(values)],
        }
        say(json.dumps(result, indent=2))
    else:
        say(f"{files[0]}, column {name!r}: {len(series)} values; the next {len(values)}:")
        for k, value in enumerate(values):
            say(f"t+{k + 1}: {value:.6g}")
    return 0
