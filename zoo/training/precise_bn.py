"""Precise batch-norm statistics before each validation (Wu & Johnson 2021, "Rethinking
'Batch' in BatchNorm", Section 3; primer: "Batch Normalization").

In evaluation a batch-norm layer normalizes with its running statistics, an exponential
moving average (momentum 0.1) of the batch statistics seen in training. Early in a short
run, or with a large learning rate, those averages mix the statistics of weights long gone:
a deep network whose training loss has fallen then scores near chance in evaluation (ResNet-34
after two epochs on the digits: 0.10 with its running statistics, 0.89 with this callback;
scripts/train_every_model.py, results/measurements/every_model.json).

:class:`PreciseBatchNorm` is a Lightning callback: before each validation it recomputes every
batch-norm layer's statistics as the plain average over ``num_samples`` training samples,
passed through the current weights (``torch.optim.swa_utils.update_bn``), so evaluation, the
checkpoints and the exported model use the population statistics of the network as it is.
It costs one forward pass over ``num_samples`` images per validation, draws nothing from the
training random stream (a run's batches and augmentations stay the same with it or without
it) and does nothing for a model without batch norm. Off by default
(``callbacks=[default,precise_bn]``): the default model has no batch norm, and a long run's
moving averages are close enough.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from zoo.config.values import is_positive_int
from zoo.errors import ZooError

log = logging.getLogger(__name__)


def batch_norm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The batch-norm layers of ``model`` that keep running statistics."""
    return [
        module
        for module in model.modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats
    ]


class PreciseBatchNorm(L.Callback):
    """Recompute batch-norm running statistics from training batches before validating.

    Args:
        num_samples: training samples (whole batches, at least one) averaged per layer; Wu &
            Johnson find a few thousand enough on ImageNet (Fig. 2), and fewer suffice for
            small datasets.
    """

    def __init__(self, num_samples: int = 1024) -> None:
        if not is_positive_int(num_samples):
            raise ZooError(
                f"callbacks.precise_bn.num_samples must be an integer >= 1, got {num_samples!r}."
            )
        self.num_samples = num_samples
        self._layers: list[nn.modules.batchnorm._BatchNorm] = []  # set when fitting starts

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._layers = []
        if not getattr(pl_module, "calibrates_batch_norm", False):
            log.warning("precise_bn does nothing here: this task's model does not take the data")
            return
        self._layers = batch_norm_layers(pl_module.model)
        if not self._layers:
            log.warning("precise_bn does nothing here: the model has no batch-norm layer")

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loader = trainer.train_dataloader
        if trainer.sanity_checking or not self._layers or loader is None:
            return
        devices = [pl_module.device] if pl_module.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            update_bn(self._inputs(loader, pl_module), pl_module.model)
        self._average_over_ranks(trainer, self._layers)

    def _inputs(self, loader: Any, pl_module: L.LightningModule) -> Iterator[torch.Tensor]:
        """Training inputs as a training step feeds them (augmented, normalized, corrupted for
        a denoising autoencoder), ``num_samples`` of them."""
        seen = 0
        for batch in loader:
            batch = pl_module.transfer_batch_to_device(batch, pl_module.device, 0)
            inputs = pl_module.training_inputs(batch)  # (B, ...) as a training step makes them
            yield inputs
            seen += len(inputs)
            if seen >= self.num_samples:
                return

    @staticmethod
    def _average_over_ranks(
        trainer: L.Trainer, layers: list[nn.modules.batchnorm._BatchNorm]
    ) -> None:
        """Each rank averaged its own shard: give every rank the mean over ranks."""
        if trainer.world_size <= 1:
            return
        for layer in layers:
            for name in ("running_mean", "running_var"):
                buffer = getattr(layer, name)
                buffer.copy_(trainer.strategy.reduce(buffer.clone(), reduce_op="mean"))
