"""Config resolvers and the checks run on a composed config before any work starts.

Every user mistake found here raises a :class:`~zoo.errors.ZooError` whose message names
the bad value and what is allowed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from hydra.utils import get_method
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from zoo.errors import ZooError
from zoo.kinds import INPUT_KINDS, TARGET_KINDS
from zoo.models.layers import NORMS
from zoo.registry import ModelInfo, check_builder_kwargs, check_common_arguments, get_model_info
from zoo.tasks.base import ZooTask

# Keys of a model config that are not builder arguments: the function Hydra calls
# (zoo.create_model) and the registered name it builds.
MODEL_CONFIG_KEYS = ("_target_", "name")
MODEL_TARGET = "zoo.create_model"


def register_resolvers() -> None:
    """Register zoo's OmegaConf resolvers (idempotent): ``${numel:${data.input_shape}}`` is
    the number of features in a flattened input, ``${small_input:${data.input_shape}}``
    whether a CNN should use its small-input form."""
    if not OmegaConf.has_resolver("numel"):
        OmegaConf.register_new_resolver("numel", lambda shape: math.prod(int(s) for s in shape))
    if not OmegaConf.has_resolver("cwd"):
        # Unlike ${hydra:runtime.cwd}, usable where Hydra's config is not set yet (sweepers).
        OmegaConf.register_new_resolver("cwd", os.getcwd)
    if not OmegaConf.has_resolver("pid"):
        # Unique run folders for runs started in the same second on one machine.
        OmegaConf.register_new_resolver("pid", os.getpid)
    if not OmegaConf.has_resolver("small_input"):
        OmegaConf.register_new_resolver("small_input", is_small_input)


SMALL_INPUT_MAX_SIZE = 64


def is_small_input(shape: Any) -> bool:
    """Whether images of ``shape`` (C, H, W) call for a CNN's small-input stem (no early
    aggressive downsampling): true up to 64 pixels. ``${small_input:${data.input_shape}}``."""
    return len(shape) == 3 and min(int(shape[1]), int(shape[2])) <= SMALL_INPUT_MAX_SIZE


def to_container(node: Any) -> Any:
    """A resolved plain ``dict``/``list`` copy of a config node (JSON- and pickle-safe)."""
    if isinstance(node, DictConfig | ListConfig):
        return OmegaConf.to_container(node, resolve=True)
    return node


def regularization_model_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """The regularization options that live in the model (dropout, norm), when set."""
    regularization = cfg.get("regularization") or {}
    return {
        key: regularization[key]
        for key in ("dropout", "norm")
        if regularization.get(key) is not None
    }


def model_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """The builder arguments of ``cfg.model`` with the regularization options that live in
    the model (dropout, norm) merged in."""
    kwargs = {k: v for k, v in to_container(cfg.model).items() if k not in MODEL_CONFIG_KEYS}
    return {**kwargs, **regularization_model_kwargs(cfg)}


def _imported(path: Any) -> Any:
    """The object a ``_target_`` path names, or None when it cannot be imported."""
    if not isinstance(path, str):
        return None
    try:
        return get_method(path)
    except Exception:  # Hydra raises ImportError or its own error types for a bad path
        return None


def check_model_target(model: DictConfig) -> None:
    """A model config is a call of ``zoo.create_model(name=..., **builder arguments)``, which
    Hydra's ``instantiate`` makes; refuse any other ``_target_``."""
    target = model.get("_target_")
    from zoo import create_model

    if _imported(target) is not create_model:
        raise ZooError(
            f"model._target_ must be {MODEL_TARGET} (the model is chosen by model.name), "
            f"got {target!r}."
        )


def task_class(cfg: DictConfig) -> type[ZooTask]:
    """The LightningModule class the ``task`` config instantiates."""
    _require(cfg.get("task") is not None, "the config has no 'task' section; e.g. task=...")
    target = cfg.task.get("_target_")
    cls = _imported(target)
    if not (isinstance(cls, type) and issubclass(cls, ZooTask) and cls.kind):
        raise ZooError(
            f"task._target_ must name a zoo task class (a ZooTask subclass, such as "
            f"zoo.tasks.classification.ClassificationTask), got {target!r}."
        )
    return cls


def missing_values(node: Any, prefix: str = "") -> list[str]:
    """Dotted keys of the ``???`` values in ``node``, found without resolving interpolations
    (which may fail for other reasons the checks report more clearly)."""
    found: list[str] = []
    if isinstance(node, DictConfig):
        items = [(str(key), key) for key in node]
    elif isinstance(node, ListConfig):
        items = [(str(index), index) for index in range(len(node))]
    else:
        return found
    for label, key in items:
        path = f"{prefix}.{label}" if prefix else label
        if OmegaConf.is_missing(node, key):
            found.append(path)
            continue
        child = node._get_node(key)
        if isinstance(child, DictConfig | ListConfig) and not OmegaConf.is_interpolation(node, key):
            found.extend(missing_values(child, path))
    return found


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ZooError(message)


def _check_numbers(cfg: DictConfig) -> None:
    lr = cfg.optimizer.get("lr") if cfg.get("optimizer") else None
    _require(lr is not None and lr > 0, f"optimizer.lr must be > 0, got {lr}.")
    batch_size = cfg.data.get("batch_size")
    _require(
        batch_size is not None and batch_size > 0, f"data.batch_size must be > 0, got {batch_size}."
    )
    trainer = cfg.trainer
    max_epochs, max_steps = trainer.get("max_epochs"), trainer.get("max_steps", -1)
    if not trainer.get("fast_dev_run"):
        _require(
            max_epochs is None
            or max_epochs >= 1
            or (max_epochs == -1 and max_steps and max_steps > 0),
            f"trainer.max_epochs must be >= 1, got {max_epochs}.",
        )
    reg = cfg.get("regularization") or {}
    if reg.get("dropout") is not None:
        _require(
            0.0 <= reg.dropout < 1.0,
            f"regularization.dropout must be in [0, 1), got {reg.dropout}.",
        )
    if reg.get("norm") is not None:
        _require(
            reg.norm in NORMS,
            f"regularization.norm must be one of {', '.join(NORMS)}, got {reg.norm!r}.",
        )
    for key in ("l1", "weight_decay"):
        value = reg.get(key, 0.0)
        _require(
            value is not None and value >= 0, f"regularization.{key} must be >= 0, got {value}."
        )
    smoothing = reg.get("label_smoothing", 0.0)
    _require(
        0.0 <= smoothing < 1.0,
        f"regularization.label_smoothing must be in [0, 1), got {smoothing}.",
    )
    clip = reg.get("grad_clip")
    _require(clip is None or clip > 0, f"regularization.grad_clip must be > 0 or null, got {clip}.")
    dropout = cfg.model.get("dropout")
    if dropout is not None:
        _require(0.0 <= dropout < 1.0, f"model.dropout must be in [0, 1), got {dropout}.")


def check_task_fits(task: type[ZooTask], info: ModelInfo, data: DictConfig) -> None:
    """Refuse a task the model does not do, or whose targets the data does not give."""
    _require(
        task.kind in info.tasks,
        f"model {info.name!r} does not do {task.kind}; it does: {', '.join(info.tasks)}.",
    )
    target_kind = data.get("target_kind")
    _require(
        target_kind in TARGET_KINDS,
        f"data.target_kind must be one of {', '.join(TARGET_KINDS)}, got {target_kind!r}.",
    )
    _require(
        target_kind in task.target_kinds,
        f"task {task.kind} learns from {' or '.join(task.target_kinds)} targets, but data "
        f"{_data_name(data)} gives {target_kind} targets.",
    )


def _data_name(data: DictConfig) -> str:
    return str(data.get("_target_", "")).rsplit(".", 1)[-1]


def check_model_fits_data(
    info: ModelInfo, data: DictConfig, kwargs: dict[str, Any] | None = None
) -> None:
    """Refuse a model whose input kind or minimum input size the data does not meet.

    Without the builder's ``kwargs`` only the input kind is checked."""
    kind = data.get("input_kind")
    _require(
        kind in INPUT_KINDS,
        f"data.input_kind must be one of {', '.join(INPUT_KINDS)}, got {kind!r}.",
    )
    shape = data.get("input_shape")
    _require(
        kind in info.input_kinds,
        f"model {info.name!r} takes {' or '.join(info.input_kinds)} inputs, but data "
        f"{_data_name(data)} gives {kind} inputs"
        + (f" of shape {list(shape)}." if shape is not None else "."),
    )
    if shape is None:
        return
    if kwargs is None:  # the size limit may depend on the builder's arguments
        return
    min_size = info.min_input_size_for(kwargs)
    if kind == "image" and min_size is not None:
        height, width = int(shape[1]), int(shape[2])
        _require(
            min(height, width) >= min_size,
            f"model {info.name!r} needs images of at least "
            f"{min_size}x{min_size} "
            f"pixels, but the data gives {height}x{width}.",
        )


# What a data config declares about its data; a data module whose class has a
# ``describe_source(**config)`` classmethod (data read from a file given by path) fills the
# ones left null (or "auto") from the data itself, before anything else reads them.
DESCRIPTION_KEYS = ("input_kind", "input_shape", "target_kind", "num_classes")


def complete_data_description(cfg: DictConfig) -> None:
    """Fill the null description keys of ``cfg.data`` from the data's own description."""
    target = cfg.data.get("_target_")
    cls = _imported(target)
    _require(cls is not None, f"data._target_ {target!r} cannot be imported.")
    describe = getattr(cls, "describe_source", None)
    if describe is None:
        return
    config = {k: v for k, v in to_container(cfg.data).items() if k != "_target_"}
    found = describe(**config)
    with open_dict(cfg.data):
        for key in DESCRIPTION_KEYS:
            if cfg.data.get(key) in (None, "auto") and found.get(key) is not None:
                cfg.data[key] = found[key]


def check_config(cfg: DictConfig) -> ModelInfo:
    """Check everything that can be checked before data is loaded; returns the model's entry."""
    for group in ("model", "data", "task", "optimizer", "trainer"):
        _require(cfg.get(group) is not None, f"the config has no {group!r} section.")
    missing = sorted(k for k in missing_values(cfg) if not k.startswith("hydra."))
    if missing:
        plural = len(missing) > 1
        raise ZooError(
            f"required value{'s' if plural else ''} not set: {', '.join(missing)}; set "
            f"{'them' if plural else 'it'} on the command line, e.g. {missing[0]}=...",
        )
    complete_data_description(cfg)
    name = cfg.model.get("name")
    _require(name is not None, "model.name is missing: it names the registered model to build.")
    info = get_model_info(name)
    check_model_target(cfg.model)
    task = task_class(cfg)
    _check_numbers(cfg)
    check_task_fits(task, info, cfg.data)
    check_model_fits_data(info, cfg.data)  # input kind first: model configs interpolate the shape
    kwargs = model_kwargs(cfg)
    for key in ("dropout", "norm"):
        if (cfg.get("regularization") or {}).get(key) is not None and key not in info.parameters:
            raise ZooError(
                f"regularization {key}={cfg.regularization[key]!r} does not apply to model "
                f"{name!r}: "
                f"it has no {key!r} argument (its arguments: {', '.join(info.parameters)})."
            )
    check_builder_kwargs(info, kwargs)
    check_common_arguments(info, kwargs)
    check_model_fits_data(info, cfg.data, kwargs)
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path is not None:
        _require(Path(ckpt_path).is_file(), f"ckpt_path {ckpt_path!r} does not exist.")
    return info
