"""Precise batch norm (zoo.training.precise_bn): the statistics a run evaluates with are the plain
average over training batches through the final weights, and recomputing them leaves the
training itself unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import named
from hydra.utils import instantiate

from zoo import ZooError
from zoo.models.pretrained import load_checkpoint
from zoo.training.precise_bn import PreciseBatchNorm
from zoo.training.run import build_model, train
from zoo.weights import checkpoint_model_weights, read_checkpoint

RESNET20 = ["model=resnet20", "+trainer.limit_train_batches=2", "trainer.max_epochs=1"]
PRECISE = ["callbacks=[default,precise_bn]", "callbacks.precise_bn.num_samples=128"]


def _last(cfg) -> Path:
    return Path(cfg.paths.output_dir, "checkpoints", "last.ckpt")


def _weights(cfg) -> dict[str, torch.Tensor]:
    return checkpoint_model_weights(read_checkpoint(_last(cfg)), _last(cfg))


@pytest.mark.slow  # a process of its own or a whole run: 2-6 s
def test_statistics_are_the_average_over_training_batches(make_config):
    cfg = make_config(*RESNET20, *PRECISE, "augmentation=[none]")
    train(cfg)
    weights = _weights(cfg)
    model = load_checkpoint(_last(cfg))

    # Independently: the first two training batches of epoch 0 (128 samples), normalized,
    # through the first convolution; the first batch-norm layer must hold the mean of their
    # per-batch means and of their per-batch unbiased variances.
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    batches = [inputs for inputs, _ in datamodule.train_dataloader()][:2]
    normalize = datamodule.normalization
    with torch.no_grad():
        features = [model.conv1(normalize(x)) for x in batches]  # (64, C, H, W) each
    means = torch.stack([f.mean(dim=(0, 2, 3)) for f in features]).mean(0)
    variances = torch.stack([f.var(dim=(0, 2, 3), unbiased=True) for f in features]).mean(0)
    torch.testing.assert_close(weights["bn1.running_mean"], means, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(weights["bn1.running_var"], variances, rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # 5-15 s: the default suite stays within 5 minutes
def test_training_is_the_same_with_or_without_it(make_config):
    # The digit augmentation draws from the global random stream every step: recomputing
    # the statistics (which augments its batches too) must not shift those draws.
    runs = {}
    for name, extra in {"plain": [], "precise": PRECISE}.items():
        cfg = make_config(*RESNET20, "trainer.max_epochs=2", *extra, name=name)
        train(cfg)
        runs[name] = _weights(cfg)
    statistics = ("running_mean", "running_var", "num_batches_tracked")
    differing = [
        key for key, value in runs["plain"].items() if not torch.equal(value, runs["precise"][key])
    ]
    assert differing, "the callback changed no statistics"
    assert all(key.endswith(statistics) for key in differing), differing


@pytest.mark.parametrize("bad", [0, -5, 1.5, True])
def test_bad_num_samples_is_refused(bad):
    with pytest.raises(
        ZooError, match=named("callbacks.precise_bn.num_samples", ">= 1", repr(bad))
    ):
        PreciseBatchNorm(num_samples=bad)


class _Task:
    """What the callback asks of a task: its device, batch transfer and training inputs."""

    device = torch.device("cpu")

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch

    def training_inputs(self, batch):
        return batch[0] * 2 + 1  # stands for the task's own preprocessing (noise, augmentation)


def test_statistics_come_from_the_task_training_inputs_and_stop_at_num_samples():
    batches = [(torch.full((4, 3), float(i)), torch.zeros(4)) for i in range(5)]
    inputs = list(PreciseBatchNorm(num_samples=6)._inputs(batches, _Task()))
    assert [float(x[0, 0]) for x in inputs] == [1.0, 3.0]  # two batches of 4 cover 6 samples


def test_a_denoising_autoencoder_is_calibrated_on_corrupted_inputs(make_config):
    from zoo.training.run import build_task

    cfg = make_config("task=autoencoder", "model=conv_autoencoder", "task.noise=gaussian",
                      "task.noise_level=0.5")  # fmt: skip
    task = build_task(cfg, build_model(cfg))
    clean = torch.rand(8, 1, 32, 32)
    torch.manual_seed(0)
    noisy = task.training_inputs((clean, torch.zeros(8)))
    torch.manual_seed(0)
    expected = task.normalize(task.corrupt(task.scale(clean, train=True)))
    torch.testing.assert_close(noisy, expected)
    assert not torch.allclose(noisy, task.preprocess(clean, train=True))
