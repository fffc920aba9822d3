"""The autoencoder and GAN tasks: every generative model trains through train.py (a
fast_dev_run each), the denoising target is the clean input, the linear autoencoder meets
PCA (Baldi & Hornik 1989), each GAN step changes only its own network, a resumed GAN run
equals an uninterrupted one, and a diverging GAN stops with one line."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import named
from safetensors.torch import load_file
from sklearn.decomposition import PCA
from torch import nn

from zoo import ZooError, create_model, get_model_info, list_models
from zoo.augment.noise import corrupt
from zoo.data import DigitsDataModule
from zoo.tasks.autoencoder import AutoencoderTask, reconstruction_loss
from zoo.tasks.gan import GANTask
from zoo.training.run import train

FAST = ["debug=fdr", "data.batch_size=8", "data.eval_batch_size=8"]
GENERATIVE = [n for n in list_models() if {"autoencoder", "gan"} & set(get_model_info(n).tasks)]
# The smallest useful sizes, for speed.
SMALL = {"width": 4, "latent_dim": 4}


def small(name: str) -> list[str]:
    parameters = get_model_info(name).parameters
    return [f"model.{k}={v}" for k, v in SMALL.items() if k in parameters]


@pytest.mark.parametrize("name", GENERATIVE)
def test_every_generative_model_trains_through_train_py(name, make_config):
    task = get_model_info(name).tasks[0]
    metrics = train(make_config(f"model={name}", f"task={task}", *small(name), *FAST))
    key = "test/mse" if task == "autoencoder" else "test/fid"
    assert key in metrics and metrics[key] == metrics[key]  # present, not NaN
    run = Path(make_config().paths.output_dir)
    assert (run / "model" / "model.safetensors").is_file()


def test_a_vae_logs_its_elbo_and_both_parts(make_config):
    metrics = train(make_config("model=vae", "task=autoencoder", "task.loss=bce", *FAST))
    assert metrics["test/elbo"] == pytest.approx(-(metrics["test/recon"] + metrics["test/kl"]))
    assert metrics["test/kl"] >= 0


@pytest.mark.parametrize(
    "model, loss, logged",
    [
        ("autoencoder", "mse", {"loss", "mse"}),
        ("vae", "mse", {"loss", "mse", "recon", "kl"}),  # no likelihood bound: no elbo
        ("vae", "bce", {"loss", "mse", "recon", "kl", "elbo"}),
    ],
)
def test_the_elbo_is_logged_where_it_is_one(model, loss, logged):
    from zoo import create_model

    autoencoder = create_model(model, image_size=8, in_channels=1)
    task = AutoencoderTask(autoencoder, torch.optim.SGD, loss=loss, normalization=None)
    metrics = task.epoch_metrics("val")
    assert set(metrics) == logged
    task.step((torch.rand(4, 1, 8, 8), torch.zeros(4)), "val")
    task._pending_updates.flush(metrics.values())  # as log_epoch does before computing
    assert all(torch.isfinite(metric.compute()) for metric in metrics.values())


class Identity(nn.Module):
    """An 'autoencoder' giving back what it sees: its loss is the distance between its
    input and the target."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_the_denoising_target_is_the_clean_input():
    task = AutoencoderTask(
        Identity(), torch.optim.SGD, noise="gaussian", noise_level=0.2, normalization=None
    )
    clean = torch.rand(4, 1, 8, 8)
    torch.manual_seed(0)
    loss = task.step((clean, torch.zeros(4)), "val")
    torch.manual_seed(0)
    noisy = corrupt(clean, "gaussian", 0.2)
    expected = (noisy - clean).square().flatten(1).sum(1).mean()
    torch.testing.assert_close(loss, expected)
    assert loss > 0  # were the target the noisy input, the identity would be perfect
    plain = AutoencoderTask(Identity(), torch.optim.SGD, normalization=None)
    assert plain.step((clean, torch.zeros(4)), "val") == 0


def test_a_vae_is_evaluated_on_its_posterior_mean():
    """Validation mse and predictions come from the reconstruction of the posterior mean
    (deterministic, as zoo.apps.autoencode gives), not from one sampled code."""
    torch.manual_seed(0)
    model = create_model("vae", image_size=8, latent_dim=2, hidden_sizes=(16,))
    task = AutoencoderTask(model, torch.optim.SGD, normalization=None)
    images = torch.rand(4, 1, 8, 8)
    for seed in (1, 2):  # two sampled codes: the same validation mse
        torch.manual_seed(seed)
        task.step((images, torch.zeros(4)), "val")
    mse = task.mse["val_"]
    task._pending_updates.flush([mse])
    with torch.no_grad():
        expected = (model.decode(model.posterior(images)[0]) - images).square().mean()
        torch.testing.assert_close(mse.compute(), expected)
        torch.testing.assert_close(task.predict_step((images, None), 0), model.reconstruct(images))


def test_the_bce_loss_is_computed_in_float32_under_mixed_precision():
    """CUDA's autocast refuses binary cross-entropy; the loss leaves autocast for it (shown
    on the CPU, where autocast would otherwise compute it in bfloat16)."""
    reconstruction, target = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4).round()
    expected = reconstruction_loss(reconstruction, target, "bce")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = reconstruction_loss(reconstruction.bfloat16(), target.bfloat16(), "bce")
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected, rtol=1e-2, atol=0)


@pytest.mark.slow  # 5-15 s: the default suite stays within 5 minutes
def test_the_linear_autoencoder_learns_the_pca_subspace(make_config):
    """Trained with squared error, a linear autoencoder with k codes reconstructs the test
    digits as well as scikit-learn's PCA with k components (within 3%), fitted on the same
    training split (Baldi & Hornik 1989)."""
    k = 8
    cfg = make_config(
        "model=linear_autoencoder",
        f"model.latent_dim={k}",
        "task=autoencoder",
        "data.image_size=8",
        "data.batch_size=128",
        "optimizer.lr=0.01",
        "scheduler=cosine",
        "trainer.max_epochs=150",
        "callbacks=none",
        "logger=none",
    )
    metrics = train(cfg)
    data = DigitsDataModule(image_size=8)
    data.setup("fit")
    train_x = data.splits["train"][0].flatten(1).numpy()
    test_x = data.splits["test"][0].flatten(1).numpy()
    pca = PCA(n_components=k).fit(train_x)
    pca_mse = float(((pca.inverse_transform(pca.transform(test_x)) - test_x) ** 2).mean())
    assert metrics["test/mse"] == pytest.approx(pca_mse, rel=0.03)


# -- GAN ----------------------------------------------------------------------------------------
class RecordingGAN(GANTask):
    """The GAN task whose optimizers record which parameters each of their steps changed."""

    changed: list[tuple[str, set[str]]]

    def configure_optimizers(self):
        optimizers = super().configure_optimizers()
        self.changed = []
        for name, optimizer in zip(("generator", "discriminator"), optimizers, strict=True):
            optimizer.step = self._recording(name, optimizer.step)
        return optimizers

    def _recording(self, name, step):
        def recorded(*args, **kwargs):
            before = {k: p.detach().clone() for k, p in self.model.named_parameters()}
            result = step(*args, **kwargs)
            after = dict(self.model.named_parameters())
            moved = {k for k, p in before.items() if not torch.equal(p, after[k])}
            self.changed.append((name, moved))
            return result

        return recorded


def fit_small_gan(task_class: type[GANTask], batches: int) -> tuple[GANTask, L.Trainer]:
    """A tiny DCGAN (k = 2) of ``task_class`` trained for ``batches`` batches of 8x8 digits."""
    from zoo import create_model

    torch.manual_seed(0)
    model = create_model("dcgan", image_size=8, width=4, latent_dim=4)
    task = task_class(model, torch.optim.Adam, discriminator_steps=2, quality_classifier=None)
    trainer = L.Trainer(
        max_epochs=1,
        limit_train_batches=batches,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, datamodule=DigitsDataModule(image_size=8, batch_size=16))
    return task, trainer


def test_each_gan_step_changes_only_its_own_network():
    task, _ = fit_small_gan(RecordingGAN, batches=4)
    model = task.model
    generator = {f"generator.{k}" for k, _ in model.generator.named_parameters()}
    discriminator = {f"discriminator.{k}" for k, _ in model.discriminator.named_parameters()}
    # k = 2: a discriminator step every batch, a generator step every second one
    steps = ["discriminator", "discriminator", "generator"] * 2
    assert [name for name, _ in task.changed] == steps
    for name, moved in task.changed:
        own = generator if name == "generator" else discriminator
        assert moved and moved <= own, name  # some of its own parameters, none of the other's


class StepLossGAN(GANTask):
    """Records every step's losses as the task hands them to the loggers."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.step_losses: dict[str, list[float]] = {"d": [], "g": []}

    def log_step_value(self, name: str, value: torch.Tensor) -> None:
        self.step_losses[name.split("/")[1][0]].append(value.item())
        super().log_step_value(name, value)


def test_the_gan_epoch_losses_are_the_means_of_its_steps():
    task, trainer = fit_small_gan(StepLossGAN, batches=5)
    d_losses, g_losses = task.step_losses["d"], task.step_losses["g"]
    assert len(d_losses) == 5 and len(g_losses) == 2  # a generator step every second batch
    metrics = trainer.callback_metrics
    assert metrics["train/d_loss"].item() == pytest.approx(sum(d_losses) / 5, rel=1e-6)
    assert metrics["train/g_loss"].item() == pytest.approx(sum(g_losses) / 2, rel=1e-6)


GAN_RUN = [
    "model=dcgan",
    "task=gan",
    "model.width=4",
    "model.latent_dim=8",
    "data.image_size=8",
    "data.batch_size=128",
    "callbacks=[model_checkpoint]",
    "logger=none",
]


@pytest.mark.slow  # a process of its own or a whole run: 2-6 s
def test_a_resumed_gan_run_equals_an_uninterrupted_one(make_config):
    whole = make_config(*GAN_RUN, "trainer.max_epochs=3", name="whole")
    train(whole)
    first = make_config(*GAN_RUN, "trainer.max_epochs=2", name="first")
    train(first)
    last = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True, map_location="cpu")
    assert len(checkpoint["optimizer_states"]) == 2  # both networks' optimizers
    resumed = make_config(*GAN_RUN, "trainer.max_epochs=3", f"ckpt_path={last}", name="resumed")
    train(resumed)
    expected = load_file(Path(whole.paths.output_dir) / "model" / "model.safetensors")
    got = load_file(Path(resumed.paths.output_dir) / "model" / "model.safetensors")
    assert got.keys() == expected.keys()
    for key, tensor in expected.items():
        assert torch.equal(got[key], tensor), key


def test_a_diverging_gan_stops_with_one_line_and_exports_nothing(make_config):
    overrides = [o for o in GAN_RUN if not o.startswith("model.")]
    cfg = make_config(
        *overrides, "model=gan", "optimizer=sgd", "optimizer.lr=1e10", "trainer.max_epochs=3"
    )
    remedy = ("optimizer.lr", "task.generator_lr", "task.discriminator_lr")
    with pytest.raises(ZooError, match=named("diverged", *remedy)):
        train(cfg)
    run = Path(cfg.paths.output_dir)
    assert not (run / "results.json").exists() and not (run / "model").exists()


def test_a_metric_this_model_does_not_log_is_refused_before_training(make_config):
    """val/elbo is an autoencoder-task metric, but not one of a VAE trained on squared error:
    refused in one line before any epoch, not by Lightning after the first."""
    cfg = make_config(
        "model=vae", "task=autoencoder", "monitor.metric=val/elbo", "monitor.mode=max", *FAST
    )
    fragments = ("monitor.metric", "'val/elbo'", "vae", "conv_vae", "task.loss=bce", "val/loss")
    with pytest.raises(ZooError, match=named(*fragments)):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()
