"""Classification (primer: "Cross-Entropy Loss", "Softmax") of images, vectors and
sequences: one class per input, or one per step when the model gives (B, T, C) logits for
(B, T) targets (the copy task, sequence labelling).

Cross-entropy with optional label smoothing, torchmetrics accuracy, and the weighted
auxiliary-classifier losses of GoogLeNet/Inception (0.3 as in the papers) when a model
returns auxiliary logits in training mode.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy

from zoo.tasks.base import ZooTask, batch_inputs, mean_metric

STAGES = ("train", "val", "test")


def split_logits(output: Any) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Main logits and auxiliary logits from a model's output (a tensor, tuple or namedtuple)."""
    if isinstance(output, torch.Tensor):
        return output, []
    main, *aux = output
    return main, [a for a in aux if a is not None]


class ClassificationTask(ZooTask):
    """Train a classifier; logs ``{train,val,test}/{loss,acc}`` and ``val/acc_best``."""

    kind = "classification"
    inapplicable_regularization: ClassVar[dict[str, str]] = {}  # it smooths its labels
    best_of = "val/acc"
    target_kinds = ("class",)
    logged_metrics = {
        "train/loss": "min",
        "train/acc": "max",
        "val/loss": "min",
        "val/acc": "max",
        "val/acc_best": "max",
        "test/loss": "min",
        "test/acc": "max",
    }

    def __init__(
        self,
        model: nn.Module,
        optimizer: Any,
        scheduler: Any = None,
        *,
        num_classes: int,
        label_smoothing: float = 0.0,
        aux_loss_weight: float = 0.3,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, optimizer, scheduler, **kwargs)
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.aux_loss_weight = aux_loss_weight
        # ModuleDict keys may not shadow nn.Module attributes such as ``train``. The
        # accuracy does not check its inputs (validate_args): the cross-entropy beside it
        # already refuses a target outside the classes, and the check cost ~70 µs a step,
        # half of LeNet-5's forward pass on the digits.
        self.accuracy = nn.ModuleDict(
            {
                f"{stage}_": MulticlassAccuracy(num_classes, average="micro", validate_args=False)
                for stage in STAGES
            }
        )
        self.mean_loss = nn.ModuleDict({f"{stage}_": mean_metric() for stage in STAGES})

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets, label_smoothing=self.label_smoothing)

    def step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        inputs, targets = batch
        train = stage == "train"
        logits, aux_logits = split_logits(self(self.preprocess(inputs, train=train)))
        if logits.ndim > 2:  # one class per step (B, T, C) against targets (B, T)
            logits, targets = logits.flatten(0, -2), targets.flatten()
            aux_logits = [a.flatten(0, -2) for a in aux_logits]
        loss = self.loss(logits, targets)
        if train and aux_logits:
            loss = loss + self.aux_loss_weight * sum(self.loss(a, targets) for a in aux_logits)
        self.accumulate(self.mean_loss[f"{stage}_"], loss.detach(), len(targets))
        self.accumulate(self.accuracy[f"{stage}_"], logits.argmax(-1), targets)
        if train:
            self.log_step_value("train/loss_step", loss.detach())
        return self.regularized(loss) if train else loss

    def epoch_metrics(self, stage: str) -> dict[str, Metric]:
        return {"loss": self.mean_loss[f"{stage}_"], "acc": self.accuracy[f"{stage}_"]}

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        inputs = batch_inputs(batch)
        logits, _ = split_logits(self(self.preprocess(inputs, train=False)))
        return logits.softmax(dim=-1)
