"""The run's start-up time: from the process's start to its first training step."""

from __future__ import annotations

from typing import Any

import lightning as L

from zoo.resources import seconds_since_process_start


class StartupClock(L.Callback):
    """Reads :func:`zoo.resources.seconds_since_process_start` once, as training starts
    (after the sanity check, before the first batch): imports, the config's composition and
    checks, loading the data and building the model, the trainer and its callbacks. The run
    records it in results.json as ``startup_s`` (README, "Start-up")."""

    def __init__(self) -> None:
        self.seconds: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        if self.seconds is None:
            self.seconds = seconds_since_process_start()
