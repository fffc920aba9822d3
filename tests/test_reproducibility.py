"""Same seed, same numbers; a resumed run continues exactly where it stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo.run import train

SMALL = ["model=mlp", "data=digits", "regularization=dropout", "trainer.max_epochs=2"]


def test_same_seed_gives_identical_metrics(make_config):
    first = train(make_config(*SMALL, "seed=3", name="a"))
    second = train(make_config(*SMALL, "seed=3", name="b"))
    other = train(make_config(*SMALL, "seed=4", name="c"))
    assert first == second
    assert first["test/loss"] != other["test/loss"]


def test_resume_from_last_checkpoint_continues_where_it_stopped(make_config):
    # A step schedule does not depend on the total length, so 2 + 2 epochs equal 4.
    steady = [*SMALL[:3], "scheduler=step", "scheduler.step_epochs=3"]
    interrupted = make_config(*steady, "trainer.max_epochs=2", name="first")
    train(interrupted)
    last = Path(interrupted.paths.output_dir) / "checkpoints" / "last.ckpt"
    assert last.is_file()
    resumed = train(
        make_config(*steady, "trainer.max_epochs=4", f"ckpt_path={last}", name="resumed")
    )
    uninterrupted = train(make_config(*steady, "trainer.max_epochs=4", name="whole"))
    assert resumed["val/loss"] == pytest.approx(uninterrupted["val/loss"], rel=1e-6)
    assert resumed["test/acc"] == uninterrupted["test/acc"]
    assert resumed["val/acc_best"] == uninterrupted["val/acc_best"]


def test_test_only_run_evaluates_the_given_checkpoint(make_config):
    first = make_config(*SMALL, "trainer.max_epochs=1", name="trained")
    trained = train(first)
    checkpoint = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    evaluated = train(make_config(*SMALL, "train=false", f"ckpt_path={checkpoint}", name="eval"))
    assert evaluated["test/acc"] == trained["test/acc"]  # one epoch: last is the best
