"""Language modeling: predict each next token (primer: "Recurrent Neural Networks", language
modeling; "Cross-Entropy Loss").

The loss is the mean cross-entropy per token in nats; the task also logs perplexity
(``exp`` of it) and bits per character. A recurrent model (``model.stateful``) on data whose
batches continue each other (``datamodule.carries_state``: batch k+1 holds the text that
follows batch k in every row) is trained with truncated backpropagation through time: its
final state after one window is the initial state of the next, detached so gradients flow
back one window only (Williams & Peng 1990; Elman 1990). Evaluation always carries the state
over the whole split. A model that reads each window afresh (a Transformer) ignores it.

A language model must be causal: a bidirectional recurrent model reads the tokens it is
asked to predict, and the training system refuses it for this task.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric

from zoo.tasks.base import ZooTask, mean_metric

STAGES = ("train", "val", "test")


def detach_state(state: Any) -> Any:
    """A recurrent state (a tensor or a tuple of them) cut from the graph that made it."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(detach_state(s) for s in state)
    return state


def state_batch_size(state: Any) -> int | None:
    """The batch size of a torch.nn-format recurrent state ``(layers, B, H)`` (or a tuple)."""
    if isinstance(state, torch.Tensor):
        return state.shape[1]
    if isinstance(state, tuple | list) and state:
        return state_batch_size(state[0])
    return None


class LanguageModelTask(ZooTask):
    """Train a next-token model; logs ``{stage}/loss`` (nats per token), ``{stage}/ppl``,
    ``{stage}/bpc`` and ``val/ppl_best``."""

    kind = "language_model"
    best_of = "val/ppl"
    target_kinds = ("next_token",)
    causal = True
    logged_metrics = {
        **{f"{stage}/{name}": "min" for stage in STAGES for name in ("loss", "ppl", "bpc")},
        "val/ppl_best": "min",
    }

    def __init__(
        self, model: nn.Module, optimizer: Any, scheduler: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(model, optimizer, scheduler, **kwargs)
        self.mean_loss = nn.ModuleDict({f"{s}_": mean_metric() for s in STAGES})
        self._states: dict[str, Any] = {}

    # -- truncated backpropagation through time ----------------------------------------------
    def carries_state(self, stage: str) -> bool:
        """Whether ``stage``'s batches continue each other for this model."""
        if not getattr(self.model, "stateful", False):
            return False
        if stage != "train":
            return True
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        return bool(getattr(datamodule, "carries_state", False))

    def next_token_logits(self, inputs: torch.Tensor, stage: str) -> torch.Tensor:
        """Logits (B, T, V) for every position of ``inputs`` (B, T)."""
        if not self.carries_state(stage):
            return self(inputs)
        state = self._states.get(stage)
        if state is not None and state_batch_size(state) != len(inputs):
            state = None  # a last, smaller batch starts afresh
        logits, state = self.model(inputs, state=state, return_state=True)
        self._states[stage] = detach_state(state)
        return logits

    # each epoch's state starts afresh
    def on_train_epoch_start(self) -> None:
        self._states.pop("train", None)

    def on_validation_epoch_start(self) -> None:
        self._states.pop("val", None)

    def on_test_epoch_start(self) -> None:
        self._states.pop("test", None)

    # -- steps ------------------------------------------------------------------------------
    def step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        inputs, targets = batch  # (B, T) token ids, targets shifted by one
        train = stage == "train"
        logits = self.next_token_logits(self.preprocess(inputs, train=train), stage)
        loss = F.cross_entropy(logits.flatten(0, -2), targets.flatten())  # nats per token
        self.accumulate(self.mean_loss[f"{stage}_"], loss.detach(), targets.numel())
        if train:
            self.log_step_value("train/loss_step", loss.detach())
        return self.regularized(loss) if train else loss

    def epoch_metrics(self, stage: str) -> dict[str, Metric]:
        return {"loss": self.mean_loss[f"{stage}_"]}

    def log_epoch(self, stage: str) -> dict[str, torch.Tensor]:
        values = super().log_epoch(stage)
        loss = values.get(f"{stage}/loss")
        if loss is not None:
            derived = {f"{stage}/ppl": loss.exp(), f"{stage}/bpc": loss / math.log(2.0)}
            self.log_dict(derived, prog_bar=stage != "train")
            values |= derived
        return values
