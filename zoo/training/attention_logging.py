"""Attention maps in the training logs (primer: "Attention Mechanism": attention weights show
what a model attends to).

:class:`AttentionMapLogger` is a Lightning callback: at the end of each validation epoch it
draws the attention of the trained model for one fixed validation example (the first of the
first validation batch) and hands the figure to every logger that takes figures
(TensorBoard's ``add_figure``). It does nothing for a model without ``attention_maps`` or
without such a logger, so it is part of the default callbacks (and the run leaves it out for
a model without attention maps).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from zoo.models.layers import evaluating
from zoo.tasks.base import batch_inputs


def _figure_loggers(trainer: L.Trainer) -> list[Any]:
    return [
        logger.experiment
        for logger in trainer.loggers
        if hasattr(getattr(logger, "experiment", None), "add_figure")
    ]


class AttentionMapLogger(L.Callback):
    """Log the last layer's attention (mean over heads) for a fixed validation example."""

    def __init__(self, max_tokens: int = 64) -> None:
        self.max_tokens = max_tokens
        self.example: torch.Tensor | None = None

    @staticmethod
    def has_work(model: torch.nn.Module) -> bool:
        """Whether ``model`` gives attention maps to draw (the run leaves the callback out
        when it does not: Lightning calls every hook of every callback at every step)."""
        return hasattr(model, "attention_maps")

    def _active(self, trainer: L.Trainer, pl_module: L.LightningModule) -> bool:
        model = getattr(pl_module, "model", None)
        return self.has_work(model) and bool(_figure_loggers(trainer))

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self.example is None and batch_idx == 0 and self._active(trainer, pl_module):
            inputs = batch_inputs(batch)
            self.example = inputs[:1, : self.max_tokens].detach().clone()

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.example is None or not trainer.is_global_zero:
            return
        loggers = _figure_loggers(trainer)
        if not loggers:
            return
        figure = self.draw(trainer, pl_module)
        for experiment in loggers:
            experiment.add_figure("val/attention", figure, global_step=trainer.global_step)

    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        from zoo.figures.attention import draw_attention, draw_vit_attention
        from zoo.models.vit import VisionTransformer

        model = pl_module.model
        with evaluating(model), torch.no_grad():
            example = pl_module.preprocess(self.example.to(pl_module.device), train=False)
            if isinstance(model, VisionTransformer):
                figure = draw_vit_attention(model, example, title=f"epoch {trainer.current_epoch}")
            else:
                weights = model.attention_maps(example)[-1][0].mean(dim=0)  # (Tq, Tk)
                figure = draw_attention(
                    weights,
                    self.labels(trainer, example, weights.shape[-1]),
                    title=f"last layer, mean of heads, epoch {trainer.current_epoch}",
                )
        return figure

    @staticmethod
    def labels(trainer: L.Trainer, example: torch.Tensor, keys: int) -> list[str] | None:
        """The characters of a text example (the data's vocabulary), or None."""
        vocab = getattr(getattr(trainer, "datamodule", None), "vocab", None)
        if vocab is None or example.is_floating_point() or example.shape[-1] != keys:
            return None
        return list(vocab.decode(example[0]))
