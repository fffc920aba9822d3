"""A CSV logger whose history survives a resume into the same run folder.

Lightning's ``CSVLogger`` deletes an existing ``metrics.csv`` when it starts, so resuming a
run in its own folder erased the metrics of the epochs before the interruption. This one
keeps them: on its first write it keeps the earlier rows up to the step the run resumed
from (rows a killed run logged after its last checkpoint are redone, so they are dropped)
and appends the new ones under the union of both headers.
"""

from __future__ import annotations

import csv
from typing import Any

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


class _KeepingWriter(ExperimentWriter):
    def __init__(self, log_dir: str) -> None:
        self._first_save = True
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        """Keep an existing metrics.csv (the base class deletes it)."""

    def save(self) -> None:
        if not self.metrics:
            return
        if self._first_save and self._fs.isfile(self.metrics_file_path):
            self._merge_earlier_rows()
        self._first_save = False
        super().save()

    def _merge_earlier_rows(self) -> None:
        with self._fs.open(self.metrics_file_path, "r", newline="") as file:
            reader = csv.DictReader(file)
            earlier: list[dict[str, Any]] = list(reader)
            keys = list(reader.fieldnames or [])
        resumed_at = min(int(row["step"]) for row in self.metrics)
        kept = [row for row in earlier if row.get("step") and int(row["step"]) < resumed_at]
        self.metrics_keys = sorted(set(keys) | set().union(*self.metrics))
        with self._fs.open(self.metrics_file_path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=self.metrics_keys)
            writer.writeheader()
            writer.writerows(kept)


class ResumableCSVLogger(CSVLogger):
    """Lightning's ``CSVLogger`` that appends to the metrics of an earlier run in its folder."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(log_dir=self.log_dir)
        return self._experiment
