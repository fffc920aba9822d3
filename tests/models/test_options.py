"""Every architecture and regularization option on every registered model: each value either
changes what is built (its modules, their settings or its parameters differ from the default
build) or changes training, or is refused in one line that says why it does not apply. No
option is ignored silently.

The options: the model options ``norm``, ``dropout`` and ``activation`` (``zoo.registry.
OPTIONS``), at every value the regularization configs (configs/regularization/) give them
and at others; the training options of those configs (l1, weight_decay, grad_clip,
label_smoothing), for every task kind a model serves. Models are built on the meta device
(nothing allocated); the biggest (test_contract.HEAVY) run with ``pytest -m slow``, as in the
contract test, since each build still walks every module.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import pytest
import torch
from conftest import named
from omegaconf import OmegaConf
from test_contract import built

from zoo import ZooError, get_model_info, list_models
from zoo.config.checks import import_path
from zoo.models.layers import NORMS
from zoo.registry import OPTIONS, check_builder_kwargs, check_common_arguments
from zoo.tasks.base import ZooTask

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
REGULARIZATION = {
    path.stem: OmegaConf.to_container(OmegaConf.load(path))
    for path in sorted((CONFIGS / "regularization").glob("*.yaml"))
}
#: the options of the regularization configs that live in the model; the others are training's
MODEL_KEYS = {"norm", "dropout"}
TRAINING_KEYS = {key for options in REGULARIZATION.values() for key in options} - MODEL_KEYS
#: every value tried: the configs' own and others (a model's default among them is skipped)
VALUES = {
    "norm": sorted({*NORMS, *(o["norm"] for o in REGULARIZATION.values() if "norm" in o)}),
    "dropout": sorted({0.25, *(o["dropout"] for o in REGULARIZATION.values() if "dropout" in o)}),
    "activation": ["gelu", "tanh"],
}


def _meta_build(name: str, **kwargs):
    """The model ``name`` built on the meta device (nothing allocated), its arguments checked
    as ``create_model`` checks them (its memory estimate, another meta build, left out)."""
    info = get_model_info(name)
    check_builder_kwargs(info, kwargs)
    check_common_arguments(info, kwargs)
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return info.raw_builder(**kwargs)


def _fingerprint(model: torch.nn.Module) -> tuple:
    """What tells two builds apart: the module tree with each module's settings (repr shows
    dropout rates, norm types, activations) and the parameters' names and shapes."""
    return repr(model), [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def test_the_options_are_the_configs():
    assert set(OPTIONS) >= MODEL_KEYS
    assert {"batchnorm", "layernorm", "dropout"} <= set(REGULARIZATION)
    assert {"l1", "weight_decay", "grad_clip", "label_smoothing"} == TRAINING_KEYS


@pytest.mark.parametrize("name", built(list_models()))
def test_every_model_option_changes_the_model_or_is_refused_saying_why(name):
    info = get_model_info(name)
    default = _fingerprint(_meta_build(name))
    for key in OPTIONS:
        if key not in info.parameters:
            why = info.refusal(key)
            assert why, f"{name} takes no {key} and does not say why (register_model inapplicable)"
            for value in VALUES[key]:
                with pytest.raises(ZooError, match=named(name, key)) as refused:
                    _meta_build(name, **{key: value})
                assert why in str(refused.value) and "\n" not in str(refused.value)
            continue
        own = info.parameters[key].default
        changed = refused = 0
        for value in VALUES[key]:
            if value == own or (key, value, own) == ("norm", "none", None):
                continue  # the default build itself
            try:
                model = _meta_build(name, **{key: value})
            except ZooError as error:  # a value the family refuses (batch norm in an RNN)
                assert names_value(str(error), key, value) and "\n" not in str(error), error
                refused += 1
                continue
            assert _fingerprint(model) != default, f"{name} with {key}={value!r} is the default"
            changed += 1
        assert changed or refused, f"no value of {key} changes {name}"


def names_value(message: str, key: str, value: object) -> bool:
    """Whether a refusal names the option (``norm=batch`` or ``norm`` and ``'batch'``)."""
    return f"{key}={value}" in message or (key in message and repr(value) in message)


TRAINER = OmegaConf.to_container(OmegaConf.load(CONFIGS / "trainer" / "default.yaml"))
TASKS = sorted({task for name in list_models() for task in get_model_info(name).tasks})


def _task_class(kind: str) -> type[ZooTask]:
    target = OmegaConf.load(CONFIGS / "task" / f"{kind}.yaml")["task"]["_target_"]
    return import_path(target)


@pytest.mark.parametrize("kind", TASKS)
def test_every_training_option_reaches_each_task_or_is_refused_saying_why(kind):
    """l1 and weight_decay reach every task's constructor (ZooTask's); grad_clip is Lightning's
    gradient clipping, which a task that steps its optimizers itself refuses; label smoothing
    is a classification task's. Every task kind a registered model serves is covered."""
    cls = _task_class(kind)
    taken = set(inspect.signature(cls.__init__).parameters)
    if "kwargs" in taken:  # passed on to ZooTask's
        taken |= set(inspect.signature(ZooTask.__init__).parameters)
    task_config = OmegaConf.to_container(OmegaConf.load(CONFIGS / "task" / f"{kind}.yaml"))["task"]
    for config, options in REGULARIZATION.items():
        for key, value in options.items():
            if key in MODEL_KEYS:
                continue
            cfg = {"regularization": {key: value}, "task": task_config}
            try:
                cls.check_regularization(cfg["regularization"])
                cls.check_settings(cfg, "model", None, {})
            except ZooError as error:
                assert names_value(str(error), f"regularization.{key}", value), str(error)
                assert "\n" not in str(error)
                continue
            if key == "grad_clip":  # the trainer's clipping, where Lightning steps the optimizers
                assert TRAINER["gradient_clip_val"] == "${regularization.grad_clip}"
                steps_itself = "automatic_optimization = False" in inspect.getsource(cls)
                assert not steps_itself, f"task={kind} ignores regularization={config}"
            elif key == "label_smoothing":  # the classification config passes it on
                assert key in taken and task_config[key] == "${regularization.label_smoothing}"
            else:
                assert key in taken, f"task={kind} ignores regularization={config}"


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["model=lstm", "data=digits_rows", "regularization=batchnorm"], ("norm=batch", "lstm")),
        (["model=vit_tiny", "regularization=layernorm"], ("norm", "layer", "vit_tiny", "ViT's")),
    ],
    ids=["batch-norm-in-an-lstm", "layer-norm-on-a-vit"],
)
def test_a_regularization_config_that_does_not_apply_is_one_line_saying_why(
    refusal, overrides, fragments
):
    """Through train.py's path: the run is refused before any work, naming the option, the
    model and why."""
    line = refusal(*overrides)
    assert all(fragment in line for fragment in fragments), line
