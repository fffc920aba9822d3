"""Sequences: generated memory benchmarks and time series to forecast.

- The adding problem (Hochreiter & Schmidhuber 1997, experiment 4; in the form of Le, Jaitly &
  Hinton 2015, "A simple way to initialize recurrent networks of rectified linear units", and
  Arjovsky, Shah & Bengio 2016, "Unitary evolution recurrent neural networks"): sum the two
  marked values of a long sequence. A regression over sequences.
- The copy task (Arjovsky, Shah & Bengio 2016, section 4.1): remember a few symbols over a long
  blank stretch and repeat them after a delimiter. A classification at every step.
- Forecasting (primer: time-series regression): windows of a series and the values that follow
  them, split chronologically and scaled with the training part's statistics only. Sources: a
  generated noisy sum of sines, the yearly sunspot numbers shipped in statsmodels, or a column
  of your own CSV file.

Each generator is seeded with its own ``torch.Generator``: the same seed gives the same data
whatever the global random state.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zoo.config.values import is_int
from zoo.data.base import LoadedData, TensorDataModule, contiguous_split_sizes
from zoo.errors import ZooError
from zoo.preprocessing import ValueTargets, WindowNorm


def _fixed(kwargs: dict[str, Any], key: str, value: Any, why: str) -> None:
    """Refuse a base argument this data module fixes (``target_kind``, ``normalize``) when
    the config sets it to something else; drop it from ``kwargs``."""
    given = kwargs.pop(key, value)
    if given != value:
        raise ZooError(f"data.{key} must be {value!r} for this data ({why}), got {given!r}.")


def _require_positive(**values: int) -> None:
    for key, value in values.items():
        if value < 1:
            raise ZooError(f"data.{key} must be >= 1, got {value}.")


# -- the adding problem ------------------------------------------------------------------------
class AddingProblemDataModule(TensorDataModule):
    """The adding problem (Hochreiter & Schmidhuber 1997; the form of Le et al. 2015 and
    Arjovsky et al. 2016).

    Each input is ``length`` steps of two channels, ``(N, length, 2)``: channel 0 holds values
    drawn uniformly from [0, 1]; channel 1 is zero except for exactly two 1 markers, one at a
    random step of the first half and one in the second half. The target, ``(N, 1)``, is the
    sum of the two marked values. Inputs are used as generated (``normalize`` is off).

    Always predicting 1 (the expected sum) scores a mean squared error of
    Var(U1 + U2) = 2 · 1/12 = 1/6 ≈ 0.167 (:attr:`baseline_mse`); a model that learns the task
    goes well below it, one that does not stays there.
    """

    name = "adding"
    rebuildable = True
    baseline_mse = 1.0 / 6.0

    def __init__(
        self, *, length: int = 100, num_samples: int = 10000, seed: int = 0, **kwargs: Any
    ) -> None:
        _fixed(kwargs, "target_kind", "value", "the target is the sum of two values")
        kwargs.setdefault("normalize", False)
        super().__init__(target_kind="value", **kwargs)
        if length < 2:
            raise ZooError(f"data.length must be >= 2 (one marker in each half), got {length}.")
        _require_positive(num_samples=num_samples)
        self.length, self.num_samples, self.seed = length, num_samples, seed

    def memory_estimate(self) -> tuple[int, dict[str, Any]] | None:
        """Float values, markers, their stack and its split copies: ~6 floats a step."""
        values = {"num_samples": self.num_samples, "length": self.length}
        return self.num_samples * self.length * 4 * 6, values

    def load(self) -> LoadedData:
        n, length = self.num_samples, self.length
        generator = torch.Generator().manual_seed(self.seed)
        values = torch.rand(n, length, generator=generator)
        half = length // 2
        first = torch.randint(0, half, (n,), generator=generator)
        second = torch.randint(half, length, (n,), generator=generator)
        markers = torch.zeros(n, length)
        rows = torch.arange(n)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        targets = (values[rows, first] + values[rows, second]).unsqueeze(1)
        return LoadedData(torch.stack([values, markers], dim=2), targets)

    def describe(self) -> dict[str, Any]:
        """The base description, with the baseline a model must beat."""
        baseline = {"metric": "mse", "value": self.baseline_mse, "what": "always predicting 1"}
        return {**super().describe(), "length": self.length, "baseline": baseline}


# -- the copy task -----------------------------------------------------------------------------
class CopyTaskDataModule(TensorDataModule):
    """The copy task (Arjovsky, Shah & Bengio 2016, "Unitary evolution recurrent neural
    networks", section 4.1).

    The alphabet is ``0`` (blank), ``1..num_symbols`` (symbols) and ``num_symbols + 1`` (the
    delimiter). An input is ``copy_length`` random symbols, ``length - 1`` blanks, the
    delimiter, then ``copy_length`` blanks: ``length + 2 * copy_length`` steps in all. The
    target at every step is a blank, except on the last ``copy_length`` steps, which repeat the
    symbols in order. Inputs are one-hot float sequences ``(N, T, num_symbols + 2)``
    (``one_hot=True``) or token ids ``(N, T)``; targets are class ids ``(N, T)``, one per step,
    of ``num_symbols + 2`` classes.

    A memoryless model that outputs blanks and then guesses symbols uniformly scores
    ``copy_length · ln(num_symbols) / (length + 2 · copy_length)`` nats per step
    (:attr:`baseline_cross_entropy`).
    """

    name = "copy"
    rebuildable = True
    #: one target per step: a sequence model must give one output per step (head "all")
    per_step_targets = True

    def __init__(
        self,
        *,
        length: int = 100,
        num_symbols: int = 8,
        copy_length: int = 10,
        num_samples: int = 10000,
        seed: int = 0,
        one_hot: bool = True,
        **kwargs: Any,
    ) -> None:
        _fixed(kwargs, "target_kind", "class", "a class, blank or symbol, at every step")
        kwargs.setdefault("normalize", False)
        super().__init__(target_kind="class", **kwargs)
        _require_positive(
            length=length, num_symbols=num_symbols, copy_length=copy_length,
            num_samples=num_samples,
        )  # fmt: skip
        self.length, self.num_symbols, self.copy_length = length, num_symbols, copy_length
        self.num_samples, self.seed, self.one_hot = num_samples, seed, bool(one_hot)

    @classmethod
    def describe_source(cls, **config: Any) -> dict[str, Any]:
        """What the task gives, from its arguments alone (nothing is generated):
        ``input_kind``, ``input_shape``, ``target_kind``, ``num_classes``, ``vocab_size``; the
        config's null values are filled from these."""
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        module = cls(**config)
        classes = module.num_symbols + 2
        steps = module.sequence_length
        return {
            "input_kind": "sequence" if module.one_hot else "tokens",
            "input_shape": [steps, classes] if module.one_hot else [steps],
            "target_kind": "class",
            "num_classes": classes,
            "target_shape": None,
            "vocab_size": module.vocab_size,
        }

    @property
    def sequence_length(self) -> int:
        """Steps per sample: ``length + 2 * copy_length``."""
        return self.length + 2 * self.copy_length

    @property
    def delimiter(self) -> int:
        return self.num_symbols + 1

    @property
    def baseline_cross_entropy(self) -> float:
        """Nats per step of the memoryless predictor (blank, then uniform over symbols)."""
        return self.copy_length * math.log(self.num_symbols) / self.sequence_length

    @property
    def baseline_accuracy(self) -> float:
        """Per-step accuracy of the memoryless predictor: every blank right, one symbol in
        ``num_symbols`` guessed right."""
        right = self.length + self.copy_length + self.copy_length / self.num_symbols
        return right / self.sequence_length

    @property
    def vocab_size(self) -> int | None:
        """The number of token ids of the inputs (for ``one_hot=False``)."""
        return None if self.one_hot else self.num_symbols + 2

    def memory_estimate(self) -> tuple[int, dict[str, Any]] | None:
        """Integer inputs and targets, the one-hot inputs (their int64 and float copies) and
        the split copies."""
        per_step = 8 * 4 + ((self.num_symbols + 2) * (8 + 4 * 2) if self.one_hot else 0)
        values = {"num_samples": self.num_samples, "length": self.length}
        if self.copy_length > self.length:
            values = {"num_samples": self.num_samples, "copy_length": self.copy_length}
        return self.num_samples * self.sequence_length * per_step, values

    def load(self) -> LoadedData:
        n, k, total = self.num_samples, self.copy_length, self.sequence_length
        generator = torch.Generator().manual_seed(self.seed)
        symbols = torch.randint(1, self.num_symbols + 1, (n, k), generator=generator)
        inputs = torch.zeros(n, total, dtype=torch.long)
        inputs[:, :k] = symbols
        inputs[:, self.length + k - 1] = self.delimiter
        targets = torch.zeros(n, total, dtype=torch.long)
        targets[:, -k:] = symbols
        if self.one_hot:
            inputs = F.one_hot(inputs, self.num_symbols + 2).float()
        names = ["blank", *(str(i) for i in range(1, self.num_symbols + 1)), "delimiter"]
        return LoadedData(inputs, targets, class_names=names)

    def describe(self) -> dict[str, Any]:
        """The base description, with the baseline a model must beat."""
        baseline = {
            "metric": "loss",
            "value": self.baseline_cross_entropy,
            "what": "no memory (blanks, then a uniform guess)",
            "acc": self.baseline_accuracy,
        }
        return {**super().describe(), "length": self.length, "baseline": baseline}


# -- forecasting -------------------------------------------------------------------------------
@dataclass
class SeriesData(LoadedData):
    """Windows of a series (inputs ``(N, window, 1)``, targets ``(N, horizon)``, in the
    series' units) and the series itself."""

    series: torch.Tensor | None = None


SPLITS = ("train", "val", "test")
#: data.baseline: the classical forecast reported beside the network's (null: none)
BASELINES = ("auto", "ar", "holt_winters", None)


class ForecastDataModule(TensorDataModule):
    """Windows of a 1-D series: ``window`` past values ``(N, window, 1)`` → the next
    ``horizon`` values ``(N, horizon)`` (primer: time-series regression). Subclasses implement
    :meth:`series`.

    The split is chronological, never shuffled across splits: of the time points that can be
    targets (every point after the first ``window``), the last ``test_fraction`` are the test
    split and the ``val_fraction`` before them the val split. A window belongs to the split of
    its targets; its input context may reach back into an earlier split, but its targets never
    do (windows whose targets straddle two splits are left out).

    The series is standardized with the mean and std of its training part alone (every value
    up to the last training target), applied to inputs and targets alike;
    :meth:`to_original_units` undoes it. The base class's input standardization is off.

    ``window_norm`` says how the model sees each window (:class:`zoo.preprocessing.WindowNorm`,
    which the regression task applies around the model and ``config.json`` records): "revin",
    the default, takes out each window's mean and std before the model and puts them back in
    its forecasts (RevIN, Kim et al. 2022), so that a trending series' later levels, outside
    anything the training years held, are no harder than the earlier ones; "last" forecasts
    the change from the window's last value ("revin" won on a trending series and on the
    sunspots: scripts/forecast_table.py, the README's forecasting table).

    Two baselines a model must beat: :meth:`naive_forecast` (the last input value, repeated)
    and :meth:`classical_forecasts`, a statsmodels model fitted on the training part alone
    (``baseline``: "auto" is Holt-Winters with additive trend and season when ``season``, the
    season's length in steps, is set, else an AR(p) with p <= ``window`` chosen by AIC; "ar",
    "holt_winters", or null for none), scored on the same windows and horizon.
    """

    #: each target must be predicted from the steps before it: no bidirectional models
    causal = True

    name = "forecast"

    def __init__(
        self,
        *,
        window: int = 24,
        horizon: int = 1,
        window_norm: str = "revin",
        season: int | None = None,
        baseline: str | None = "auto",
        **kwargs: Any,
    ) -> None:
        _fixed(kwargs, "target_kind", "value", "the targets are the next values of the series")
        _fixed(kwargs, "normalize", False, "it scales the series with its training part")
        _fixed(kwargs, "train_fraction", 1.0, "the splits are consecutive stretches of time")
        super().__init__(target_kind="value", normalize=False, **kwargs)
        _require_positive(window=window, horizon=horizon)
        self.window, self.horizon = window, horizon
        self.window_norm = WindowNorm(window_norm)  # refuses an unknown mode
        if season is not None and not (is_int(season) and season >= 2):
            raise ZooError(
                f"data.season must be the season's length in steps, an integer >= 2, or null "
                f"(no season), got {season!r}."
            )
        if baseline not in BASELINES:
            raise ZooError(
                f"data.baseline must be one of {', '.join(map(str, BASELINES))} (null: none), "
                f"got {baseline!r}."
            )
        self.season, self.baseline = season, baseline
        self.target_mean, self.target_std = 0.0, 1.0  # identity until setup
        self.window_starts: dict[str, torch.Tensor] = {}
        self.train_end = 0  # the training part: series[:train_end], after setup
        self.series_values: torch.Tensor | None = None
        self._classical: dict[str, torch.Tensor] | None = None

    # -- what subclasses provide ---------------------------------------------------------------
    def series(self) -> torch.Tensor:
        """The whole series, a 1-D float tensor in time order (subclasses implement this)."""
        raise NotImplementedError

    @classmethod
    def describe_source(cls, **config: Any) -> dict[str, Any]:
        """What the series gives, before any training (reading it refuses a series too short
        for the window and horizon): ``input_kind``, ``input_shape``, ``target_kind``,
        ``target_shape``."""
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        module = cls(**config)
        module.setup()
        return {
            "input_kind": "sequence",
            "input_shape": [module.window, 1],
            "target_kind": "value",
            "num_classes": None,
            "target_shape": [module.horizon],
            "vocab_size": None,
        }

    # -- windows and the chronological split ---------------------------------------------------
    def load(self) -> SeriesData:
        series = self.series().detach().float().flatten()
        length, span = len(series), self.window + self.horizon
        # every window is copied out of the series (and its split copies): refused before
        windows = max(length - span + 1, 0)
        self.check_memory(windows * span * 4 * 3, {"window": self.window, "horizon": self.horizon})
        if length < span:
            raise ZooError(
                f"{self.name}: the series has {length} values, too short for data.window="
                f"{self.window} + data.horizon={self.horizon}; lower them or use a longer "
                "series."
            )
        if not torch.isfinite(series).all():
            raise ZooError(f"{self.name}: the series holds NaN or infinite values.")
        windows = series.unfold(0, span, 1)  # (length - span + 1, span)
        return SeriesData(
            inputs=windows[:, : self.window].unsqueeze(-1).clone(),
            targets=windows[:, self.window :].clone(),
            series=series,
        )

    def split_points(self, length: int) -> dict[str, int]:
        """The number of target time points of each split of a series of ``length`` values."""
        return contiguous_split_sizes(length - self.window, self.val_fraction, self.test_fraction)

    def _split(self, data: LoadedData) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        assert isinstance(data, SeriesData) and data.series is not None
        series = data.series
        points = self.split_points(len(series))
        fractions = {"train": 1.0, "val": self.val_fraction, "test": self.test_fraction}
        for split in SPLITS:
            if fractions[split] > 0 and points[split] < self.horizon:
                raise ZooError(
                    f"{self.name}: the series of {len(series)} values is too short for "
                    f"data.window={self.window} + data.horizon={self.horizon}: its {split} "
                    f"split has {points[split]} target time points, fewer than the horizon; "
                    "lower data.window or data.horizon, change data.val_fraction/"
                    "data.test_fraction, or use a longer series."
                )
        # Window i has its targets at times i + window .. i + window + horizon - 1.
        starts, first = {}, 0
        for split in SPLITS:
            count = max(points[split] - self.horizon + 1, 0)
            starts[split] = torch.arange(first, first + count)
            first += points[split]
        train_end = self.window + points["train"]  # the training part: series[:train_end]
        self._check_baseline(train_end)
        train_part = series[:train_end].double()
        mean, std = train_part.mean().item(), train_part.std(correction=0).item()
        self.target_mean, self.target_std = mean, std if std > 1e-8 else 1.0
        self.window_starts, self.train_end, self.series_values = starts, train_end, series
        self._classical = None
        inputs, targets = self.scale(data.inputs), self.scale(data.targets)
        return {split: (inputs[index], targets[index]) for split, index in starts.items()}

    # -- scaling --------------------------------------------------------------------------------
    def scale(self, values: Any) -> Any:
        """Values of the series in scaled units: ``(values - mean) / std``."""
        return (values - self.target_mean) / self.target_std

    def to_original_units(self, values: Any) -> Any:
        """Scaled values (targets, predictions) back in the series' units:
        ``values * std + mean``; tensors, arrays and numbers alike."""
        return values * self.target_std + self.target_mean

    def naive_forecast(self, inputs: torch.Tensor) -> torch.Tensor:
        """The naive forecast ``(N, horizon)``: the last input value, repeated (in scaled
        units, as the targets)."""
        return inputs[:, -1, :1].repeat(1, self.horizon)

    def value_targets(self) -> ValueTargets:
        """The regression task's view of these targets (:class:`zoo.preprocessing.ValueTargets`):
        the series' scale, the last value as the naive forecast, the window normalization and
        the classical baseline."""
        return ValueTargets(
            mean=self.target_mean,
            std=self.target_std,
            naive_forecast=self.naive_forecast,
            window_norm=self.window_norm,
            classical_forecasts=self.classical_forecasts,
        )

    def target_times(self, split: str) -> torch.Tensor:
        """The time index of every target of ``split``, ``(N, horizon)``."""
        offsets = torch.arange(self.horizon) + self.window
        return self.window_starts[split].unsqueeze(1) + offsets

    # -- the classical baseline -----------------------------------------------------------------
    @property
    def baseline_model(self) -> str | None:
        """The classical model ``baseline`` names: "holt_winters", "ar" or None."""
        if self.baseline == "auto":
            return "holt_winters" if self.season else "ar"
        return self.baseline

    def _check_baseline(self, train_end: int) -> None:
        """Holt-Winters estimates its initial season from two full seasons of training data
        and more: refused before any training when the training part is shorter."""
        need = 2 * self.season + 10 if self.season else 10
        if self.baseline_model == "holt_winters" and train_end < need:
            raise ZooError(
                f"{self.name}: the Holt-Winters baseline (data.baseline={self.baseline!r}, "
                f"data.season={self.season}) needs {need} training values, the training part "
                f"has {train_end}; lower data.season, use a longer series, or set "
                "data.baseline=ar or null."
            )

    def classical_forecasts(self) -> dict[str, torch.Tensor]:
        """The classical baseline's forecasts of the val and test windows, ``(N, horizon)``
        each in scaled units like the targets (empty without a baseline). Fitted on the
        training part alone, once (a fraction of a second on hundreds of values); each
        window's forecast uses the series up to its last input value, as the network's does."""
        if self._classical is None:
            self._classical = self._fit_classical() if self.baseline_model else {}
        return self._classical

    def _fit_classical(self) -> dict[str, torch.Tensor]:
        assert self.series_values is not None, "call setup() first"
        series = self.series_values.double().numpy()
        splits = [split for split in ("val", "test") if len(self.window_starts[split])]
        origins = {s: self.window_starts[s].numpy() + self.window - 1 for s in splits}
        every = np.concatenate([origins[s] for s in splits]) if splits else np.zeros(0, int)
        fit = holt_winters_forecasts if self.baseline_model == "holt_winters" else ar_forecasts
        # imported first: statsmodels sets some of its warnings to "always" on import
        import statsmodels.tsa.ar_model
        import statsmodels.tsa.holtwinters  # noqa: F401

        with warnings.catch_warnings():  # statsmodels' convergence and rank notes
            warnings.simplefilter("ignore")
            values = fit(series, self.train_end, every, self.horizon, self.season, self.window)
        forecasts, first = {}, 0
        for split in splits:
            count = len(origins[split])
            forecasts[split] = self.scale(torch.from_numpy(values[first : first + count]).float())
            first += count
        return forecasts

    def describe_baseline(self) -> str | None:
        """The classical baseline in words, for the data description."""
        if self.baseline_model == "holt_winters":
            season = f" and a {self.season}-step season" if self.season else ""
            return f"Holt-Winters exponential smoothing, additive trend{season}"
        if self.baseline_model == "ar":
            return f"AR(p), p <= {self.window} by AIC"
        return None

    def describe(self) -> dict[str, Any]:
        return super().describe() | {
            "target_scale": {"mean": self.target_mean, "std": self.target_std},
            "forecast": {
                "window": self.window,
                "horizon": self.horizon,
                "window_norm": self.window_norm.mode,
                "season": self.season,
                "baseline": self.describe_baseline(),
            },
        }


def holt_winters_forecasts(
    series: np.ndarray, train_end: int, origins: np.ndarray, horizon: int, season: int | None,
    window: int,
) -> np.ndarray:  # fmt: skip
    """Holt-Winters (additive trend, additive season of ``season`` steps when given) fitted on
    ``series[:train_end]``, then run with the same parameters over the whole series: the
    forecasts ``(len(origins), horizon)`` made at each origin (the index of the last value
    seen), from its level, trend and season there (Hyndman & Athanasopoulos, "Forecasting:
    principles and practice", 8.3)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = "add" if season else None
    fitted = ExponentialSmoothing(
        series[:train_end], trend="add", seasonal=seasonal, seasonal_periods=season,
        initialization_method="estimated",
    ).fit()  # fmt: skip
    params = fitted.params
    known = {"initial_level": params["initial_level"], "initial_trend": params["initial_trend"]}
    if season:
        known["initial_seasonal"] = params["initial_seasons"]
    whole = ExponentialSmoothing(
        series, trend="add", seasonal=seasonal, seasonal_periods=season,
        initialization_method="known", **known,
    ).fit(
        smoothing_level=params["smoothing_level"], smoothing_trend=params["smoothing_trend"],
        smoothing_seasonal=params["smoothing_seasonal"] if season else None, optimized=False,
    )  # fmt: skip
    steps = np.arange(1, horizon + 1)  # (H,)
    level, trend = whole.level[origins, None], whole.trend[origins, None]  # (N, 1)
    forecasts = level + steps * trend  # (N, H)
    if season:
        # the season of step k from origin t was last estimated at t + k - m * ceil(k / m);
        # the initial seasons stand before time 0
        seasons = np.concatenate([params["initial_seasons"], whole.season])
        last = origins[:, None] + steps - season * np.ceil(steps / season).astype(int)
        forecasts = forecasts + seasons[last + season]
    return forecasts


def ar_forecasts(
    series: np.ndarray, train_end: int, origins: np.ndarray, horizon: int, season: int | None,
    window: int,
) -> np.ndarray:  # fmt: skip
    """An AR(p) with a constant (``statsmodels.tsa.ar_model.AutoReg``), p <= ``window`` chosen
    by AIC, fitted on ``series[:train_end]`` by least squares: the forecasts
    ``(len(origins), horizon)`` made at each origin from its last p values, iterated for
    steps beyond the first. ``season`` is unused (an AR's lags carry it)."""
    from statsmodels.tsa.ar_model import AutoReg, ar_select_order

    train = series[:train_end]
    maxlag = max(min(window, train_end // 2 - 2), 0)
    lags = ar_select_order(train, maxlag=maxlag, ic="aic", trend="c").ar_lags if maxlag else None
    order = max(lags) if lags else 0
    params = AutoReg(train, lags=order, trend="c").fit().params  # const, lag 1 .. lag p
    const, coefficients = params[0], params[1:][::-1]  # lag p .. lag 1: the time order
    history = np.stack([series[origins - order + 1 + i] for i in range(order)], axis=1)
    forecasts = []
    for _ in range(horizon):
        step = const + history @ coefficients if order else np.full(len(origins), const)
        forecasts.append(step)
        if order:
            history = np.concatenate([history[:, 1:], step[:, None]], axis=1)
    return np.stack(forecasts, axis=1)  # (N, H)


class SineDataModule(ForecastDataModule):
    """A noisy sum of sines, ``sum_k a_k sin(2π t / p_k) + noise · ε_t`` with ε_t ~ N(0, 1),
    for t = 0 .. length - 1: periodic structure a model can learn and a naive forecast cannot
    fully use. Generated with ``seed``."""

    name = "sine"
    rebuildable = True

    def __init__(
        self,
        *,
        length: int = 2000,
        periods: Sequence[float] = (12.0, 33.0),
        amplitudes: Sequence[float] = (1.0, 0.5),
        noise: float = 0.1,
        seed: int = 0,
        window: int = 48,
        horizon: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(window=window, horizon=horizon, **kwargs)
        periods, amplitudes = list(periods), list(amplitudes)
        if not periods or len(periods) != len(amplitudes):
            raise ZooError(
                f"data.periods and data.amplitudes must be lists of the same length >= 1, got "
                f"{periods} and {amplitudes}."
            )
        bad = [p for p in periods if not p > 0]
        if bad:
            raise ZooError(f"data.periods must all be > 0, got {bad[0]}.")
        if not noise >= 0:
            raise ZooError(f"data.noise must be >= 0, got {noise}.")
        if length < 2:
            raise ZooError(f"data.length must be >= 2, got {length}.")
        self.length, self.noise, self.seed = length, float(noise), seed
        self.periods = [float(p) for p in periods]
        self.amplitudes = [float(a) for a in amplitudes]

    def memory_estimate(self) -> tuple[int, dict[str, Any]] | None:
        """The float64 series and the float32 windows copied out of it."""
        span = self.window + self.horizon
        nbytes = self.length * 8 * 4 + max(self.length - span + 1, 0) * span * 4 * 3
        return nbytes, {"length": self.length, "window": self.window}

    def series(self) -> torch.Tensor:
        t = torch.arange(self.length, dtype=torch.float64)
        values = sum(
            a * torch.sin(2 * math.pi * t / p)
            for p, a in zip(self.periods, self.amplitudes, strict=True)
        )
        generator = torch.Generator().manual_seed(self.seed)
        noise = torch.randn(self.length, generator=generator, dtype=torch.float64)
        return (values + self.noise * noise).float()


class SunspotsDataModule(ForecastDataModule):
    """The yearly mean sunspot numbers 1700–2008 (309 values), the dataset shipped in
    statsmodels (``statsmodels.api.datasets.sunspots``; from the Royal Observatory of
    Belgium's SIDC, the classic series of Box & Jenkins's time-series analysis). Needs
    ``pip install statsmodels``; no download."""

    name = "sunspots"
    rebuildable = True

    def __init__(self, *, window: int = 24, horizon: int = 1, **kwargs: Any) -> None:
        super().__init__(window=window, horizon=horizon, **kwargs)

    def series(self) -> torch.Tensor:
        try:
            from statsmodels.datasets import sunspots
        except ImportError as error:
            raise ZooError(
                "data=sunspots reads the series shipped in statsmodels, which is not "
                f"installed ({error}); pip install statsmodels."
            ) from None
        values = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=np.float32)
        return torch.from_numpy(values.copy())


def read_series_column(path: str | Path, column: str, option: str = "data.column") -> np.ndarray:
    """One numeric column of a CSV file with a header row, in file order, as float32; blank
    lines are skipped. ``option`` names the setting that chose the column, for the error when
    the file has no such column."""
    file = Path(path).expanduser()
    if not file.is_file():
        what = "is a folder" if file.is_dir() else "does not exist"
        raise ZooError(f"{str(path)!r} {what}; expected a .csv file.")
    return _read_column(str(file), file.stat().st_mtime, column, option).copy()


@lru_cache(maxsize=8)
def _read_column(path: str, mtime: float, column: str, option: str) -> np.ndarray:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise ZooError(f"cannot read {path!r}: {error}") from error
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ZooError(f"{path!r} is empty; expected a header row of column names.")
    header = [name.strip() for name in rows[0]]
    if column not in header:
        raise ZooError(
            f"{path!r} has no column {column!r} ({option}); its columns: "
            f"{', '.join(repr(h) for h in header)}."
        )
    index = header.index(column)
    values = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines
        text = row[index].strip() if index < len(row) else ""
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ZooError(
                f"{path!r} column {column!r} holds {text!r} on line {line} (data row "
                f"{line - 1}), not a number; every value of the series must be numeric."
            )
        values.append(value)
    if not values:
        raise ZooError(f"{path!r} column {column!r} is empty: no values below the header.")
    return np.array(values, dtype=np.float32)


class CSVSeriesDataModule(ForecastDataModule):
    """One numeric column of your own CSV file (with a header row) as the series, in file
    order, e.g. ``data=series_csv data.path=power.csv data.column=load``. Read with the csv
    module (no pandas); blank lines are skipped."""

    name = "series_csv"
    rebuildable = True

    def __init__(
        self, *, path: str, column: str, window: int = 24, horizon: int = 1, **kwargs: Any
    ) -> None:
        super().__init__(window=window, horizon=horizon, **kwargs)
        self.path, self.column = str(path), str(column)
        file = Path(self.path).expanduser()
        if not file.is_file():
            what = "is a folder" if file.is_dir() else "does not exist"
            raise ZooError(f"data.path {self.path!r} {what}; expected a .csv file.")

    def series(self) -> torch.Tensor:
        file = Path(self.path).expanduser()
        if not file.is_file():
            raise ZooError(f"data.path {self.path!r} does not exist; expected a .csv file.")
        return torch.from_numpy(read_series_column(file, self.column))

    def describe(self) -> dict[str, Any]:
        """The base description; the forecast records its column (python -m zoo.predict
        reads the same column of a new file by default)."""
        described = super().describe()
        described["forecast"]["column"] = self.column
        return described
