"""Autoencoding (primer: "Autoencoders"): the target is the input itself.

The model sees the batch normalized as the data says (and corrupted first, for a denoising
autoencoder: ``noise``), and reconstructs the clean batch in its own units, images in [0, 1].
The reconstruction loss of one image is its summed squared error (``loss: mse``) or summed
binary cross-entropy (``loss: bce``, for outputs and targets in [0, 1]); a variational
autoencoder adds ``beta`` times the KL divergence of its posterior from the prior, in closed
form (Kingma & Welling 2014; beta ≠ 1 is the β-VAE of Higgins et al. 2017). The data's
targets, when it has any (digit classes), are not used.

Logged per stage: ``loss`` (per image, what is minimized), ``mse`` (per pixel, comparable
across models and with PCA; for a VAE in validation and test, of the reconstruction from
the posterior mean, as :mod:`zoo.apps.autoencode` and ``predict`` give, not of one sampled
code), for a VAE ``recon`` and ``kl`` (per image, one sampled code), and for a VAE with
``loss: bce`` ``elbo`` (-recon - kl per image under its Bernoulli decoder: a lower bound on
log p(x) in nats for binary images; for grey levels in [0, 1] the Bernoulli is not a
normalized density, the continuous Bernoulli of Loaiza-Ganem & Cunningham 2019 is, so
there it bounds no likelihood exactly; with ``mse`` the sum is no likelihood bound, so it
is not logged); ``val/mse_best``.
At the end of each validation epoch a grid of the first validation images (noisy inputs when
denoising), their reconstructions (and the clean images) is written under the run folder
(``images/reconstructions_epochNNN.png``) and to TensorBoard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanSquaredError, Metric

from zoo.augment.noise import check_noise, corrupt
from zoo.config.values import is_int_or_float
from zoo.errors import ZooError
from zoo.kinds import TARGET_KINDS
from zoo.models.autoencoder import VAEOutput, kl_divergence
from zoo.tasks.base import ZooTask, batch_inputs, mean_metric

STAGES = ("train", "val", "test")
LOSSES = ("mse", "bce")
#: a VAE's metrics: its two terms, and its ELBO where it is one (loss: bce)
VAE_METRICS = ("recon", "kl", "elbo")
GRID_IMAGES = 8


def reconstruction_loss(
    reconstruction: torch.Tensor, target: torch.Tensor, kind: str
) -> torch.Tensor:
    """The reconstruction error of each input, summed over its values: (B, ...) → (B,).
    Binary cross-entropy is computed in float32 outside mixed precision, which refuses it
    on CUDA (its logarithms are unsafe in half precision)."""
    if kind == "mse":
        error = (reconstruction - target).square()
    else:
        with torch.autocast(reconstruction.device.type, enabled=False):
            error = F.binary_cross_entropy(reconstruction.float(), target.float(), reduction="none")
    return error.flatten(1).sum(dim=1)


class AutoencoderTask(ZooTask):
    """Train an autoencoder (plain, denoising or variational) on any image or vector data.

    Args:
        loss: "mse" or "bce" (the model's outputs and the data must lie in [0, 1]).
        beta: the weight of the KL term of a variational autoencoder (1: the ELBO).
        noise: the corruption of a denoising autoencoder (:mod:`zoo.augment.noise`): "none",
            "gaussian", "masking" or "salt_and_pepper", applied in every stage.
        noise_level: its standard deviation (gaussian) or probability (the others).
    """

    kind = "autoencoder"
    makes_images = True
    holds_out_classes = True  # they are its anomalies
    best_of = "val/mse"
    target_kinds = TARGET_KINDS  # the data's targets are ignored
    logged_metrics = {
        **{f"{stage}/{name}": "min" for stage in STAGES for name in ("loss", "mse", "recon", "kl")},
        **{f"{stage}/elbo": "max" for stage in STAGES},
        "val/mse_best": "min",
    }

    def __init__(
        self,
        model: nn.Module,
        optimizer: Any,
        scheduler: Any = None,
        *,
        loss: str = "mse",
        beta: float = 1.0,
        noise: str = "none",
        noise_level: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, optimizer, scheduler, **kwargs)
        if loss not in LOSSES:
            raise ZooError(f"task.loss must be one of {', '.join(LOSSES)}, got {loss!r}.")
        if not is_int_or_float(beta) or beta < 0:
            raise ZooError(f"task.beta must be a number >= 0, got {beta!r}.")
        check_noise(noise, noise_level)
        self.loss_kind = loss
        self.beta = float(beta)
        self.noise = noise
        self.noise_level = float(noise_level)
        self.mean_loss = nn.ModuleDict({f"{s}_": mean_metric() for s in STAGES})
        self.mse = nn.ModuleDict({f"{s}_": MeanSquaredError() for s in STAGES})
        # the metrics of a VAE's two terms, and of its ELBO where it is one (bce)
        self.vae_metrics = nn.ModuleDict(
            {f"{s}_{name}": mean_metric() for s in STAGES for name in self.vae_metric_names}
        )
        self._grid: list[torch.Tensor] | None = None

    @classmethod
    def check_settings(
        cls,
        cfg: Mapping[str, Any],
        model_name: str,
        model_class: type | None,
        model_kwargs: Mapping[str, Any],
    ) -> None:
        """A BCE loss only on outputs in [0, 1]; ``task.beta`` only for a variational model."""
        task = cfg.get("task") or {}
        if task.get("loss") == "bce" and model_kwargs.get("output_activation", "none") != "sigmoid":
            fix = (
                " (model.output_activation=none); set model.output_activation=sigmoid or "
                if "output_activation" in model_kwargs
                else "; use "
            )
            raise ZooError(
                "task.loss=bce compares outputs in [0, 1] with the images, but model "
                f"{model_name!r} gives unbounded outputs{fix}task.loss=mse."
            )
        beta = task.get("beta")
        if beta not in (None, 1, 1.0) and not hasattr(model_class, "posterior"):
            raise ZooError(
                f"task.beta={beta} weighs a variational autoencoder's KL term, but model "
                f"{model_name!r} has none; use model=vae or conv_vae, or leave task.beta=1."
            )

    @property
    def variational(self) -> bool:
        return hasattr(self.model, "posterior")

    @property
    def vae_metric_names(self) -> tuple[str, ...]:
        """The VAE metrics this task logs: none for a plain autoencoder, ``elbo`` with the
        Bernoulli likelihood (``loss: bce``) only."""
        if not self.variational:
            return ()
        return tuple(m for m in VAE_METRICS if m != "elbo" or self.loss_kind == "bce")

    def run_metrics(self) -> dict[str, str]:
        """The logged metrics less the VAE metrics this model and loss do not log."""
        left_out = set(VAE_METRICS) - set(self.vae_metric_names)
        return {
            metric: mode
            for metric, mode in self.logged_metrics.items()
            if metric.split("/")[-1] not in left_out
        }

    def unlogged_hint(self, metric: str) -> str:
        name = metric.split("/")[-1]
        if name not in VAE_METRICS:
            return ""
        return "a VAE (vae, conv_vae) logs it" + (" with task.loss=bce" if name == "elbo" else "")

    def corrupt(self, clean: torch.Tensor) -> torch.Tensor:
        """The model's input before normalization: ``clean`` corrupted by the task's noise."""
        return clean if self.noise == "none" else corrupt(clean, self.noise, self.noise_level)

    def training_inputs(self, batch: Any) -> torch.Tensor:
        """The corrupted (denoising) and normalized training images the model takes."""
        inputs = batch_inputs(batch)
        return self.normalize(self.corrupt(self.scale(inputs, train=True)))

    def step(self, batch: Any, stage: str) -> torch.Tensor:
        inputs = batch_inputs(batch)
        train = stage == "train"
        clean = self.scale(inputs, train=train)  # the target, (B, C, H, W) in [0, 1]
        if self.loss_kind == "bce" and clean.device.type == "cpu":
            low, high = float(clean.min()), float(clean.max())
            if low < 0 or high > 1:
                raise ZooError(
                    f"task.loss=bce needs data in [0, 1], but this batch spans [{low:.3g}, "
                    f"{high:.3g}]; use task.loss=mse."
                )
        noisy = self.corrupt(clean)
        output = self(self.normalize(noisy))
        if isinstance(output, VAEOutput):
            reconstruction = output.reconstruction
            recon = reconstruction_loss(reconstruction, clean, self.loss_kind)  # (B,)
            kl = kl_divergence(output.mean, output.log_var)  # (B,)
            loss = (recon + self.beta * kl).mean()
            terms = {"recon": recon, "kl": kl, "elbo": -(recon + kl)}
            for name in self.vae_metric_names:
                self.accumulate(self.vae_metrics[f"{stage}_{name}"], terms[name].detach())
            if not train:  # the deterministic reconstruction, from the posterior mean
                reconstruction = self.model.decode(output.mean)
        else:
            reconstruction = output
            loss = reconstruction_loss(reconstruction, clean, self.loss_kind).mean()
        self.accumulate(self.mean_loss[f"{stage}_"], loss.detach(), len(clean))
        self.accumulate(self.mse[f"{stage}_"], reconstruction.detach().flatten(1), clean.flatten(1))
        if stage == "val" and self._grid is None:
            rows = [noisy, reconstruction] + ([clean] if self.noise != "none" else [])
            self._grid = [r[:GRID_IMAGES].detach() for r in rows]
        if train:
            self.log_step_value("train/loss_step", loss.detach())
            return self.regularized(loss)
        return loss

    def epoch_metrics(self, stage: str) -> dict[str, Metric]:
        metrics: dict[str, Metric] = {
            "loss": self.mean_loss[f"{stage}_"],
            "mse": self.mse[f"{stage}_"],
        }
        return metrics | {
            name: self.vae_metrics[f"{stage}_{name}"] for name in self.vae_metric_names
        }

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        grid, self._grid = self._grid, None
        if grid is not None and grid[0].ndim == 4:
            from zoo.figures.grids import log_image_grid

            log_image_grid(self.trainer, "reconstructions", grid)

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """The reconstructions of a batch (of clean inputs); a VAE's from the posterior
        mean (its ``reconstruct``), not from a sampled code."""
        inputs = self.preprocess(batch_inputs(batch), train=False)
        reconstruct = getattr(self.model, "reconstruct", None)
        return reconstruct(inputs) if callable(reconstruct) else self(inputs)
