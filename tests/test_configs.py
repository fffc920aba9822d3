"""Every config option composes through Hydra and trains: one fast_dev_run each."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo.run import train

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


# Data every machine has: the embedded digits. The downloaded image datasets are covered by
# tests/data/ on fixtures in their native formats.
EMBEDDED_DATA = ["digits", "digits_flat"]
FAST = ["debug=fdr", "data.batch_size=8", "data.eval_batch_size=8"]


def fit_one_step(make_config, *overrides: str) -> dict[str, float]:
    metrics = train(make_config(*FAST, *overrides))
    assert metrics["test/loss"] == metrics["test/loss"]  # not NaN
    return metrics


def test_every_group_has_its_options():
    assert set(options("optimizer")) == {"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"}
    assert set(options("scheduler")) == {
        "none",
        "step",
        "exponential",
        "cosine",
        "warmup_cosine",
        "onecycle",
        "plateau",
    }
    assert {
        "none",
        "l1",
        "l2",
        "dropout",
        "batchnorm",
        "layernorm",
        "label_smoothing",
        "grad_clip",
    } <= set(options("regularization"))
    assert {"none", "flip", "crop", "rotate", "color", "erasing"} <= set(options("augmentation"))
    assert {"default", "cpu", "gpu", "ddp", "ddp_cpu"} <= set(options("trainer"))
    assert {"csv", "tensorboard"} <= set(options("logger"))
    assert {"fdr", "overfit", "limit", "profiler"} <= set(options("debug"))


@pytest.mark.parametrize("model", options("model"))
@pytest.mark.parametrize("data", EMBEDDED_DATA)
def test_every_model_on_embedded_data(make_config, model, data):
    from zoo import ZooError, get_model_info

    input_kinds = get_model_info(make_config(f"model={model}").model.name).input_kinds
    overrides = [f"model={model}", f"data={data}", "augmentation=[none]"]
    if data == "digits_flat" and "vector" not in input_kinds:
        with pytest.raises(ZooError, match="inputs"):
            train(make_config(*FAST, *overrides))
        return
    fit_one_step(make_config, *overrides)


@pytest.mark.parametrize("optimizer", options("optimizer"))
def test_every_optimizer(make_config, optimizer):
    fit_one_step(
        make_config,
        f"optimizer={optimizer}",
        "model=mlp",
        "data=digits_flat",
        "augmentation=[none]",
    )


@pytest.mark.parametrize("scheduler", options("scheduler"))
def test_every_scheduler(make_config, scheduler):
    fit_one_step(
        make_config,
        f"scheduler={scheduler}",
        "model=mlp",
        "data=digits_flat",
        "augmentation=[none]",
    )


@pytest.mark.parametrize(
    "regularization", [*options("regularization"), "[l2,dropout]", "[l1,batchnorm,grad_clip]"]
)
def test_every_regularization(make_config, regularization):
    fit_one_step(
        make_config,
        f"regularization={regularization}",
        "model=mlp",
        "data=digits_flat",
        "augmentation=[none]",
    )


@pytest.mark.parametrize("augmentation", [*options("augmentation"), "[rotate,crop]"])
def test_every_augmentation(make_config, augmentation):
    fit_one_step(make_config, f"augmentation={augmentation}")


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment(make_config, experiment):
    fit_one_step(make_config, f"experiment={experiment}")


@pytest.mark.parametrize("logger", options("logger"))
def test_every_logger(make_config, logger, tmp_path):
    cfg = make_config(
        f"logger={logger}",
        "model=mlp",
        "data=digits_flat",
        "augmentation=[none]",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
    )
    train(cfg)
    out = Path(cfg.paths.output_dir)
    if logger in ("csv", "many_loggers"):
        assert (out / "csv" / "metrics.csv").read_text().startswith("epoch")
    if logger in ("tensorboard", "many_loggers"):
        assert list((out / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.parametrize("debug", options("debug"))
def test_every_debug_mode(make_config, debug):
    extra = [] if debug == "fdr" else ["trainer.max_epochs=1", "++trainer.limit_train_batches=2"]
    train(
        make_config(
            f"debug={debug}", "model=mlp", "data=digits_flat", "augmentation=[none]", *extra
        )
    )


@pytest.mark.parametrize("trainer", ["default", "cpu"])
def test_cpu_trainers(make_config, trainer):
    fit_one_step(
        make_config, f"trainer={trainer}", "model=mlp", "data=digits_flat", "augmentation=[none]"
    )


@pytest.mark.parametrize("trainer", ["gpu", "ddp", "ddp_cpu"])
def test_other_trainers_compose(make_config, trainer):
    cfg = make_config(f"trainer={trainer}")
    assert cfg.trainer.accelerator in ("gpu", "cpu")
    if trainer != "gpu":
        assert cfg.trainer.strategy == "ddp"


def test_callbacks_default_has_checkpoint_early_stopping_lr_monitor_bar_and_summary(make_config):
    cfg = make_config(quiet=False)
    assert set(cfg.callbacks) == {
        "model_checkpoint",
        "early_stopping",
        "learning_rate_monitor",
        "rich_progress_bar",
        "model_summary",
    }
    assert cfg.callbacks.model_checkpoint.monitor == "val/acc"
    assert cfg.callbacks.model_checkpoint.save_last is True


def test_hparams_search_composes(make_config):
    cfg = make_config("hparams_search=optuna")
    assert cfg.hydra.sweeper.direction == "maximize"
    assert cfg.optimized_metric == "val/acc_best"
    assert "optimizer.lr" in cfg.hydra.sweeper.params


def test_model_configs_take_shape_and_classes_from_the_data(make_config):
    cfg = make_config("model=mlp", "data=digits_flat")
    assert cfg.model.in_features == 64 and cfg.model.num_classes == 10
    cfg = make_config("model=mlp", "data=digits", "data.image_size=16")
    assert cfg.model.in_features == 256
