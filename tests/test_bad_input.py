"""Every user mistake is refused before any work, with one message naming the bad value and
what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo import ZooError
from zoo.run import train

CASES = [
    (["model.name=lenett"], r"unknown model 'lenett'\. Did you mean 'lenet5'.*Available: "),
    (["optimizer.lr=0"], r"optimizer\.lr must be > 0, got 0"),
    (["optimizer.lr=-0.1"], r"optimizer\.lr must be > 0, got -0\.1"),
    (
        ["regularization.dropout=1.0", "model=mlp"],
        r"regularization\.dropout must be in \[0, 1\), got 1\.0",
    ),
    (["model=mlp", "model.dropout=-0.2"], r"model\.dropout must be in \[0, 1\), got -0\.2"),
    (["data.batch_size=0"], r"data\.batch_size must be > 0, got 0"),
    (["trainer.max_epochs=0"], r"trainer\.max_epochs must be >= 1, got 0"),
    (
        ["data=digits_flat"],
        r"model 'lenet5' takes image inputs, but data DigitsDataModule gives vector",
    ),
    (
        ["data.image_size=16"],
        r"model 'lenet5' needs images of at least 32x32 pixels, but the data gives 16x16",
    ),
    (["+model.depth=3"], r"model 'lenet5' has no argument 'depth'; allowed: num_classes"),
    (
        ["regularization.norm=group", "model=mlp"],
        r"regularization\.norm must be one of none, batch, layer",
    ),
    (["regularization.l1=-1"], r"regularization\.l1 must be >= 0, got -1"),
    (["regularization.label_smoothing=1.0"], r"label_smoothing must be in \[0, 1\), got 1\.0"),
    (["ckpt_path=/no/such/last.ckpt"], r"ckpt_path '/no/such/last\.ckpt' does not exist"),
    (
        ["data=digits_flat", "model=mlp", "augmentation=[rotate]"],
        r"augmentation \['rotate'\] needs image data",
    ),
    (
        ["model._target_=does.not.Exist"],
        r"model\._target_ must be zoo\.create_model \(the model is chosen by model\.name\), "
        r"got 'does\.not\.Exist'",
    ),
    (["model._target_=zoo.models.mlp"], r"model\._target_ must be zoo\.create_model"),
    (
        ["task._target_=does.not.Exist"],
        r"task\._target_ must name a zoo task class .* got 'does\.not\.Exist'",
    ),
    (
        ["data.target_kind=value"],
        r"task classification learns from class targets, but data DigitsDataModule gives value",
    ),
    (["data.input_kind=tokens"], r"model 'lenet5' takes image inputs, but data .* gives tokens"),
    (["data.input_kind=pixels"], r"data\.input_kind must be one of image, vector, sequence"),
    (["model.num_classes=0"], r"model 'lenet5': num_classes must be an integer >= 1, got 0"),
]


@pytest.mark.parametrize(("overrides", "message"), CASES)
def test_refused_before_training(make_config, overrides, message):
    cfg = make_config(*overrides)
    with pytest.raises(ZooError, match=message):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()


def test_dropout_on_a_model_without_dropout(make_config, monkeypatch):
    # LeNet-5 has dropout, so use the registry to fake a builder without it.
    cfg = make_config("regularization=dropout", "model=mlp")
    from zoo.registry import get_model_info

    info = get_model_info("mlp")
    params = {k: v for k, v in info.parameters.items() if k != "dropout"}
    monkeypatch.setattr(type(info), "parameters", property(lambda self: params))
    with pytest.raises(
        ZooError, match=r"regularization dropout=0\.5 does not apply to model 'mlp'"
    ):
        train(cfg)


def test_required_values_must_be_set(make_config):
    cfg = make_config("data=image_folder", "model=mlp")
    with pytest.raises(ZooError, match=r"required values not set: data\.num_classes, data\.root"):
        train(cfg)


def test_a_model_that_does_not_do_the_task_is_refused(make_config, monkeypatch):
    """The registry's task list decides: a model registered for regression only is refused by
    the classification task, before any work."""
    import dataclasses

    from zoo import registry

    info = registry.get_model_info("mlp")
    monkeypatch.setitem(registry._REGISTRY, "mlp", dataclasses.replace(info, tasks=("regression",)))
    cfg = make_config("model=mlp", "data=digits_flat")
    with pytest.raises(
        ZooError, match=r"model 'mlp' does not do classification; it does: regression\."
    ):
        train(cfg)
    assert not Path(cfg.paths.output_dir, "checkpoints").exists()
