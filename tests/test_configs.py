"""Every config option composes through Hydra and trains: one fast_dev_run each."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from zoo.augment import AUGMENTATIONS_FOR
from zoo.training.run import train

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


# Data every machine has: the embedded digits. The downloaded image datasets are covered by
# tests/data/ on fixtures in their native formats.
EMBEDDED_DATA = ["digits", "digits_flat"]
FAST = ["debug=fdr", "data.batch_size=8", "data.eval_batch_size=8"]


def fit_one_step(make_config, *overrides: str) -> dict[str, float]:
    metrics = train(make_config(*FAST, *overrides))
    tested = {k: v for k, v in metrics.items() if k.startswith("test/")}
    assert tested and all(v == v for v in tested.values())  # tested, nothing NaN
    return metrics


def test_every_group_has_its_options():
    assert set(options("optimizer")) == {
        "sgd",
        "momentum",
        "nesterov",
        "adam",
        "adamw",
        "rmsprop",
        "adam_gan",
    }
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


@pytest.mark.parametrize(("data", "model"), [("digits", "lenet5"), ("digits_flat", "mlp")])
def test_one_model_per_embedded_data_module(make_config, data, model):
    """Every model's contract is in tests/models/test_contract.py; training runs one model per
    data module (the downloaded ones on fixtures in tests/data/)."""
    fit_one_step(make_config, f"data={data}", f"model={model}")


# The augmentation recipe belongs to the data: (data, the options it composes by default).
AUGMENTATION_PRESETS = [
    ("digits", {"digits"}),
    ("digits_flat", set()),
    ("mnist", set()),
    ("mnist1d", set()),
    ("mnist1d_flat", set()),
    ("fashion_mnist", set()),
    ("cifar10", {"crop", "flip"}),
    ("cifar100", {"crop", "flip"}),
    ("image_folder", set()),
    ("arrays", set()),
    ("digits_rows", set()),
    ("digits_pixels", set()),
    ("adding", set()),
    ("copy", set()),
    ("sine", set()),
    ("sunspots", set()),
    ("series_csv", set()),
    ("text", set()),
]


def test_every_data_option_has_its_augmentation_preset():
    assert {data for data, _ in AUGMENTATION_PRESETS} == set(options("data"))


@pytest.mark.parametrize(("data", "expected"), AUGMENTATION_PRESETS)
def test_augmentation_preset_comes_from_the_data(make_config, data, expected):
    assert set(make_config(f"data={data}").augmentation) == expected
    # ... and the command line still overrides it
    assert set(make_config(f"data={data}", "augmentation=[flip]").augmentation) == {"flip"}
    assert not make_config(f"data={data}", "augmentation=[none]").augmentation


def test_experiments_keep_their_own_augmentation(make_config):
    assert not make_config("experiment=mlp_digits").augmentation
    assert set(make_config("experiment=lenet5_digits").augmentation) == {"digits"}


def test_the_mlp_trains_on_flat_digits_as_typed(make_config):
    """`python train.py data=digits_flat model=mlp`, with nothing else: no augmentation for
    images is applied to vectors, so nothing needs switching off (composed and trained
    in-process, as train.py composes it)."""
    metrics = train(
        make_config("data=digits_flat", "model=mlp", "debug=fdr", "callbacks=none", "logger=none")
    )
    assert "test/acc" in metrics


@pytest.mark.parametrize("optimizer", options("optimizer"))
def test_every_optimizer(make_config, optimizer):
    fit_one_step(
        make_config,
        f"optimizer={optimizer}",
        "model=mlp",
        "data=digits_flat",
    )


@pytest.mark.parametrize(
    "optimizer",
    ["adam", pytest.param("adamw", marks=pytest.mark.slow)],  # the same resolver
)
def test_adam_configs_use_the_rate_a_model_declares(make_config, optimizer):
    from hydra.utils import instantiate

    from zoo import get_model_info, list_models

    declared = {name: get_model_info(name).adam_lr for name in list_models()}
    declared = {name: lr for name, lr in declared.items() if lr is not None}
    # the deep networks without normalization that stay at chance at the default rate
    assert {"alexnet", "vgg16", "vgg19"} <= set(declared)
    for name, lr in declared.items():
        cfg = make_config(f"model={name}", f"optimizer={optimizer}")
        optimizer_ = instantiate(cfg.optimizer)([torch.zeros(1, requires_grad=True)])
        assert optimizer_.param_groups[0]["lr"] == lr, name
    assert make_config("model=lenet5", f"optimizer={optimizer}").optimizer.lr == 0.002
    overridden = make_config("model=vgg16", f"optimizer={optimizer}", "optimizer.lr=0.01")
    assert overridden.optimizer.lr == 0.01
    assert make_config("model=vgg16", "optimizer=sgd").optimizer.lr == 0.05


@pytest.mark.parametrize("scheduler", options("scheduler"))
def test_every_scheduler(make_config, scheduler):
    fit_one_step(
        make_config,
        f"scheduler={scheduler}",
        "model=mlp",
        "data=digits_flat",
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
    )


# Each augmentation option on data of the input kind it applies to.
SEQUENCE_AUGMENTATION = ["model=gru", "data=sine", "task=regression"]
TEXT_AUGMENTATION = ["model=lstm", "data=text", "task=language_model", *(
    "data.max_chars=20000", "data.window=16", "data.eval_batch_size=8")]  # fmt: skip
DATA_FOR_AUGMENTATION = {
    **{option: SEQUENCE_AUGMENTATION for option in AUGMENTATIONS_FOR["sequence"]},
    **{option: TEXT_AUGMENTATION for option in AUGMENTATIONS_FOR["tokens"]},
    "[jitter,scaling,time_mask]": SEQUENCE_AUGMENTATION,
}


@pytest.mark.parametrize(
    "augmentation", [*options("augmentation"), "[rotate,crop]", "[jitter,scaling,time_mask]"]
)
def test_every_augmentation(make_config, augmentation):
    fit_one_step(
        make_config, f"augmentation={augmentation}", *DATA_FOR_AUGMENTATION.get(augmentation, [])
    )


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment(make_config, experiment):
    fit_one_step(make_config, f"experiment={experiment}")


# mlflow and wandb: optional extras, tested offline with `pytest -m slow` (tests/test_loggers.py)
@pytest.mark.parametrize("logger", sorted(set(options("logger")) - {"mlflow", "wandb"}))
def test_every_logger(make_config, logger, tmp_path):
    cfg = make_config(
        f"logger={logger}",
        "model=mlp",
        "data=digits_flat",
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
    train(make_config(f"debug={debug}", "model=mlp", "data=digits_flat", *extra))


@pytest.mark.parametrize("trainer", ["default", "cpu"])
def test_cpu_trainers(make_config, trainer):
    fit_one_step(make_config, f"trainer={trainer}", "model=mlp", "data=digits_flat")


@pytest.mark.parametrize("trainer", ["gpu", "ddp", "ddp_cpu"])
def test_other_trainers_compose(make_config, trainer):
    cfg = make_config(f"trainer={trainer}")
    assert cfg.trainer.accelerator in ("gpu", "cpu")
    if trainer != "gpu":
        assert cfg.trainer.strategy == "ddp"


def test_callbacks_default_has_checkpoint_early_stopping_lr_monitor_bar_summary_attention(
    make_config,
):
    cfg = make_config(quiet=False)
    assert set(cfg.callbacks) == {
        "model_checkpoint",
        "early_stopping",
        "learning_rate_monitor",
        "rich_progress_bar",
        "model_summary",
        "attention_maps",
    }
    assert cfg.callbacks.model_checkpoint.monitor == "val/loss"
    assert cfg.callbacks.model_checkpoint.mode == "min"
    assert cfg.callbacks.model_checkpoint.save_last is True  # last.ckpt every epoch


@pytest.mark.parametrize(
    ("overrides", "patience"),
    [
        ([], 6),  # the default 30 epochs: a fifth of them
        (["trainer.max_epochs=100"], 20),
        (["trainer.max_epochs=10"], 5),  # the floor
        (["trainer.max_epochs=100", "trainer.check_val_every_n_epoch=4"], 5),
        (["trainer.max_epochs=40", "+trainer.val_check_interval=0.25"], 32),  # 160 validations
        (["trainer.max_epochs=null", "trainer.max_steps=500"], 200),  # Lightning's 1000 epochs
        (["trainer.max_epochs=100", "callbacks.early_stopping.patience=3"], 3),
    ],
)
def test_early_stopping_waits_a_fifth_of_the_run(make_config, overrides, patience):
    # Primer, Early Stopping: a patience longer than the run never fires.
    cfg = make_config(*overrides)
    assert cfg.callbacks.early_stopping.patience == patience


def test_hparams_search_composes(make_config):
    cfg = make_config("hparams_search=optuna")
    assert cfg.hydra.sweeper.direction == "maximize"
    assert cfg.optimized_metric == "val/acc_best"
    assert "optimizer.lr" in cfg.hydra.sweeper.params


def test_hparams_search_says_what_it_searches():
    """The header comment names every key the search draws, and no other setting."""
    text = (CONFIGS / "hparams_search" / "optuna.yaml").read_text()
    header = text.split("\n#   python", 1)[0]  # the first sentence, before its example
    params = yaml.safe_load(text)["hydra"]["sweeper"]["params"]
    assert params and all(key in header for key in params), header
    settings = {"dropout", "optimizer.lr", "data.batch_size", "regularization.weight_decay"}
    assert not {s for s in settings - set(params) if s in header}, header


def test_model_configs_take_shape_and_classes_from_the_data(make_config):
    cfg = make_config("model=mlp", "data=digits_flat")
    assert cfg.model.in_features == 64 and cfg.model.num_classes == 10
    cfg = make_config("model=mlp", "data=digits", "data.image_size=16")
    assert cfg.model.in_features == 256
