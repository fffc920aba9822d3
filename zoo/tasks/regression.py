"""Regression and time-series forecasting (primer: "Loss Functions", mean squared error).

The model maps an input (a vector, a window of a series, an image) to real values of the
data's ``target_shape``. The loss is MSE, MAE or Huber, by config, on the targets as the data
gives them; forecasting data scale their series with statistics of the training part alone
(:class:`zoo.data.sequences.ForecastDataModule`), tables their targets with the training
split's (:class:`zoo.data.arrays.ArrayDataModule`), and the task reports its metrics in the
data's original units (``target_mean``, ``target_std``: a number, or one per target value),
beside those of the data's naive prediction when it offers one (``naive_forecast``: a
series' last value, a table's training mean) and a classical statsmodels forecast's when the
data offers one. Forecasting data may also ask for each window to be normalized around the
model (``data.window_norm``: :class:`zoo.preprocessing.WindowNorm`, RevIN or the change from
the last value), which the task applies in :meth:`forward`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric

from zoo.errors import ZooError
from zoo.preprocessing import HasValueTargets, ValueTargets, WindowNorm
from zoo.tasks.base import ZooTask, batch_inputs, mean_metric

STAGES = ("train", "val", "test")
LOSSES = ("mse", "mae", "huber")


class RegressionTask(ZooTask):
    """Train a regressor or forecaster; logs ``{stage}/loss`` (the training loss, on the
    scale the model sees), ``{stage}/mse``, ``{stage}/rmse`` and ``{stage}/mae`` in the data's
    original units, ``{stage}/naive_mse`` and ``{stage}/naive_mae`` of the data's naive
    forecast where it has one, ``val/classical_mse``, ``val/classical_mae`` and their ``test/``
    twins for the data's classical baseline (over the whole split), and ``val/mse_best``.

    Args:
        loss: "mse", "mae" (L1) or "huber" (``F.huber_loss`` with ``huber_delta``).
        huber_delta: where the Huber loss turns from quadratic to linear.
    """

    kind = "regression"
    best_of = "val/mse"
    target_kinds = ("value",)
    logged_metrics = {
        **{
            f"{stage}/{name}": "min"
            for stage in STAGES
            for name in ("loss", "mse", "rmse", "mae", "naive_mse", "naive_mae")
        },
        **{
            f"{stage}/classical_{name}": "min"
            for stage in ("val", "test")
            for name in ("mse", "mae")
        },
        "val/mse_best": "min",
    }

    def __init__(
        self,
        model: nn.Module,
        optimizer: Any,
        scheduler: Any = None,
        *,
        loss: str = "mse",
        huber_delta: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, optimizer, scheduler, **kwargs)
        if loss not in LOSSES:
            raise ZooError(f"task.loss must be one of {', '.join(LOSSES)}, got {loss!r}.")
        if not huber_delta > 0:
            raise ZooError(f"task.huber_delta must be > 0, got {huber_delta}.")
        self.loss_name = loss
        self.huber_delta = huber_delta
        self.mean_loss = nn.ModuleDict({f"{s}_": mean_metric() for s in STAGES})
        self.mse = nn.ModuleDict({f"{s}_": MeanSquaredError() for s in STAGES})
        self.mae = nn.ModuleDict({f"{s}_": MeanAbsoluteError() for s in STAGES})
        self.naive_mse = nn.ModuleDict({f"{s}_": MeanSquaredError() for s in STAGES})
        self.naive_mae = nn.ModuleDict({f"{s}_": MeanAbsoluteError() for s in STAGES})
        # The data's scaling of its targets (original = scaled * std + mean), and its naive
        # forecast, taken from the datamodule at setup.
        self.target_mean, self.target_std = 0.0, 1.0
        self.naive_forecast: Any = None
        # forecasting data's window normalization around the model, and its classical
        # baseline's forecasts of the val and test splits
        self.window_norm: WindowNorm | None = None
        self.classical: dict[str, torch.Tensor] = {}

    def setup(self, stage: str) -> None:
        super().setup(stage)
        datamodule = self.trainer.datamodule if self._trainer else None
        targets = (
            datamodule.value_targets()
            if isinstance(datamodule, HasValueTargets)
            else ValueTargets()  # a data module of the user's own: targets as they are
        )
        # one number, or one per target value (a table's columns)
        self.target_mean = torch.as_tensor(targets.mean).float()
        self.target_std = torch.as_tensor(targets.std).float()
        self.naive_forecast = targets.naive_forecast
        self.window_norm = targets.window_norm
        self.classical = targets.classical_forecasts()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's outputs, or for forecasting data with a window normalization, the
        model's forecasts of the normalized windows brought back to the windows' units."""
        if self.window_norm is None:
            return self.model(x)
        return self.window_norm(self.model, x)

    def loss(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.loss_name == "mae":
            return F.l1_loss(predictions, targets)
        if self.loss_name == "huber":
            return F.huber_loss(predictions, targets, delta=self.huber_delta)
        return F.mse_loss(predictions, targets)

    def original_units(self, values: torch.Tensor) -> torch.Tensor:
        std, mean = torch.as_tensor(self.target_std), torch.as_tensor(self.target_mean)
        return values * std.to(values.device) + mean.to(values.device)

    def step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        inputs, targets = batch
        train = stage == "train"
        targets = targets.float()
        predictions = self(self.preprocess(inputs, train=train))
        if predictions.numel() != targets.numel():
            raise ZooError(
                f"the model gives {tuple(predictions.shape[1:])} values per sample but the "
                f"targets have shape {tuple(targets.shape[1:])}; set model.num_classes to "
                f"{math.prod(targets.shape[1:])} (the data's target size)."
            )
        predictions = predictions.reshape(targets.shape)  # (B, *target_shape)
        loss = self.loss(predictions, targets)
        key = f"{stage}_"
        self.accumulate(self.mean_loss[key], loss.detach(), len(targets))
        original_predictions = self.original_units(predictions.detach())
        original_targets = self.original_units(targets)
        self.accumulate(self.mse[key], original_predictions, original_targets)
        self.accumulate(self.mae[key], original_predictions, original_targets)
        if self.naive_forecast is not None:
            naive = self.original_units(self.naive_forecast(inputs).reshape(targets.shape))
            self.accumulate(self.naive_mse[key], naive, original_targets)
            self.accumulate(self.naive_mae[key], naive, original_targets)
        if train:
            self.log_step_value("train/loss_step", loss.detach())
        return self.regularized(loss) if train else loss

    def epoch_metrics(self, stage: str) -> dict[str, Metric]:
        key = f"{stage}_"
        metrics: dict[str, Metric] = {
            "loss": self.mean_loss[key],
            "mse": self.mse[key],
            "mae": self.mae[key],
        }
        if self.naive_forecast is not None:
            metrics |= {"naive_mse": self.naive_mse[key], "naive_mae": self.naive_mae[key]}
        return metrics

    def log_epoch(self, stage: str) -> dict[str, torch.Tensor]:
        values = super().log_epoch(stage)
        if f"{stage}/mse" in values:
            rmse = values[f"{stage}/mse"].sqrt()
            self.log(f"{stage}/rmse", rmse, prog_bar=False)
            values[f"{stage}/rmse"] = rmse
            if stage in self.classical:
                classical = self.classical_errors(stage)
                self.log_dict(classical, prog_bar=False)
                values |= classical
        return values

    def classical_errors(self, stage: str) -> dict[str, torch.Tensor]:
        """The classical baseline's ``{stage}/classical_mse`` and ``_mae`` over the whole
        split, in the series' units."""
        targets = self.trainer.datamodule.splits[stage][1].detach().float().cpu()
        forecasts = self.original_units(self.classical[stage])
        errors = forecasts - self.original_units(targets.reshape(forecasts.shape))
        return {
            f"{stage}/classical_mse": errors.square().mean().to(self.device),
            f"{stage}/classical_mae": errors.abs().mean().to(self.device),
        }

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """Predictions in the data's original units."""
        inputs = batch_inputs(batch)
        return self.original_units(self(self.preprocess(inputs, train=False)))
