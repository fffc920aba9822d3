"""A run killed and resumed from its last.ckpt ends as the uninterrupted run does, whatever
ends it: trainer.max_epochs, trainer.max_steps (at an epoch's end or inside an epoch), both,
early stopping or trainer.max_time; for classification, a language model, an autoencoder and
a GAN.

Every checkpoint is written at an epoch's end. With trainer.max_steps set, Lightning resumed
one as a restart inside that epoch and counted the epoch twice: with trainer.max_epochs too
(experiment=char_gpt has 8 epochs and 2000 steps), the resumed run stopped an epoch early,
with exit 0, and its logged steps were one ahead (zoo/training/resume.py). And a run that max_steps
stops inside an epoch reported its last validation, of an earlier epoch's weights, when
uninterrupted, but its final weights' validation when resumed after that validation.

The kills are SIGKILLs at chosen points of training (a callback injected into train.py), not
at random moments: just after an epoch's end (its checkpoints written), in an epoch after its
first step, and in its validation. Each kill first waits for the checkpoint writes already
queued, so which last.ckpt survives does not depend on the background writer's speed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from safetensors.torch import load_file

import zoo.training.run
from zoo.training.run import train

REPO_ROOT = Path(__file__).resolve().parents[1]

# 2 batches an epoch, the bare minimum of callbacks; early stopping only where a case sets it.
CLASSIFICATION = [
    "model=mlp",
    "data=digits_flat",
    "+trainer.limit_train_batches=2",
    "regularization=dropout",  # random masks: a resume must restore the random state too
    "callbacks=[model_checkpoint,early_stopping]",
]
BATCHES = 2  # per epoch, in every kind below

# What ends the run, as overrides (BATCHES steps an epoch).
STOPPING_RULES = {
    "max_epochs": ["trainer.max_epochs=3"],
    "max_steps": ["trainer.max_epochs=100", f"trainer.max_steps={3 * BATCHES}"],
    "max_steps_inside_an_epoch": ["trainer.max_epochs=100", f"trainer.max_steps={3 * BATCHES - 1}"],
    # the case: experiment=char_gpt stops at 8 epochs and at their 2000 steps
    "both": ["trainer.max_epochs=3", f"trainer.max_steps={3 * BATCHES}"],
    # a validation in the middle of each epoch too: last.ckpt is still written at epoch ends
    "validation_inside_epochs": ["trainer.max_epochs=3", "+trainer.val_check_interval=0.5"],
    # no val/loss improvement of 1.0 ever: stops after epoch 2 (a budget of steps beside it)
    "early_stopping": [
        "trainer.max_epochs=100",
        "trainer.max_steps=1000",
        "callbacks.early_stopping.patience=2",
        "callbacks.early_stopping.min_delta=1.0",
    ],
}

# The other kinds, shortened to 2 batches an epoch (and a few to validate and test), stopped
# by both limits at once.
SHORTENED = ["callbacks=model_checkpoint", *STOPPING_RULES["both"]]
KINDS = {
    "language_model": [
        "experiment=char_gpt",
        "model.n_layer=1",
        "model.n_embd=32",
        "model.n_head=2",
        "trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=2",
        "+trainer.limit_test_batches=2",
        *SHORTENED,
    ],
    "autoencoder": ["experiment=dae_digits", "+trainer.limit_train_batches=2", *SHORTENED],
    "gan": [
        "experiment=dcgan_digits",
        "model.width=8",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
        "callbacks=model_checkpoint",
        # both limits: Lightning counts a step of each of its two optimizers at each batch
        "trainer.max_epochs=3",
        f"trainer.max_steps={3 * BATCHES * 2}",
    ],
}

# Runs train.py in this process with a callback that SIGKILLs it at ZOO_TEST_KILL (added
# where train() has made its list of callbacks):
# "epoch_end:E" (at the start of epoch E+1, after epoch E's checkpoints), "mid_epoch:E" (after
# epoch E's first step), "second_batch:E" (before epoch E's second step: after a validation
# inside the epoch, where one runs) or "validation:E" (after epoch E's first validation batch).
KILLED_TRAIN_PY = """
import os, runpy, signal, sys
import lightning as L
import zoo.training.run

where, epoch = os.environ["ZOO_TEST_KILL"].split(":")
epoch = int(epoch)

class Kill(L.Callback):
    def kill(self, trainer):
        trainer.strategy.checkpoint_io.teardown()  # the queued checkpoint writes land
        os.kill(os.getpid(), signal.SIGKILL)

    def on_train_epoch_start(self, trainer, module):
        if where == "epoch_end" and trainer.current_epoch == epoch + 1:
            self.kill(trainer)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if where == "mid_epoch" and trainer.current_epoch == epoch and batch_idx == 0:
            self.kill(trainer)

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if where == "second_batch" and trainer.current_epoch == epoch and batch_idx == 1:
            self.kill(trainer)

    def on_validation_batch_end(self, trainer, module, outputs, batch, batch_idx, *rest):
        if where == "validation" and trainer.current_epoch == epoch and not trainer.sanity_checking:
            self.kill(trainer)

chosen = zoo.training.run._callbacks_with_work
zoo.training.run._callbacks_with_work = lambda *args: [*chosen(*args), Kill()]
sys.argv = ["train.py", *sys.argv[1:]]
runpy.run_path(sys.argv.pop(1), run_name="__main__")
"""


def train_py(run_dir: Path, overrides: list[str], *, kill: str | None = None) -> None:
    """``python train.py OVERRIDES`` into ``run_dir``: to its end, or killed at ``kill``."""
    command = [str(REPO_ROOT / "train.py"), *overrides, f"hydra.run.dir={run_dir}"]
    if kill is None:
        result = subprocess.run([sys.executable, *command], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        return
    env = {**os.environ, "ZOO_TEST_KILL": kill}
    result = subprocess.run(
        [sys.executable, "-c", KILLED_TRAIN_PY, *command], env=env, capture_output=True, text=True
    )
    assert result.returncode == -9, f"not killed at {kill}: {result.stderr[-3000:]}"


def last_checkpoint(run_dir: Path) -> dict[str, Any]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")


def final_state(run_dir: Path) -> dict[str, Any]:
    """What a finished run leaves: where training ended, its metrics, their history (a
    resumed run's metrics.csv drops the rows a killed run logged after its checkpoint) and
    the exported weights."""
    last = last_checkpoint(run_dir)
    return {
        "trained": {"epoch": last["epoch"], "global_step": last["global_step"]},
        "metrics": json.loads((run_dir / "results.json").read_text())["metrics"],
        "logged": (run_dir / "csv" / "metrics.csv").read_text(),
        "weights": load_file(run_dir / "model" / "model.safetensors"),
    }


def assert_same_run(resumed: dict[str, Any], whole: dict[str, Any]) -> None:
    """Bit for bit: the same last epoch and step, metrics and exported weights."""
    assert resumed["trained"] == whole["trained"]
    assert resumed["metrics"] == whole["metrics"]
    assert resumed["logged"] == whole["logged"]
    assert resumed["weights"].keys() == whole["weights"].keys()
    for key, tensor in whole["weights"].items():
        assert torch.equal(resumed["weights"][key], tensor), key


def epoch_written_before(kill: str) -> int:
    """The epoch of the last.ckpt a kill at ``kill`` leaves."""
    where, epoch = kill.split(":")
    return int(epoch) if where == "epoch_end" else int(epoch) - 1


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Callable[[str, list[str]], dict[str, Any]]:
    """``uninterrupted(name, overrides)``: the final state of the whole run (one per name)."""
    runs: dict[str, dict[str, Any]] = {}

    def run(name: str, overrides: list[str]) -> dict[str, Any]:
        if name not in runs:
            run_dir = tmp_path_factory.mktemp(name) / "run"
            train_py(run_dir, overrides)
            runs[name] = final_state(run_dir)
        return runs[name]

    return run


def kill_and_resume(run_dir: Path, overrides: list[str], kill: str) -> dict[str, Any]:
    train_py(run_dir, overrides, kill=kill)
    assert last_checkpoint(run_dir)["epoch"] == epoch_written_before(kill)
    train_py(run_dir, [*overrides, f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}"])
    return final_state(run_dir)


# -- the default run: one kill, in this process ---------------------------------------------
class Killed(BaseException):
    """The process dying at this point (not an Exception, which something might handle)."""


def whole_and_killed(
    make_config: Callable[..., Any], monkeypatch: Any, overrides: list[str], stop: L.Callback
) -> tuple[dict[str, Any], Path]:
    """The final state of the run ``overrides`` uninterrupted, and the folder of the same run
    stopped dead by the callback ``stop`` (which raises ``Killed``)."""
    whole = make_config(*overrides, name="whole")
    train(whole)
    killed = make_config(*overrides, name="killed")
    chosen = zoo.training.run._callbacks_with_work
    with monkeypatch.context() as patch:
        patch.setattr(zoo.training.run, "_callbacks_with_work", lambda *a: [*chosen(*a), stop])
        with pytest.raises(Killed):
            train(killed)
    return final_state(Path(whole.paths.output_dir)), Path(killed.paths.output_dir)


def test_a_run_with_max_epochs_and_max_steps_resumes_to_its_last_epoch(make_config, monkeypatch):
    """The issue's case, cheaply: 3 epochs that are also trainer.max_steps, stopped dead just
    after epoch 0's checkpoints, then resumed (it stopped after epoch 1, one early).

    The run stops by an exception from a callback instead of a SIGKILL (the matrix below):
    what a resume reads is the checkpoint on disk, the same either way."""

    class StopAfterEpoch0(L.Callback):
        def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            if trainer.current_epoch == 1:
                trainer.strategy.checkpoint_io.teardown()  # the queued writes land
                raise Killed

    overrides = [*CLASSIFICATION, *STOPPING_RULES["both"]]
    expected, run_dir = whole_and_killed(make_config, monkeypatch, overrides, StopAfterEpoch0())
    last = run_dir / "checkpoints" / "last.ckpt"
    assert last_checkpoint(run_dir)["epoch"] == 0
    train(make_config(*overrides, f"ckpt_path={last}", name="killed"))
    assert_same_run(final_state(run_dir), expected)


def test_validation_inside_an_epoch_leaves_last_ckpt_at_the_epochs_end(
    make_config, monkeypatch, tmp_path
):
    """trainer.val_check_interval=0.5: Lightning refreshed last.ckpt at the validation in the
    middle of the epoch, and a resume from there drew the rest of the epoch's batches afresh
    (acc 0.9667 against the uninterrupted 0.9639). last.ckpt stays at the epoch's end, so the
    resumed run is the uninterrupted one; a resume from inside an epoch is warned of."""

    class StopBeforeSecondBatch(L.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
            if trainer.current_epoch == 1 and batch_idx == 1:  # after epoch 1's first validation
                trainer.strategy.checkpoint_io.teardown()
                raise Killed

    overrides = [*CLASSIFICATION, *STOPPING_RULES["validation_inside_epochs"]]
    stop = StopBeforeSecondBatch()
    expected, run_dir = whole_and_killed(make_config, monkeypatch, overrides, stop)
    last = run_dir / "checkpoints" / "last.ckpt"
    assert last_checkpoint(run_dir)["epoch"] == 0
    inside = tmp_path / "inside.ckpt"  # the best so far, written at the epoch's first validation
    shutil.copyfile(next((run_dir / "checkpoints").glob("epoch_001*.ckpt")), inside)
    progress = torch.load(inside, weights_only=True)["loops"]["fit_loop"]
    assert progress["epoch_loop.batch_progress"]["current"]["completed"] == 1

    train(make_config(*overrides, f"ckpt_path={last}", name="killed"))
    assert_same_run(final_state(run_dir), expected)
    with pytest.warns(UserWarning, match="ended before the epoch ended"):  # Lightning's
        train(make_config(*overrides, f"ckpt_path={inside}", name="again"))


def test_a_run_early_stopping_ended_trains_no_further_when_resumed(make_config):
    """Killed while testing or exporting, after early stopping had ended training: resumed,
    it trained more epochs (Lightning restores the callback's counters, not its decision)
    and tested another best checkpoint. It tests and exports what the whole run did."""
    overrides = [*CLASSIFICATION, *STOPPING_RULES["early_stopping"]]
    cfg = make_config(*overrides)
    whole = train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    trained = last_checkpoint(run_dir)
    assert trained["epoch"] < 99  # stopped early
    (run_dir / "results.json").unlink()  # as if killed while testing or exporting
    shutil.rmtree(run_dir / "model")
    resumed = train(make_config(*overrides, f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}"))
    assert last_checkpoint(run_dir)["global_step"] == trained["global_step"]  # no step more
    tested = {k: v for k, v in whole.items() if k.startswith("test/")}
    assert {k: resumed[k] for k in tested} == tested


# -- the matrix: SIGKILLs of train.py, with `pytest -m slow` (15-25 s a case on 2 cores) ----
@pytest.mark.slow
@pytest.mark.parametrize(
    ("rule", "kill"),
    [
        ("max_epochs", "validation:1"),
        ("max_steps", "mid_epoch:1"),
        # resumed, the run trains one step and stops without a validation
        ("max_steps_inside_an_epoch", "epoch_end:1"),
        ("both", "epoch_end:0"),
        ("both", "mid_epoch:1"),
        ("both", "validation:1"),
        # resumed, the run's first validation stops it: its patience was restored
        ("early_stopping", "epoch_end:1"),
        ("validation_inside_epochs", "second_batch:1"),
    ],
)
def test_classification_killed_and_resumed_equals_the_uninterrupted_run(
    rule, kill, uninterrupted, tmp_path
):
    overrides = [*CLASSIFICATION, *STOPPING_RULES[rule]]
    resumed = kill_and_resume(tmp_path / "run", overrides, kill)
    assert_same_run(resumed, uninterrupted(rule, overrides))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "kill"),
    [("language_model", "mid_epoch:1"), ("autoencoder", "validation:1"), ("gan", "epoch_end:0")],
)
def test_each_kind_killed_and_resumed_equals_the_uninterrupted_run(
    kind, kill, uninterrupted, tmp_path
):
    resumed = kill_and_resume(tmp_path / "run", KINDS[kind], kill)
    assert_same_run(resumed, uninterrupted(kind, KINDS[kind]))


def trained_epochs(run_dir: Path) -> list[int]:
    """The epochs metrics.csv has a training row of, in the order written."""
    with open(run_dir / "csv" / "metrics.csv") as rows:
        return [int(row["epoch"]) for row in csv.DictReader(rows) if row.get("train/loss")]


@pytest.mark.slow
def test_a_run_stopped_by_max_time_resumes_without_losing_or_repeating_an_epoch(make_config):
    """trainer.max_time stops the run after as many steps as the machine's speed allows, so
    the run cannot be compared with another; what is compared is the run with itself.
    Resumed as it was, its time is used up: it trains no further and reports what it did.
    Resumed with 2 more epochs (and more time), it trains exactly those 2 whole epochs, the
    first of them the one after the checkpoint's."""

    def timed(max_epochs: int, max_time: str) -> list[str]:
        # a budget of steps too (never reached): what Lightning mis-resumed
        steps = ["trainer.max_steps=1000000", f"trainer.max_time={max_time}"]
        return [*CLASSIFICATION, f"trainer.max_epochs={max_epochs}", *steps]

    cfg = make_config(*timed(100000, "00:00:00:01"))
    stopped = train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    last = last_checkpoint(run_dir)
    epoch, step = last["epoch"], last["global_step"]
    assert epoch < 100000 - 1 and step < 1000000

    (run_dir / "results.json").unlink()  # as if killed while testing or exporting
    ckpt_path = f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}"
    again = train(make_config(*timed(100000, "00:00:00:01"), ckpt_path))
    assert last_checkpoint(run_dir)["global_step"] == step
    reported = [key for key in stopped if key.startswith(("val/", "test/"))]
    assert {key: again[key] for key in reported} == {key: stopped[key] for key in reported}

    before = len(trained_epochs(run_dir))
    train(make_config(*timed(epoch + 3, "00:01:00:00"), ckpt_path))
    assert trained_epochs(run_dir)[before:] == [epoch + 1, epoch + 2]
    last = last_checkpoint(run_dir)
    assert (last["epoch"], last["global_step"]) == (epoch + 2, step + 2 * BATCHES)
