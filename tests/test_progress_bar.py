"""The progress bar updates after a training batch at most ``refresh_rate`` times a second,
and always after the last batch of an epoch (so the finished bar and its metrics are right)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from lightning.pytorch.callbacks import RichProgressBar

import zoo.training.progress_bar
from zoo.training.progress_bar import ProgressBar


@pytest.fixture
def updates(monkeypatch):
    """The batch indices RichProgressBar's own update ran for, and a settable clock."""
    clock = SimpleNamespace(now=100.0)
    monkeypatch.setattr(zoo.training.progress_bar.time, "monotonic", lambda: clock.now)
    seen: list[int] = []
    monkeypatch.setattr(
        RichProgressBar,
        "on_train_batch_end",
        lambda self, trainer, module, outputs, batch, batch_idx: seen.append(batch_idx),
    )
    monkeypatch.setattr(ProgressBar, "total_train_batches", 10)
    return clock, seen


def test_updates_come_at_most_refresh_rate_times_a_second(updates):
    clock, seen = updates
    bar = ProgressBar(refresh_rate=10)
    for batch_idx in range(10):  # a batch every 40 ms: every third passes 0.1 s
        bar.on_train_batch_end(None, None, None, None, batch_idx)
        clock.now += 0.04
    assert seen == [0, 3, 6, 9]  # 9: the epoch's last batch, 0.12 s after 6 anyway


def test_the_last_batch_of_an_epoch_always_updates(updates):
    _clock, seen = updates
    bar = ProgressBar(refresh_rate=10)
    for batch_idx in range(10):  # all in the same instant
        bar.on_train_batch_end(None, None, None, None, batch_idx)
    assert seen == [0, 9]


def test_a_hidden_bar_is_left_to_lightning(updates):
    _clock, seen = updates
    bar = ProgressBar(refresh_rate=0)
    for batch_idx in range(3):
        bar.on_train_batch_end(None, None, None, None, batch_idx)
    assert seen == [0, 1, 2]  # RichProgressBar itself does nothing when disabled


def test_without_the_zoos_bar_or_summary_lightning_adds_none_of_its_own(make_config):
    from lightning.pytorch.callbacks import ModelSummary
    from lightning.pytorch.callbacks import ProgressBar as AnyProgressBar

    from zoo.training.run import _displays_left_out

    cfg = make_config()
    assert _displays_left_out(cfg, [ProgressBar(), ModelSummary()]) == {}
    assert _displays_left_out(cfg, []) == {
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    assert isinstance(ProgressBar(), AnyProgressBar)


def test_a_trainer_flag_set_in_the_config_wins(make_config):
    from zoo.training.run import _displays_left_out

    cfg = make_config("+trainer.enable_progress_bar=true")
    assert _displays_left_out(cfg, []) == {"enable_model_summary": False}


class CountTasks(ProgressBar):
    """The zoo's bar, recording how many tasks its Rich progress holds at each epoch's end."""

    counts: list[int] = []

    def on_train_epoch_end(self, trainer, pl_module):
        super().on_train_epoch_end(trainer, pl_module)
        CountTasks.counts.append(len(self.progress.tasks))


def test_each_validation_replaces_the_last_validation_bar(make_config):
    """Lightning's bar adds a hidden validation task at every validation and keeps them all;
    the zoo's holds the same number of tasks after every epoch."""
    from omegaconf import open_dict

    from zoo.training.run import train

    cfg = make_config("model=mlp", "data=digits_flat", "trainer.max_epochs=4", "test=false")
    with open_dict(cfg):
        cfg.callbacks.rich_progress_bar = {"_target_": f"{__name__}.CountTasks"}
    CountTasks.counts = []
    train(cfg)
    assert len(CountTasks.counts) == 4 and len(set(CountTasks.counts)) == 1, CountTasks.counts
