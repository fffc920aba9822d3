"""The classification task's pieces: weight-decay groups, L1, label smoothing, schedules."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zoo import create_model
from zoo.tasks import schedulers as zoo_schedulers
from zoo.tasks.classification import ClassificationTask, split_logits
from zoo.tasks.optim import l1_penalty, parameter_groups


def test_weight_decay_skips_biases_and_norm_parameters():
    model = create_model("lenet5", norm="batch")
    decay, no_decay = parameter_groups(model, 5e-4)
    assert decay["weight_decay"] == 5e-4 and no_decay["weight_decay"] == 0.0
    decayed = {id(p) for p in decay["params"]}
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            is_norm = isinstance(module, nn.BatchNorm2d)
            assert (id(param) in decayed) == (name == "weight" and not is_norm), (module, name)
    total = sum(p.numel() for g in (decay, no_decay) for p in g["params"])
    assert total == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "name, kwargs, exempt",
    [
        ("vit_tiny", {"image_size": 32, "patch_size": 8}, {"class_token", "positional.weight"}),
        (
            "transformer",
            {"positional": "learned", "pooling": "cls"},
            {"cls_token", "positional.weight"},
        ),
    ],
)
def test_weight_decay_skips_class_tokens_and_learned_position_tables(name, kwargs, exempt):
    """As timm's ``no_weight_decay``: the class token and the position table are not weights
    of a linear map."""
    model = create_model(name, **kwargs)
    _, no_decay = parameter_groups(model, 0.05)
    undecayed = {id(p) for p in no_decay["params"]}
    norms = {n for n, m in model.named_modules() if isinstance(m, nn.LayerNorm)}
    for full_name, param in model.named_parameters():
        owner, _, leaf = full_name.rpartition(".")
        expected = leaf.endswith("bias") or owner in norms or full_name in exempt  # in_proj_bias
        assert (id(param) in undecayed) == expected, full_name
    assert exempt <= {n for n, _ in model.named_parameters()}


def test_sgd_weight_decay_equals_the_l2_penalty_gradient():
    # SGD with weight decay λ on w is the gradient step of L + λ/2 ||w||².
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    clone = nn.Linear(3, 2)
    clone.load_state_dict(model.state_dict())
    opt = torch.optim.SGD(parameter_groups(model, 0.1), lr=0.5)
    F.cross_entropy(model(x), y).backward()
    opt.step()
    loss = F.cross_entropy(clone(x), y) + 0.1 / 2 * clone.weight.square().sum()
    loss.backward()
    with torch.no_grad():
        for p in clone.parameters():
            p -= 0.5 * p.grad
    torch.testing.assert_close(model.weight, clone.weight)
    torch.testing.assert_close(model.bias, clone.bias)


def test_l1_penalty_sums_absolute_weights_only():
    model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -2.0], [3.0, -4.0]]))
        model[0].bias.fill_(100.0)
    assert l1_penalty(model).item() == 10.0


def make_task(**kwargs):
    model = create_model("mlp", in_features=4, hidden_sizes=[3], num_classes=3)
    return ClassificationTask(
        model, lambda groups: torch.optim.SGD(groups, lr=0.1), num_classes=3, **kwargs
    )


def test_l1_is_added_to_the_training_loss():
    task = make_task(l1=0.01)
    loss = torch.tensor(1.0)
    expected = 1.0 + 0.01 * l1_penalty(task.model).item()
    task.log = lambda *a, **k: None
    assert task.regularized(loss).item() == pytest.approx(expected)


def test_label_smoothing_matches_its_definition():
    task = make_task(label_smoothing=0.1)
    logits, targets = torch.randn(5, 3), torch.randint(0, 3, (5,))
    smoothed = torch.full((5, 3), 0.1 / 3).scatter_(1, targets[:, None], 1 - 0.1 + 0.1 / 3)
    expected = -(smoothed * logits.log_softmax(-1)).sum(-1).mean()
    torch.testing.assert_close(task.loss(logits, targets), expected)


def test_auxiliary_logits_are_split_from_the_main_ones():
    main, aux = torch.randn(2, 3), torch.randn(2, 3)
    assert split_logits(main)[0] is main and split_logits(main)[1] == []
    got_main, got_aux = split_logits((main, aux, None))
    assert got_main is main and len(got_aux) == 1 and got_aux[0] is aux


def run_schedule(name, total=100, per_epoch=10, **kwargs):
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    config = getattr(zoo_schedulers, name)(
        opt, total_steps=total, steps_per_epoch=per_epoch, **kwargs
    )
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if config["interval"] == "step":
            config["scheduler"].step()
    return lrs


def test_cosine_follows_the_closed_form():
    lrs = run_schedule("cosine")
    for step in (0, 25, 50, 99):
        assert lrs[step] == pytest.approx(0.5 * (1 + math.cos(math.pi * step / 100)))


def test_warmup_then_cosine():
    lrs = run_schedule("warmup_cosine", warmup_epochs=1, warmup_start_ratio=0.0)
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(0.5) and lrs[10] == pytest.approx(1.0)
    assert lrs[55] == pytest.approx(0.5, abs=1e-6)
    assert lrs[10:] == sorted(lrs[10:], reverse=True)


def test_step_and_exponential_are_per_epoch():
    lrs = run_schedule("step", step_epochs=2, gamma=0.5)
    assert lrs[19] == 1.0 and lrs[20] == 0.5 and lrs[40] == 0.25
    lrs = run_schedule("exponential", gamma=0.5)
    assert lrs[10] == pytest.approx(0.5) and lrs[20] == pytest.approx(0.25)


def test_onecycle_peaks_at_the_ratio():
    lrs = run_schedule("onecycle", max_lr_ratio=10.0, pct_start=0.3)
    assert max(lrs) == pytest.approx(10.0, rel=1e-3)
    assert lrs.index(max(lrs)) in range(28, 31)


def test_plateau_is_monitored_per_epoch():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    config = zoo_schedulers.plateau(opt, total_steps=10, steps_per_epoch=1, patience=0)
    assert config["interval"] == "epoch" and config["monitor"] == "val/loss"
    config["scheduler"].step(1.0)
    config["scheduler"].step(2.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


TASK_CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs" / "task").glob("*.yaml"))


@pytest.mark.parametrize("path", TASK_CONFIGS, ids=[p.stem for p in TASK_CONFIGS])
def test_a_task_kind_is_one_module_and_one_config(path, make_config):
    """configs/task/<kind>.yaml instantiates the ZooTask subclass of that kind (a partial the
    training system completes) and names the metric to monitor and the one to optimize."""
    from hydra.utils import get_class

    from zoo.kinds import TARGET_KINDS, TASK_KINDS
    from zoo.tasks.base import ZooTask

    cfg = make_config(f"task={path.stem}")
    cls = get_class(cfg.task._target_)
    assert issubclass(cls, ZooTask) and cls.kind == path.stem and cls.kind in TASK_KINDS
    assert cls.target_kinds and set(cls.target_kinds) <= set(TARGET_KINDS)
    assert cls.__module__ == f"zoo.tasks.{path.stem}"
    assert cfg.task._partial_ is True
    assert cfg.monitor.metric and cfg.monitor.mode in ("min", "max")
    assert cfg.optimized_metric and cfg.optimized_direction in ("minimize", "maximize")


class CaptureFlops(L.Callback):
    """Records the total FLOPs of the model summary when fit starts."""

    flops: int | None = None
    window: int | None = None

    def on_fit_start(self, trainer, pl_module):
        from lightning.pytorch.utilities.model_summary import summarize

        CaptureFlops.flops = summarize(pl_module).total_flops
        CaptureFlops.window = getattr(trainer.datamodule, "window", None)


def test_the_model_summary_counts_the_flops_of_one_input(make_config):
    """The summary shows the FLOPs model_info and the README report (not 'Total FLOPs: 0')."""
    from omegaconf import open_dict

    from zoo import model_info
    from zoo.training.run import train

    cfg = make_config("debug=fdr")
    with open_dict(cfg):
        cfg.callbacks = {"capture": {"_target_": f"{__name__}.CaptureFlops"}}
    train(cfg)
    assert CaptureFlops.flops == model_info("lenet5", in_channels=1)["flops"] > 0


def test_the_model_summary_counts_the_flops_of_a_window_of_tokens(make_config):
    """A language model's summary said 'Total FLOPs: 0': the text data gave no example input.
    It counts a window of training tokens, as torch's FLOP counter does on the same model."""
    from omegaconf import open_dict
    from torch.utils.flop_counter import FlopCounterMode

    from zoo import create_model
    from zoo.training.run import train

    small = ["model.n_layer=1", "model.n_embd=32", "model.n_head=2"]
    cfg = make_config("experiment=char_gpt", *small, "debug=fdr")
    with open_dict(cfg):
        cfg.callbacks = {"capture": {"_target_": f"{__name__}.CaptureFlops"}}
    train(cfg)
    kwargs = {k: v for k, v in cfg.model.items() if k not in ("_target_", "name")}
    model = create_model("gpt", **kwargs).eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, CaptureFlops.window, dtype=torch.long))
    assert CaptureFlops.flops == counter.get_total_flops() > 0


class RecordLosses(L.Callback):
    """Records each training batch's loss, by the count of batches stepped before it."""

    losses: dict[int, float] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.fit_loop.epoch_loop._batches_that_stepped
        RecordLosses.losses[step] = outputs["loss"].item()


def test_step_values_are_written_under_their_own_step(make_config):
    """train/loss_step rows hold the loss of the batch their step names, every
    log_every_n_steps steps from step 0, one row per step (the loss returned by
    training_step is the reference)."""
    import csv

    from omegaconf import open_dict

    from zoo.training.run import train

    cfg = make_config(
        "model=mlp",
        "data=digits_flat",
        "trainer.max_epochs=2",
        "+trainer.limit_train_batches=5",
        "trainer.log_every_n_steps=2",
        "test=false",
    )
    with open_dict(cfg):
        cfg.callbacks.record = {"_target_": f"{__name__}.RecordLosses"}
    RecordLosses.losses = {}
    train(cfg)
    with open(Path(cfg.paths.output_dir, "csv", "metrics.csv"), newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["train/loss_step"]]
    assert [int(row["step"]) for row in rows] == [0, 2, 4, 6, 8]
    assert [int(row["epoch"]) for row in rows] == [0, 0, 0, 1, 1]
    for row in rows:
        assert float(row["train/loss_step"]) == pytest.approx(
            RecordLosses.losses[int(row["step"])], rel=1e-6
        )


def test_the_epoch_mean_keeps_nan_and_its_weights():
    """A NaN batch loss makes the epoch's loss NaN (which the task refuses in one line), not
    a finite mean of the other batches with torchmetrics' warning; the mean stays weighted
    by batch size."""
    import warnings

    from zoo.tasks.base import mean_metric

    weighted = mean_metric()
    weighted.update(torch.tensor(1.0), 3)
    weighted.update(torch.tensor(3.0), 1)
    assert weighted.compute().item() == pytest.approx((1.0 * 3 + 3.0 * 1) / 4)
    diverged = mean_metric()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diverged.update(torch.tensor(1.0), 64)
        diverged.update(torch.tensor(float("nan")), 64)
        assert torch.isnan(diverged.compute())
