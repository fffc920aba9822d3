"""What every task shares: optimizer and scheduler from factories, weight decay through
parameter groups, the L1 penalty, batched augmentation and normalization on the device.

A task kind is one file in zoo/tasks/ holding a :class:`ZooTask` subclass that sets
:attr:`ZooTask.kind` and :attr:`ZooTask.target_kinds`, plus one file in configs/task/ that
instantiates it (a Hydra partial: the model, optimizer and scheduler are filled in by
:func:`zoo.training.run.train`) and names its monitored and optimized metrics."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR
from torchmetrics import MaxMetric, MeanMetric, Metric, MinMetric

from zoo.errors import ZooError
from zoo.registry import model_spec
from zoo.tasks.optim import l1_penalty, parameter_groups
from zoo.tasks.pending_updates import PendingUpdates

OptimizerFactory = Callable[..., Optimizer]


def mean_metric() -> MeanMetric:
    """A torchmetrics mean that keeps NaN and inf: a diverging loss must show in the
    epoch's value, which the task refuses in one line. torchmetrics' default drops NaN
    values with a warning, so an epoch with some NaN batches would look finite. A NaN is
    replaced by NaN (a float strategy); ``"disable"`` would skip the check but also drop
    the weights (torchmetrics 1.x), making the weighted mean a plain one."""
    return MeanMetric(nan_strategy=math.nan)


SchedulerFactory = Callable[..., dict[str, Any]]


def batch_inputs(batch: Any) -> Any:
    """The inputs of a batch: the first of an ``(inputs, targets)`` pair, else the batch."""
    return batch[0] if isinstance(batch, tuple | list) else batch


def _as_tuple(state: Any) -> Any:
    """``random.setstate`` wants the nested tuples that a checkpoint round trip may turn
    into lists."""
    return tuple(_as_tuple(s) for s in state) if isinstance(state, list | tuple) else state


class ZooTask(L.LightningModule):
    """A LightningModule around a plain ``nn.Module`` built by the registry.

    Args:
        model: the network; its ``state_dict`` is the task's under the ``model.`` prefix.
        optimizer: a factory (Hydra partial) taking parameter groups.
        scheduler: a factory from :mod:`zoo.tasks.schedulers`, or None for a constant rate.
        weight_decay: L2 strength, applied by the optimizer to weights but not to biases or
            normalization parameters.
        l1: L1 strength; ``l1 × Σ|w|`` is added to the training loss.
        augmentation: applied to training batches on the device, before normalization.
        normalization: applied to every batch; when None, taken from the datamodule at setup.
        channels_last: image batches in channels-last memory format.
        run_config: the run's resolved config, recorded in every checkpoint.
    """

    #: the task kind (:data:`zoo.kinds.TASK_KINDS`) models must declare to be trained here
    kind: ClassVar[str] = ""
    #: the data target kinds (:data:`zoo.kinds.TARGET_KINDS`) this task learns from
    target_kinds: ClassVar[tuple[str, ...]] = ()
    #: the metrics the task logs (what ``monitor.metric`` and ``optimized_metric`` may name),
    #: each with the direction that is better: "min" or "max"
    logged_metrics: ClassVar[dict[str, str]] = {}
    #: the validation metric whose best value so far is logged as ``<metric>_best`` (e.g.
    #: ``val/acc_best``), or None
    best_of: ClassVar[str | None] = None
    #: what to try when the loss diverges, in the one-line error
    divergence_hint: ClassVar[str] = "lower optimizer.lr or add regularization=grad_clip"
    #: whether the model's training forward pass is ``self(self.training_inputs(batch))``,
    #: through which :class:`zoo.training.precise_bn.PreciseBatchNorm` recomputes batch-norm
    #: statistics
    calibrates_batch_norm: ClassVar[bool] = True
    #: whether the model makes images of the data (an autoencoder's reconstructions, a GAN's
    #: samples): its ``image_size`` must be the data's
    makes_images: ClassVar[bool] = False
    #: whether ``data.holdout_classes`` applies: the task never predicts classes, so classes
    #: left out of training are not tested as if learnt (an autoencoder's are its anomalies)
    holds_out_classes: ClassVar[bool] = False
    #: regularization options (``regularization.<key>``) this task does not apply, each with
    #: why; :meth:`check_regularization` refuses them when set
    inapplicable_regularization: ClassVar[dict[str, str]] = {
        "label_smoothing": "label smoothing (Szegedy et al. 2016) softens the targets of a "
        "classifier's cross-entropy, which only task=classification implements.",
    }

    @classmethod
    def check_regularization(cls, regularization: Mapping[str, Any]) -> None:
        """Refuse, in one line, a regularization option set (not null, not 0) that this task
        does not apply (:attr:`inapplicable_regularization`)."""
        for key, why in cls.inapplicable_regularization.items():
            value = regularization.get(key)
            if value is not None and value != 0:
                raise ZooError(
                    f"regularization.{key}={value} does not apply to task={cls.kind}: {why}"
                )

    @classmethod
    def check_settings(
        cls,
        cfg: Mapping[str, Any],
        model_name: str,
        model_class: type | None,
        model_kwargs: Mapping[str, Any],
    ) -> None:
        """Refuse, in one line and before any work, settings of the run config ``cfg`` (its
        sections: ``task``, ``regularization``, ``trainer``, ``monitor``) that this task cannot
        honour with the model ``model_name`` (of class ``model_class``, built with
        ``model_kwargs``). Checked for every job of a sweep before the first one trains. The
        base task has no such rule; a task kind with one overrides this."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        *,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        augmentation: nn.Module | None = None,
        normalization: nn.Module | None = None,
        channels_last: bool = False,
        run_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.weight_decay = weight_decay
        self.l1 = l1
        self.augmentation = augmentation
        self.normalization = normalization
        #: image batches in channels-last memory format (``channels_last=true``)
        self.channels_last = channels_last
        #: the run's resolved config, recorded in every checkpoint (plain values)
        self.run_config = run_config
        #: the name of the loss being backpropagated, for the divergence error
        self.loss_name = "loss"
        self._pending_updates = PendingUpdates()
        #: this step's values for the loggers (see :meth:`log_step_value`)
        self._step_values: dict[str, torch.Tensor] = {}
        #: on an accelerator, whether every training loss since the last check was finite (a
        #: device tensor) and the first step it covers (see :meth:`on_before_backward`)
        self._finite_since_check: torch.Tensor | None = None
        self._first_unchecked_step = 0
        #: the global step whose weights the last validation measured (None before one): a
        #: run whose training ended after it validates its final weights (zoo.training.run)
        self.validated_step: int | None = None
        #: the global step of the checkpoint training resumed from (None if it did not)
        self.resumed_step: int | None = None
        #: whether early stopping had ended training when that checkpoint was written
        self._stopped_early = False
        if self.best_of is not None:
            better = self.logged_metrics[self.best_of]
            best = MaxMetric() if better == "max" else MinMetric()
            best.persistent(True)  # a resumed run keeps its best value
            # registered as e.g. ``val_acc_best``: the name checkpoints hold it under
            setattr(self, f"{self.best_of.replace('/', '_')}_best", best)

    def run_metrics(self) -> dict[str, str]:
        """The metrics this task logs with its model and options (those of
        :attr:`logged_metrics` that apply), each with its better direction."""
        return dict(self.logged_metrics)

    def unlogged_hint(self, metric: str) -> str:
        """What would make this task log ``metric``, one of :attr:`logged_metrics` that
        :meth:`run_metrics` leaves out ("" when there is nothing to say)."""
        return ""

    # -- data on the device -----------------------------------------------------------------
    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        normalization = getattr(datamodule, "normalization", None)
        if self.normalization is None and normalization is not None:
            self.normalization = normalization.to(self.device)
        example_input = getattr(datamodule, "example_input", None)  # zoo's data modules'
        if example_input is not None and self.example_input_array is None:
            # One training sample, preprocessed as in evaluation: what the model takes. The
            # model summary runs it (in eval mode) to count the FLOPs of one input.
            sample = example_input().to(self.device)
            self.example_input_array = self.preprocess(sample, train=False)

    def preprocess(self, x: torch.Tensor, *, train: bool) -> torch.Tensor:
        """Scale uint8 images to [0, 1], augment (training only), then normalize a batch."""
        return self.normalize(self.scale(x, train=train))

    def training_inputs(self, batch: Any) -> torch.Tensor:
        """What the model takes in a training step on ``batch``: its inputs, preprocessed."""
        inputs = batch_inputs(batch)
        return self.preprocess(inputs, train=True)

    def scale(self, x: torch.Tensor, *, train: bool) -> torch.Tensor:
        """The batch in its own units: uint8 images scaled to [0, 1], augmented in training
        (what autoencoders reconstruct and GANs imitate)."""
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        if train and self.augmentation is not None:
            x = self.augmentation(x)
        return x

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """The data's normalization (standardization), in the memory format of the run."""
        if self.normalization is not None:
            x = self.normalization(x)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)  # (N, C, H, W), NHWC in memory
        return x

    def forward(self, x: torch.Tensor) -> Any:
        return self.model(x)

    # -- logging ----------------------------------------------------------------------------
    # Each ``self.log`` call costs a quarter to a whole millisecond of Python (Lightning copies
    # the value's bookkeeping, a dataclass included, at every call), as much as a small model's
    # training step: metrics are logged once per epoch through ``self.log``, for checkpoints,
    # early stopping and the progress bar to see. Per-step values go straight to the loggers
    # on the steps they write (:meth:`log_step_value`), and steps keep their metric inputs
    # (:meth:`accumulate`), which reach each metric in one update when the epoch's value is
    # computed.
    def accumulate(self, metric: Metric, *values: Any) -> None:
        """``metric.update(*values)``, gathered with the other steps' values into one update
        before the metric is computed (see :mod:`zoo.tasks.pending_updates`)."""
        self._pending_updates.add(metric, *values)

    def epoch_metrics(self, stage: str) -> dict[str, Metric]:
        """The torchmetrics accumulated over an epoch of ``stage``, by short name."""
        return {}

    def log_epoch(self, stage: str) -> dict[str, torch.Tensor]:
        """Compute, reset and log ``stage``'s epoch metrics as ``<stage>/<name>`` (computing
        a torchmetrics metric gathers it across processes)."""
        metrics = self.epoch_metrics(stage)
        self._pending_updates.flush(metrics.values())
        if not any(metric.update_count for metric in metrics.values()):
            # an epoch without a batch has nothing to report: a run resumed from a checkpoint
            # that `trainer.max_steps` ended mid-epoch finishes that epoch with no step left
            for metric in metrics.values():
                metric.reset()
            return {}
        values = {f"{stage}/{name}": metric.compute() for name, metric in metrics.items()}
        for metric in metrics.values():
            metric.reset()
        loss = values.get(f"{stage}/loss")
        if stage != "test" and loss is not None and not torch.isfinite(loss):
            # finite training losses can still leave weights that overflow on other data:
            # stop here, before this epoch's checkpoints are written
            raise ZooError(
                f"training diverged: the {stage} loss is {loss.item()} after epoch "
                f"{self.current_epoch}; {self.divergence_hint}. The checkpoints written so far "
                "are kept."
            )
        if values:
            self.log_dict(values, prog_bar=True)
        return values

    def log_step_value(self, name: str, value: torch.Tensor) -> None:
        """Log a training value of this step, every ``trainer.log_every_n_steps`` steps.

        The values of one step are written to the loggers as one row at the end of the
        batch, under the step Lightning gives its own rows (the count of batches that
        stepped the optimizers, as its ``LearningRateMonitor`` does). They skip ``self.log``:
        nothing monitors them, and through it Lightning wrote each value at the next of its
        logging steps, labelled with that later step.
        """
        trainer = self._trainer
        if trainer is None or not trainer.loggers or trainer.log_every_n_steps <= 0:
            return
        if self._logged_step() % trainer.log_every_n_steps == 0:
            self._step_values[name] = value

    def _logged_step(self) -> int:
        return self.trainer.fit_loop.epoch_loop._batches_that_stepped

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if not self._step_values:
            return
        row = {name: value.item() for name, value in self._step_values.items()}
        row["epoch"] = self.current_epoch
        self._step_values.clear()
        for logger in self.trainer.loggers:
            logger.log_metrics(row, step=self._logged_step())

    def on_train_epoch_end(self) -> None:
        self.check_finite_losses()
        self.log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        """Log the validation metrics and the best of :attr:`best_of` so far; the sanity
        check's batches are discarded."""
        if self.trainer.sanity_checking:
            metrics = self.epoch_metrics("val").values()
            self._pending_updates.discard(metrics)
            for metric in metrics:
                metric.reset()
            return
        self.check_finite_losses()  # the epoch's checkpoints may be written at validation's end
        values = self.log_epoch("val")
        if self.best_of is not None and self.best_of in values:
            best = getattr(self, f"{self.best_of.replace('/', '_')}_best")
            best.update(values[self.best_of])  # not forward(): it computes twice
            self.log(f"{self.best_of}_best", best.compute(), prog_bar=True)

    def on_validation_end(self) -> None:
        if not self.trainer.sanity_checking:
            self.validated_step = self.global_step

    # -- steps --------------------------------------------------------------------------------
    def step(self, batch: Any, stage: str) -> torch.Tensor:
        """The loss of ``batch`` in ``stage`` ("train", "val" or "test"), with the stage's
        metrics updated; the training loss includes the regularization penalties."""
        raise NotImplementedError

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self.step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self.log_epoch("test")

    # -- divergence ---------------------------------------------------------------------------
    def on_before_backward(self, loss: torch.Tensor) -> None:
        """Stop at the first NaN or infinite training loss, before it reaches the weights:
        the last good checkpoint stays the last one written, and nothing is exported.

        On the CPU the loss is read at every step. On an accelerator reading it would make the
        host wait for the device at every step, so the steps' finiteness is kept on the
        device and read every ``trainer.log_every_n_steps`` steps and at the epoch's end,
        before any checkpoint of the epoch is written (see :meth:`check_finite_losses`)."""
        if self.reads_each_loss(loss):
            value = loss.item()  # a Python float: ~25x cheaper to test than torch.isfinite(loss)
            if not math.isfinite(value):
                raise ZooError(
                    f"training diverged: the {self.loss_name} is {value} at step "
                    f"{self.global_step} (epoch {self.current_epoch}); {self.divergence_hint}. "
                    "The checkpoints written so far are kept."
                )
            return
        finite = torch.isfinite(loss.detach())
        if self._finite_since_check is None:
            self._finite_since_check, self._first_unchecked_step = finite, self.global_step
        else:
            self._finite_since_check = self._finite_since_check & finite
        trainer = self._trainer
        interval = trainer.log_every_n_steps if trainer is not None else 1
        if self.global_step - self._first_unchecked_step + 1 >= max(1, interval):
            self.check_finite_losses()

    def reads_each_loss(self, loss: torch.Tensor) -> bool:
        """Whether each training loss is read as it comes: on the CPU, where reading it
        costs nothing but the read."""
        return loss.device.type == "cpu"

    def check_finite_losses(self) -> None:
        """Raise the divergence error if a training loss kept on the device since the last
        check was NaN or infinite (a host-device synchronization; nothing to do on the CPU,
        whose losses are checked as they come)."""
        finite, first = self._finite_since_check, self._first_unchecked_step
        self._finite_since_check = None
        if finite is not None and not bool(finite):
            raise ZooError(
                f"training diverged: the {self.loss_name} was NaN or infinite at a step from "
                f"{first} to {self.global_step} (epoch {self.current_epoch}); "
                f"{self.divergence_hint}. The checkpoints written so far are kept."
            )

    # -- regularization ---------------------------------------------------------------------
    def regularized(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss`` plus the L1 penalty when one is configured."""
        if self.l1 > 0:
            penalty = l1_penalty(self.model)
            self.log_step_value("train/l1_penalty", penalty.detach())
            loss = loss + self.l1 * penalty
        return loss

    # -- checkpoints --------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record how to rebuild the model, so a checkpoint loads without the run's config
        (see :func:`zoo.load_checkpoint`); plain types only, loadable with
        ``weights_only=True``."""
        checkpoint["zoo"] = {
            "model": model_spec(self.model),
            "config": self.run_config,
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
        }
        if torch.cuda.is_initialized():  # is_available() costs ~0.5 ms per checkpoint
            checkpoint["zoo"]["rng"]["cuda"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the random state, so a resumed run draws the same augmentations and
        dropout masks as an uninterrupted one, and note the step it resumes from."""
        if self.trainer.state.fn != "fit":
            return
        self.resumed_step = checkpoint.get("global_step")
        self._stopped_early = stopped_early(checkpoint)
        rng = checkpoint.get("zoo", {}).get("rng")
        if not rng:
            return
        torch.set_rng_state(rng["torch"])
        random.setstate(_as_tuple(rng["python"]))
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])

    def on_train_start(self) -> None:
        """Give a resumed run's optimizer the rate of its schedule at the step it resumes
        from. The checkpoint restores the rate its schedule had set; when the run trains on
        for longer, the stretched schedule (a ``LambdaLR`` of the total steps, e.g. cosine)
        has another rate there, which ``LambdaLR`` would set only after the first step.

        A run resumed from a checkpoint written after early stopping ended its training
        (killed while testing or exporting) trains no further, as the uninterrupted run did
        not (Lightning restores the callback's counters, not its decision); and the optimizer
        state it restored must fit the parameters (a crafted checkpoint's would fail inside
        the optimizer's step)."""
        if self._stopped_early and any(
            isinstance(callback, EarlyStopping) for callback in self.trainer.callbacks
        ):
            self.trainer.should_stop = True
        for optimizer in self.trainer.optimizers:
            check_optimizer_state(optimizer)
        for config in self.trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            if isinstance(scheduler, LambdaLR) and scheduler.last_epoch > 0:
                rates = [  # LambdaLR's closed form: base rate × factor(step)
                    base * factor(scheduler.last_epoch)
                    for factor, base in zip(scheduler.lr_lambdas, scheduler.base_lrs, strict=True)
                ]
                for group, rate in zip(scheduler.optimizer.param_groups, rates, strict=True):
                    group["lr"] = rate
                scheduler._last_lr = list(rates)  # what get_last_lr() and the monitor read

    # -- optimization -----------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(parameter_groups(self.model, self.weight_decay))
        if self.scheduler_factory is None:
            return optimizer
        total_steps = max(1, int(self.trainer.estimated_stepping_batches))
        max_epochs = (
            self.trainer.max_epochs
            if self.trainer.max_epochs and self.trainer.max_epochs > 0
            else 1
        )
        steps_per_epoch = max(1, math.ceil(total_steps / max_epochs))
        scheduler = self.scheduler_factory(
            optimizer, total_steps=total_steps, steps_per_epoch=steps_per_epoch
        )
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


def stopped_early(checkpoint: dict[str, Any]) -> bool:
    """Whether an early-stopping callback had stopped training when ``checkpoint`` was written
    (Lightning's ``EarlyStopping`` records why it stopped, 0 for not at all)."""
    for key, state in (checkpoint.get("callbacks") or {}).items():
        early_stopping = str(key).startswith("EarlyStopping") and isinstance(state, dict)
        if early_stopping and state.get("stopping_reason") not in (None, 0):
            return True
    return False


def check_optimizer_state(optimizer: Optimizer) -> None:
    """Refuse, in one line, an optimizer state restored from a checkpoint whose tensors do not
    have their parameter's shape (Adam's moments, SGD's momentum): a crafted checkpoint's would
    fail deep inside the optimizer's first step."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            for name, value in optimizer.state.get(parameter, {}).items():
                shaped = isinstance(value, torch.Tensor) and value.dim() > 0
                if shaped and value.shape != parameter.shape:
                    raise ZooError(
                        f"the checkpoint's {type(optimizer).__name__} state holds {name} of "
                        f"shape {tuple(value.shape)} for a parameter of shape "
                        f"{tuple(parameter.shape)}: it was not written by this run's model, "
                        "or was altered, so it is not resumed."
                    )
