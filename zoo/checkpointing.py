"""Training checkpoints written atomically.

Lightning's ``TorchCheckpointIO`` opens the target file for writing and then streams into
it, so a kill during the write leaves a truncated ``last.ckpt`` in place of the previous
good one. :class:`AtomicCheckpointIO` serializes the checkpoint in memory, writes it to a
temporary file beside the target, flushes and fsyncs it, and renames it over the target:
at any moment the folder holds the previous checkpoint or the new one, whole.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

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
