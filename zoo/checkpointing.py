"""Training checkpoints: written atomically, and resumable into a new run folder.

Lightning's ``TorchCheckpointIO`` opens the target file for writing and then streams into
it, so a kill during the write leaves a truncated ``last.ckpt`` in place of the previous
good one. :class:`AtomicCheckpointIO` serializes the checkpoint in memory, writes it to a
temporary file beside the target, flushes and fsyncs it, and renames it over the target:
at any moment the folder holds the previous checkpoint or the new one, whole.

:class:`RunCheckpoint` is Lightning's ``ModelCheckpoint`` that, resumed from a checkpoint of
another run folder, keeps the scores it had (Lightning drops them when the folder changes,
so the first epoch after a resume became "best") and copies the checkpoints it tracks into
the new folder, so the resumed run ranks, tests and exports exactly what the uninterrupted
run would, and never deletes a file in the other run's folder.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from zoo.weights import atomic_write_bytes


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` with atomic writes; loading is Lightning's (``weights_only``)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(Path(path), buffer.getvalue())


class RunCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose state survives a resume into another run folder."""

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        previous_dir = state_dict.get("dirpath", self.dirpath)
        if self.dirpath is None or previous_dir is None or Path(self.dirpath) == Path(previous_dir):
            super().load_state_dict(state_dict)
            return
        copied: dict[str, str] = {}

        def bring(path: str | None) -> str:
            """The copy in this run's folder of a checkpoint of the previous run ("" if gone)."""
            if not path:
                return ""
            if path not in copied:
                source, target = Path(path), Path(self.dirpath) / Path(path).name
                if not source.is_file():
                    copied[path] = ""
                    return ""
                if rank_zero_only.rank == 0:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    partial = target.with_name(f".{target.name}.copy")
                    shutil.copy2(source, partial)
                    partial.replace(target)
                copied[path] = str(target)
            return copied[path]

        self.best_model_score = state_dict["best_model_score"]
        self.kth_value = state_dict.get("kth_value", self.kth_value)
        self.best_k_models = {
            bring(path): score
            for path, score in state_dict.get("best_k_models", {}).items()
            if bring(path)
        }
        self.kth_best_model_path = bring(state_dict.get("kth_best_model_path"))
        self.last_model_path = bring(state_dict.get("last_model_path"))
        self.best_model_path = bring(state_dict.get("best_model_path"))
