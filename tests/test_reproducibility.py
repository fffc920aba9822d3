"""Same seed, same numbers; a resumed run continues exactly where it stopped."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import lightning as L
import pytest
import torch

from zoo.training.run import train

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


@pytest.mark.slow  # two whole runs and a resume (2 s each); tests/test_resume.py keeps defaults
@pytest.mark.parametrize("folder", ["new", "same"])
def test_a_resumed_run_tests_and_exports_what_the_uninterrupted_run_does(make_config, folder):
    """The best epoch comes before the interruption (val/acc_best never decreases, so with
    mode=min the best is epoch 0): resumed into a new folder or into the same one, the run
    still tests and exports epoch 0's weights, keeps its own copy of them, and records where
    it resumed from. The logged history of the same folder survives the resume."""
    from safetensors.torch import load_file

    best_first = [
        *SMALL[:3],
        "scheduler=none",
        "callbacks.model_checkpoint.monitor=val/acc_best",
        "callbacks.model_checkpoint.mode=min",
    ]
    whole_cfg = make_config(*best_first, "trainer.max_epochs=4", name="whole")
    whole = train(whole_cfg)
    first_cfg = make_config(*best_first, "trainer.max_epochs=2", name="first")
    train(first_cfg)
    last = Path(first_cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    name = "resumed" if folder == "new" else "first"
    resumed_cfg = make_config(*best_first, "trainer.max_epochs=4", f"ckpt_path={last}", name=name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = train(resumed_cfg)
    # its own checkpoints in the folder it resumes into are expected, not worth a warning
    assert not [w for w in caught if "exists and is not empty" in str(w.message)]
    assert resumed["test/acc"] == whole["test/acc"]
    assert resumed["test/loss"] == pytest.approx(whole["test/loss"], rel=1e-6)
    run, whole_run = Path(resumed_cfg.paths.output_dir), Path(whole_cfg.paths.output_dir)
    for key, tensor in load_file(whole_run / "model" / "model.safetensors").items():
        assert torch.equal(load_file(run / "model" / "model.safetensors")[key], tensor), key
    results = json.loads((run / "results.json").read_text())
    # paths inside the run folder are recorded relative to it
    assert results["best_checkpoint"] == "checkpoints/epoch_000.ckpt"
    assert results["model_dir"] == "model"
    inside = last.parent.parent == run
    assert results["resumed_from"] == ("checkpoints/last.ckpt" if inside else str(last))
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "epoch_000.ckpt",
        "last.ckpt",
    ]
    if folder == "new":  # the first run's folder is left as it was
        assert (Path(first_cfg.paths.output_dir) / "checkpoints" / "epoch_000.ckpt").is_file()
    else:
        epochs = [row.split(",")[0] for row in (run / "csv" / "metrics.csv").read_text().split()]
        assert {"0", "1", "2", "3"} <= set(epochs[1:])


@pytest.mark.slow  # three short runs
def test_a_run_that_max_steps_ended_at_an_epoch_end_resumes_into_a_longer_one(make_config):
    """`trainer.max_steps` stops on the epoch's last batch. Lightning resumed its checkpoint
    as a restart inside that epoch and finished the epoch again with no batch left, which was
    refused as a NaN loss ("training diverged") and counted as an epoch (zoo/training/resume.py).
    Resumed, the run equals one trained on without a stop."""
    import torch

    steady = [*SMALL[:3], "scheduler=none", "trainer.max_epochs=5"]
    first = make_config(*steady, "trainer.max_steps=40", name="first")
    train(first)
    last = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True, map_location="cpu")
    assert state["global_step"] == 40
    assert state["loops"]["fit_loop"]["epoch_loop.batch_progress"]["is_last_batch"]
    resumed = train(make_config(*steady, "trainer.max_steps=60", f"ckpt_path={last}"))
    whole = train(make_config(*steady, "trainer.max_steps=60", name="whole"))
    assert resumed["val/loss"] == pytest.approx(whole["val/loss"], rel=1e-6)
    assert resumed["test/acc"] == whole["test/acc"]


def test_test_only_run_evaluates_the_given_checkpoint(make_config):
    first = make_config(*SMALL, "trainer.max_epochs=1", name="trained")
    trained = train(first)
    checkpoint = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    evaluated = train(make_config(*SMALL, "train=false", f"ckpt_path={checkpoint}", name="eval"))
    assert evaluated["test/acc"] == trained["test/acc"]  # one epoch: last is the best


class FirstRates(L.Callback):
    """The learning rate each optimizer step uses, by global step."""

    rates: dict[int, float] = {}

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        FirstRates.rates[trainer.global_step] = optimizer.param_groups[0]["lr"]


def test_training_on_longer_follows_the_stretched_schedule_from_its_first_step(make_config):
    """Resumed with a larger trainer.max_epochs, every step (the first included) trains at
    the cosine rate of the longer run: base × (1 + cos(pi × step / total)) / 2."""
    from omegaconf import open_dict

    first = make_config(*SMALL, "scheduler=cosine", name="first")
    train(first)
    last = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    longer = make_config(
        *SMALL[:3], "scheduler=cosine", "trainer.max_epochs=4", f"ckpt_path={last}"
    )
    with open_dict(longer):
        longer.callbacks.rates = {"_target_": f"{__name__}.FirstRates"}
    FirstRates.rates = {}
    train(longer)
    resumed_at = min(FirstRates.rates)
    total = 2 * resumed_at  # 4 epochs, of which 2 were trained
    base = float(longer.optimizer.lr)
    for step, rate in FirstRates.rates.items():
        assert rate == pytest.approx(base * (1 + math.cos(math.pi * step / total)) / 2, rel=1e-9)
    assert FirstRates.rates[resumed_at] > 0  # the first run's schedule had ended at 0
