"""The run's clock: start-up (from the process's start to its first training step) and
training (from that step to the end of the last epoch)."""

from __future__ import annotations

import time
from typing import Any

import lightning as L

from zoo.resources import seconds_since_process_start


class RunClock(L.Callback):
    """Times the two parts of a run that results.json records (README, "Start-up"):

    - ``startup_seconds``: :func:`zoo.resources.seconds_since_process_start` read once, as
      training starts (after the sanity check, before the first batch): imports, the config's
      composition and checks, loading the data and building the model, trainer and callbacks;
    - ``training_seconds``: wall time from there to the end of training (every epoch, its
      validation, checkpoints and logging; not the test or the export), so that a benchmark
      can set a run's time per epoch beside a plain loop's.
    """

    def __init__(self) -> None:
        self.startup_seconds: float | None = None
        self.training_seconds: float | None = None
        self._started: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        if self.startup_seconds is None:
            self.startup_seconds = seconds_since_process_start()
        self._started = time.perf_counter()

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        if self._started is not None:
            self.training_seconds = time.perf_counter() - self._started
