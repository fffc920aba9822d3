"""The training progress bar: Lightning's ``RichProgressBar``, updated at the pace it is drawn.

Lightning's bar updates its task and re-reads every progress-bar metric (a ``.item()`` each:
a device synchronization on a GPU) after every training batch, about 0.2 ms of the training
loop's thread per batch on this project's CPU, although the bar is only redrawn
``refresh_rate`` times a second. :class:`ProgressBar` skips the update of a batch that ends
sooner than ``1 / refresh_rate`` seconds after the last update (never the last batch of an
epoch), and is redrawn 10 times a second (tqdm's pace) instead of Lightning's 100: a redraw
takes the interpreter's lock from the training loop, and 100 a second took about a tenth of
a core. ``python scripts/benchmark_loop.py --hooks`` measures what is left.
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar

from zoo.config.values import is_int
from zoo.errors import ZooError


class ProgressBar(RichProgressBar):
    """``RichProgressBar`` whose training updates come at most ``refresh_rate`` times a second.

    Args:
        refresh_rate: redraws (and training updates) per second; 0 hides the bar.
        **kwargs: the rest of ``RichProgressBar``'s arguments (``leave``, ``theme``,
            ``console_kwargs``).
    """

    def __init__(self, refresh_rate: int = 10, **kwargs: Any) -> None:
        if not (is_int(refresh_rate) and refresh_rate >= 0):
            raise ZooError(
                f"the progress bar's refresh_rate must be an integer >= 0 (redraws a second; 0 "
                f"hides the bar), got {refresh_rate!r}."
            )
        super().__init__(refresh_rate=refresh_rate, **kwargs)
        self._last_update = -math.inf

    def on_validation_batch_start(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        # Lightning hides the last validation bar and adds a new one at each validation,
        # keeping every hidden one (a task a validation, each redraw walking them all):
        # the hidden one is removed.
        previous = self.val_progress_bar_id
        super().on_validation_batch_start(trainer, pl_module, batch, batch_idx, dataloader_idx)
        if self.progress is not None and previous not in (None, self.val_progress_bar_id):
            self.progress.remove_task(previous)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if self.is_enabled:
            now = time.monotonic()
            last_batch = batch_idx + 1 >= self.total_train_batches
            if now - self._last_update < 1.0 / self.refresh_rate and not last_batch:
                return
            self._last_update = now
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
