"""Learning-rate schedules (primer: "Learning Rate": decay, warm-up).

Each builder takes the optimizer plus ``total_steps`` and ``steps_per_epoch`` (filled in by
the task from the trainer) and returns a Lightning scheduler configuration. Periods are
given in epochs in the configs and converted to optimizer steps here, so schedules work the
same whatever the dataset size.
"""

from __future__ import annotations

import math
from typing import Any

from torch.optim import Optimizer
from torch.optim import lr_scheduler as torch_schedulers

from zoo.config.values import is_number
from zoo.errors import ZooError


def _steps(epochs: float, steps_per_epoch: int) -> int:
    return max(1, round(epochs * steps_per_epoch))


def _require(condition: bool, key: str, allowed: str, value: Any) -> None:
    """Refuse ``scheduler.<key>=value`` unless ``condition``, naming what is allowed."""
    if not condition:
        raise ZooError(f"scheduler.{key} must be {allowed}, got {value!r}.")


def _positive(key: str, value: Any) -> None:
    _require(is_number(value) and value > 0, key, "a number > 0", value)


def _ratio(key: str, value: Any) -> None:
    _require(is_number(value) and 0 <= value <= 1, key, "a number in [0, 1]", value)


def step(
    optimizer: Optimizer,
    *,
    total_steps: int,
    steps_per_epoch: int,
    step_epochs: float = 10,
    gamma: float = 0.1,
) -> dict[str, Any]:
    """Multiply the learning rate by ``gamma`` every ``step_epochs`` epochs."""
    _positive("step_epochs", step_epochs)
    _positive("gamma", gamma)
    scheduler = torch_schedulers.StepLR(
        optimizer, step_size=_steps(step_epochs, steps_per_epoch), gamma=gamma
    )
    return {"scheduler": scheduler, "interval": "step"}


def exponential(
    optimizer: Optimizer, *, total_steps: int, steps_per_epoch: int, gamma: float = 0.95
) -> dict[str, Any]:
    """Multiply the learning rate by ``gamma`` every epoch (smoothly, at every step)."""
    _positive("gamma", gamma)
    per_step = gamma ** (1.0 / steps_per_epoch)
    return {
        "scheduler": torch_schedulers.ExponentialLR(optimizer, gamma=per_step),
        "interval": "step",
    }


def cosine(
    optimizer: Optimizer, *, total_steps: int, steps_per_epoch: int, min_lr_ratio: float = 0.0
) -> dict[str, Any]:
    """Cosine annealing from the base rate to ``min_lr_ratio ×`` it over the whole run."""
    return warmup_cosine(
        optimizer,
        total_steps=total_steps,
        steps_per_epoch=steps_per_epoch,
        warmup_epochs=0,
        min_lr_ratio=min_lr_ratio,
    )


def warmup_cosine(
    optimizer: Optimizer,
    *,
    total_steps: int,
    steps_per_epoch: int,
    warmup_epochs: float = 1.0,
    warmup_start_ratio: float = 0.01,
    min_lr_ratio: float = 0.0,
) -> dict[str, Any]:
    """Linear warm-up over ``warmup_epochs`` from ``warmup_start_ratio ×`` the base rate, then
    cosine annealing to ``min_lr_ratio ×`` it at the last step."""
    _require(
        is_number(warmup_epochs) and warmup_epochs >= 0,
        "warmup_epochs",
        "a number >= 0",
        warmup_epochs,
    )
    _ratio("warmup_start_ratio", warmup_start_ratio)
    _ratio("min_lr_ratio", min_lr_ratio)
    warmup = min(_steps(warmup_epochs, steps_per_epoch), total_steps) if warmup_epochs > 0 else 0
    decay = max(1, total_steps - warmup)

    def factor(step_index: int) -> float:
        if step_index < warmup:
            return warmup_start_ratio + (1.0 - warmup_start_ratio) * step_index / warmup
        progress = min(1.0, (step_index - warmup) / decay)
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return {"scheduler": torch_schedulers.LambdaLR(optimizer, factor), "interval": "step"}


def onecycle(
    optimizer: Optimizer,
    *,
    total_steps: int,
    steps_per_epoch: int,
    max_lr_ratio: float = 10.0,
    pct_start: float = 0.3,
) -> dict[str, Any]:
    """Smith & Topin 2019's one-cycle policy, peaking at ``max_lr_ratio ×`` the base rate."""
    _positive("max_lr_ratio", max_lr_ratio)
    _require(
        is_number(pct_start) and 0 < pct_start < 1, "pct_start", "a number in (0, 1)", pct_start
    )
    max_lr = [group["lr"] * max_lr_ratio for group in optimizer.param_groups]
    scheduler = torch_schedulers.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=max(2, total_steps), pct_start=pct_start
    )
    return {"scheduler": scheduler, "interval": "step"}


def plateau(
    optimizer: Optimizer,
    *,
    total_steps: int,
    steps_per_epoch: int,
    monitor: str = "val/loss",
    mode: str = "min",
    factor: float = 0.1,
    patience: int = 5,
) -> dict[str, Any]:
    """Divide the learning rate by ``1/factor`` when ``monitor`` stops improving."""
    _require(mode in ("min", "max"), "mode", "min or max", mode)
    _require(is_number(factor) and 0 < factor < 1, "factor", "a number in (0, 1)", factor)
    _require(isinstance(patience, int) and patience >= 0, "patience", "an integer >= 0", patience)
    scheduler = torch_schedulers.ReduceLROnPlateau(
        optimizer, mode=mode, factor=factor, patience=patience
    )
    return {"scheduler": scheduler, "interval": "epoch", "monitor": monitor}
