"""Adversarial training (primer: "Generative Adversarial Networks"; Goodfellow et al. 2014,
Algorithm 1) with Lightning's manual optimization.

Each training batch of real images, scaled to [-1, 1] like the generator's Tanh output,
updates the discriminator D once: binary cross-entropy of its logits on the real images
(label 1) and on as many generated ones (label 0). Every ``discriminator_steps``-th batch
then updates the generator G once with the non-saturating loss, -log D(G(z)) (the paper's
section 3 remedy for G's vanishing gradient early in training). Each network has its own
optimizer, built from the run's ``optimizer`` config (Adam 2e-4, betas (0.5, 0.999) with
``task=gan``, as in DCGAN), its rate overridable per network (``generator_lr``,
``discriminator_lr``); while one network steps, the other's parameters take no gradient
(so ``regularization=l1`` penalizes each network in its own step, and ``l2`` is each
optimizer's weight decay).

Logged: ``train/d_loss``, ``train/g_loss``, ``train/d_real`` and ``train/d_fake`` (D's mean
probability that real and generated images are real); at each validation epoch, the sample
quality of generated images against the validation images (:mod:`zoo.tasks.quality`: ``val/fid``,
``val/classifier_score``, ``val/confidence``; ``val/fid_best``), and a grid of samples from
fixed noise written under the run folder (``images/samples_epochNNN.png``) and to
TensorBoard. Checkpoints hold both networks and both optimizers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from zoo.config.values import is_int, is_int_or_float, is_positive_int
from zoo.errors import ZooError
from zoo.kinds import TARGET_KINDS
from zoo.tasks.base import ZooTask, batch_inputs, mean_metric
from zoo.tasks.optim import parameter_groups

STAGES = ("val", "test")


class GANTask(ZooTask):
    """Train a :class:`zoo.models.gan.GAN` (a generator and a discriminator).

    Args:
        discriminator_steps: k, discriminator updates per generator update.
        generator_lr, discriminator_lr: learning rates overriding the optimizer config's.
        quality_classifier: the weights of the classifier whose features score the samples
            (:mod:`zoo.tasks.quality`), or None to skip the scores.
        num_samples: images in the fixed-noise grid.
        sample_seed: the seed of the grid's fixed noise (drawn without touching the global
            random state, so a resumed run draws as an uninterrupted one).
    """

    kind = "gan"
    makes_images = True
    holds_out_classes = True  # it learns to draw the others
    best_of = "val/fid"
    divergence_hint = "lower optimizer.lr (or task.generator_lr, task.discriminator_lr)"
    calibrates_batch_norm = False  # the generator takes noise, not the data
    target_kinds = TARGET_KINDS  # the data's targets are ignored
    inapplicable_regularization: ClassVar[dict[str, str]] = {
        **ZooTask.inapplicable_regularization,
        "grad_clip": "it steps its two optimizers itself, where Lightning's gradient clipping "
        "does not apply; leave grad_clip out (lower optimizer.lr, or task.discriminator_lr, "
        "for a steadier game).",
    }
    logged_metrics = {
        "train/d_loss": "min",
        "train/g_loss": "min",
        "train/d_real": "max",
        "train/d_fake": "min",
        **{f"{stage}/fid": "min" for stage in STAGES},
        **{f"{stage}/classifier_score": "max" for stage in STAGES},
        **{f"{stage}/confidence": "max" for stage in STAGES},
        "val/fid_best": "min",
    }

    @classmethod
    def check_settings(
        cls,
        cfg: Mapping[str, Any],
        model_name: str,
        model_class: type | None,
        model_kwargs: Mapping[str, Any],
    ) -> None:
        """A metric to keep the best epoch by; no gradient accumulation, which does not apply
        to a task that steps its two optimizers itself (nor does grad_clip:
        :attr:`inapplicable_regularization`)."""
        task = cfg.get("task") or {}
        monitored = (cfg.get("monitor") or {}).get("metric")
        if task.get("quality_classifier") is None and monitored == "val/fid":
            raise ZooError(
                "task.quality_classifier=null leaves no val/fid, the metric checkpointing keeps "
                "the best epoch by (monitor.metric); keep the classifier (lenet5.digits), or "
                "watch a training metric: monitor.metric=train/g_loss monitor.mode=min."
            )
        accumulate = (cfg.get("trainer") or {}).get("accumulate_grad_batches", 1)
        if accumulate not in (None, 1):
            raise ZooError(
                f"trainer.accumulate_grad_batches={accumulate}: task=gan steps its optimizers "
                "every batch; use a larger data.batch_size instead."
            )

    def __init__(
        self,
        model: nn.Module,
        optimizer: Any,
        scheduler: Any = None,
        *,
        discriminator_steps: int = 1,
        generator_lr: float | None = None,
        discriminator_lr: float | None = None,
        quality_classifier: str | None = "lenet5.digits",
        num_samples: int = 64,
        sample_seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, optimizer, scheduler, **kwargs)
        self.automatic_optimization = False
        for key, value in (
            ("discriminator_steps", discriminator_steps),
            ("num_samples", num_samples),
        ):
            if not is_positive_int(value):
                raise ZooError(f"task.{key} must be an integer >= 1, got {value!r}.")
        for key, value in (("generator_lr", generator_lr), ("discriminator_lr", discriminator_lr)):
            if value is not None and (not is_int_or_float(value) or value <= 0):
                raise ZooError(f"task.{key} must be a number > 0 or null, got {value!r}.")
        if not (is_int(sample_seed) and sample_seed >= 0):
            raise ZooError(f"task.sample_seed must be an integer >= 0, got {sample_seed!r}.")
        if not (hasattr(model, "generator") and hasattr(model, "discriminate")):
            raise ZooError(
                f"task=gan trains a generator and a discriminator (model=dcgan or gan); "
                f"{type(model).__name__} has no generator."
            )
        self.discriminator_steps = discriminator_steps
        self.learning_rates = {"generator": generator_lr, "discriminator": discriminator_lr}
        self.num_samples = num_samples
        self.sample_seed = sample_seed
        self.train_metrics = nn.ModuleDict(
            {name: mean_metric() for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        )
        quality = None
        if quality_classifier is not None:
            from zoo.tasks.quality import SampleQuality

            quality = SampleQuality(quality_classifier)
        # Kept out of the module tree: a fixed measuring instrument, not part of the task's
        # state (checkpoints, the model summary, Lightning's train/eval mode switching).
        self.__dict__["quality"] = quality
        self._samples_of_stage = 0

    # -- data ---------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        super().setup(stage)
        if self.quality is not None:
            self.quality.to(self.device)
        # the model summary counts the FLOPs of the generator on one code
        self.example_input_array = torch.zeros(1, self.model.latent_dim, device=self.device)

    def real_images(self, batch: Any, *, train: bool) -> torch.Tensor:
        """A batch of real images in [-1, 1], the generator's range."""
        inputs = batch_inputs(batch)
        return self.scale(inputs, train=train) * 2.0 - 1.0

    # -- training -----------------------------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> None:
        optimizer_g, optimizer_d = self.optimizers()
        real = self.real_images(batch, train=True)  # (B, C, H, W) in [-1, 1]
        batch_size = len(real)
        model = self.model

        # discriminator: real images → 1, generated images → 0
        self.toggle_optimizer(optimizer_d)
        fake = model(model.noise(batch_size)).detach()
        logits_real, logits_fake = model.discriminate(real), model.discriminate(fake)
        d_loss = F.binary_cross_entropy_with_logits(
            logits_real, torch.ones_like(logits_real)
        ) + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))
        optimizer_d.zero_grad(set_to_none=True)
        self.loss_name = "discriminator loss"
        self.manual_backward(self.regularized(d_loss))
        optimizer_d.step()
        self.untoggle_optimizer(optimizer_d)
        self.accumulate(self.train_metrics["d_loss"], d_loss.detach())
        self.accumulate(self.train_metrics["d_real"], torch.sigmoid(logits_real.detach()).mean())
        self.accumulate(self.train_metrics["d_fake"], torch.sigmoid(logits_fake.detach()).mean())

        # generator, every k-th batch: the non-saturating loss -log D(G(z))
        if (batch_idx + 1) % self.discriminator_steps == 0:
            self.toggle_optimizer(optimizer_g)
            logits = model.discriminate(model(model.noise(batch_size)))
            g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            optimizer_g.zero_grad(set_to_none=True)
            self.loss_name = "generator loss"
            self.manual_backward(self.regularized(g_loss))
            optimizer_g.step()
            self.untoggle_optimizer(optimizer_g)
            self.accumulate(self.train_metrics["g_loss"], g_loss.detach())
            self.log_step_value("train/g_loss_step", g_loss.detach())
        self.log_step_value("train/d_loss_step", d_loss.detach())
        self.step_schedulers("step")

    def on_train_epoch_end(self) -> None:
        self.check_finite_losses()
        self._pending_updates.flush(self.train_metrics.values())
        values = {
            f"train/{name}": metric.compute()
            for name, metric in self.train_metrics.items()
            if metric.update_count
        }
        for metric in self.train_metrics.values():
            metric.reset()
        for name in ("train/d_loss", "train/g_loss"):
            if name in values and not torch.isfinite(values[name]):
                raise ZooError(
                    f"training diverged: {name} is {values[name].item()} after epoch "
                    f"{self.current_epoch}; {self.divergence_hint}. The checkpoints written so "
                    "far are kept."
                )
        self.log_dict(values, prog_bar=True)
        self.step_schedulers("epoch")

    def step_schedulers(self, interval: str) -> None:
        if self.scheduler_factory is None:
            return
        for config in self._scheduler_configs:
            if config["interval"] == interval and (
                interval == "epoch" or self.global_step % config.get("frequency", 1) == 0
            ):
                config["scheduler"].step()

    # -- evaluation ---------------------------------------------------------------------------
    def fixed_noise(self, n: int, offset: int = 0) -> torch.Tensor:
        """The same ``n`` codes at every call (``offset`` selects another fixed set)."""
        generator = torch.Generator().manual_seed(self.sample_seed + offset)
        return self.model.noise(n, generator=generator)

    def step(self, batch: Any, stage: str) -> None:
        if self.quality is None:
            return
        real = (self.real_images(batch, train=False) + 1.0) / 2.0
        codes = self.fixed_noise(len(real), offset=1 + self._samples_of_stage)
        self._samples_of_stage += len(real)
        fake = (self.model(codes) + 1.0) / 2.0
        self.quality.update(real, real=True)
        self.quality.update(fake, real=False)

    def log_quality(self, stage: str) -> dict[str, torch.Tensor]:
        self._samples_of_stage = 0
        if self.quality is None or not self.quality.score.features:
            return {}
        scores = self.quality.compute()
        self.quality.reset()
        values = {
            f"{stage}/{name}": scores[name] for name in ("fid", "classifier_score", "confidence")
        }
        self.log_dict(values, prog_bar=stage == "val")
        return values

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            if self.quality is not None:
                self.quality.reset()
            self._samples_of_stage = 0
            return
        self.check_finite_losses()
        values = self.log_quality("val")
        if "val/fid" in values:
            self.val_fid_best.update(values["val/fid"])
            self.log("val/fid_best", self.val_fid_best.compute(), prog_bar=True)
        self.log_samples()

    def on_test_epoch_end(self) -> None:
        self.log_quality("test")

    def log_samples(self) -> None:
        """The fixed-noise grid of this epoch, as PNG and in TensorBoard."""
        from zoo.figures.grids import log_image_grid

        samples = (self.model(self.fixed_noise(self.num_samples)) + 1.0) / 2.0
        rows = samples.split(8)
        if len(rows[-1]) != len(rows[0]):
            rows = rows[:-1] or rows
        log_image_grid(self.trainer, "samples", rows)

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """Images in [0, 1] generated from a batch of codes."""
        codes = batch_inputs(batch)
        return (self.model(codes) + 1.0) / 2.0

    # -- optimization -------------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        optimizers = []
        for name in ("generator", "discriminator"):
            groups = parameter_groups(getattr(self.model, name), self.weight_decay)
            lr = self.learning_rates[name]
            if lr is not None:
                groups = [{**group, "lr": lr} for group in groups]
            optimizers.append(self.optimizer_factory(groups))
        self._scheduler_configs = []
        if self.scheduler_factory is not None:
            total_steps = max(1, int(self.trainer.estimated_stepping_batches))
            epochs = self.trainer.max_epochs if (self.trainer.max_epochs or 0) > 0 else 1
            steps_per_epoch = max(1, -(-total_steps // epochs))
            self._scheduler_configs = [
                self.scheduler_factory(o, total_steps=total_steps, steps_per_epoch=steps_per_epoch)
                for o in optimizers
            ]
            return optimizers, [c["scheduler"] for c in self._scheduler_configs]
        return optimizers
