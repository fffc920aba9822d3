"""Config resolvers and the checks run on a composed config before any work starts.

Every user mistake found here raises a :class:`~zoo.errors.ZooError` whose message names
the bad value and what is allowed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from zoo.augment import build_augmentation
from zoo.config.sections import check_keys, check_values, import_path
from zoo.config.values import is_int, is_int_or_float
from zoo.data.base import AS_SEQUENCE_CHOICES, as_sequence_shape
from zoo.errors import ZooError, unknown_name_error
from zoo.kinds import INPUT_KINDS, TARGET_KINDS
from zoo.models import ModelInfo, get_model_info
from zoo.models.layers import NORMS
from zoo.registry import check_builder_kwargs, check_common_arguments
from zoo.resources import check_name_inside, check_writable_folder
from zoo.tasks.base import ZooTask
from zoo.training.checkpointing import (
    checkpoint_folder,
    ckpt_path_override,
    latest_checkpoint,
    train_command,
)
from zoo.weights import checkpoint_model_weights, load_weights, read_checkpoint

# Keys of a model config that are not builder arguments: the function Hydra calls
# (zoo.create_model) and the registered name it builds.
MODEL_CONFIG_KEYS = ("_target_", "name")
MODEL_TARGET = "zoo.create_model"


def register_resolvers() -> None:
    """Register zoo's OmegaConf resolvers (idempotent): ``${numel:${data.input_shape}}`` is
    the number of features in a flattened input, ``${small_input:${data.input_shape}}``
    whether a CNN should use its small-input form."""
    resolvers = {
        "numel": lambda shape: math.prod(int(s) for s in shape),
        # Unlike ${hydra:runtime.cwd}, usable where Hydra's config is not set yet (sweepers).
        "cwd": os.getcwd,
        # Unique run folders for runs started in the same second on one machine.
        "pid": os.getpid,
        "small_input": is_small_input,
        "num_outputs": num_outputs,
        "sequence_head": sequence_head,
        "vocab_size": input_vocab_size,
        "adam_lr": model_adam_lr,
        "patience": early_stopping_patience,
    }
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


# Early stopping waits this share of a run's validations without improvement, and at least
# PATIENCE_FLOOR (primer: Early Stopping). A fixed patience is either longer than short runs
# (it never fires) or too short for long ones; a fifth of the run stops one whose last fifth
# brought nothing, while the floor keeps a short run from being stopped by the noise of a few
# validations on a small validation split.
PATIENCE_FRACTION = 0.2
PATIENCE_FLOOR = 5
# The patience of a run with no epoch bound (trainer.max_epochs null or -1: bounded by steps or
# time): a fifth of the 1,000 epochs Lightning trains by default when nothing else bounds it.
UNBOUNDED_EPOCHS = 1000


def early_stopping_patience(trainer: Any) -> int:
    """The validations without improvement early stopping waits for a run with ``trainer``'s
    settings: :data:`PATIENCE_FRACTION` of the validations it will make (``max_epochs`` over
    ``check_val_every_n_epoch``, times the validations per epoch a fractional
    ``val_check_interval`` adds), at least :data:`PATIENCE_FLOOR`.
    ``patience: ${patience:${trainer}}`` in configs/callbacks/early_stopping.yaml."""
    epochs = trainer.get("max_epochs")
    if not is_int(epochs) or epochs < 1:  # null or -1: no epoch bound (steps, time)
        epochs = UNBOUNDED_EPOCHS
    every = trainer.get("check_val_every_n_epoch") or 1
    validations = epochs / every if is_int(every) and every >= 1 else epochs
    interval = trainer.get("val_check_interval")
    if isinstance(interval, float) and 0.0 < interval < 1.0:
        validations /= interval
    return max(PATIENCE_FLOOR, math.ceil(PATIENCE_FRACTION * validations))


def model_adam_lr(name: Any, default: float) -> float:
    """The Adam learning rate the registered model ``name`` declares (``adam_lr`` in its
    registration: VGG-16/19, AlexNet, the ViT-B/L sizes), else ``default``:
    ``lr: ${adam_lr:${oc.select:model.name,null},0.002}`` in the Adam and AdamW configs.
    An unknown or missing name gives ``default`` here; the model check names it later."""
    try:
        declared = get_model_info(name).adam_lr if isinstance(name, str) else None
    except ZooError:
        declared = None
    return default if declared is None else declared


SMALL_INPUT_MAX_SIZE = 64


def is_small_input(shape: Any) -> bool:
    """Whether images of ``shape`` (C, H, W) call for a CNN's small-input stem (no early
    aggressive downsampling): true up to 64 pixels. ``${small_input:${data.input_shape}}``."""
    return len(shape) == 3 and min(int(shape[1]), int(shape[2])) <= SMALL_INPUT_MAX_SIZE


def num_outputs(data: Any) -> int | None:
    """How many values a model must give per input (or per step) for ``data``'s targets:
    its classes, the size of its value targets, or its vocabulary for next-token targets.
    ``${num_outputs:${data}}`` in model configs that serve several task kinds."""
    kind = data.get("target_kind")
    if kind == "class":
        return data.get("num_classes")
    if kind == "value":
        shape = data.get("target_shape")
        return None if shape is None else math.prod(int(s) for s in shape)
    if kind == "next_token":
        return data.get("vocab_size")
    return None


def has_per_step_targets(data: Any) -> bool:
    """Whether ``data`` pairs every step of a sequence with its own target: next tokens, or
    a data module that says so (``per_step_targets``, as the copy task does)."""
    if data.get("target_kind") == "next_token":
        return True
    return bool(getattr(import_path(data.get("_target_")), "per_step_targets", False))


def sequence_head(data: Any) -> str:
    """The head a sequence model needs for ``data``: "all" (one output per step) for
    per-step targets, else "last" (one output per sequence, from its last step):
    ``${sequence_head:${data}}`` in the recurrent models' configs."""
    return "all" if has_per_step_targets(data) else "last"


def input_vocab_size(data: Any) -> int | None:
    """``data.vocab_size`` when the inputs are token ids, else None (the model then reads
    feature vectors): ``${vocab_size:${data}}`` in the sequence models' configs."""
    return data.get("vocab_size") if data.get("input_kind") == "tokens" else None


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


def check_model_target(model: DictConfig) -> None:
    """A model config is a call of ``zoo.create_model(name=..., **builder arguments)``, which
    Hydra's ``instantiate`` makes; refuse any other ``_target_``."""
    target = model.get("_target_")
    from zoo.models import create_model

    if import_path(target) is not create_model:
        raise ZooError(
            f"model._target_ must be {MODEL_TARGET} (the model is chosen by model.name), "
            f"got {target!r}."
        )


def task_class(cfg: DictConfig) -> type[ZooTask]:
    """The LightningModule class the ``task`` config instantiates."""
    _require(cfg.get("task") is not None, "the config has no 'task' section; e.g. task=...")
    target = cfg.task.get("_target_")
    cls = import_path(target)
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


def _check_norm(cfg: DictConfig) -> None:
    norm = (cfg.get("regularization") or {}).get("norm")
    _require(
        norm is None or norm in NORMS,
        f"regularization.norm must be one of {', '.join(NORMS)}, got {norm!r}.",
    )


def check_factories(cfg: DictConfig) -> None:
    """Build the optimizer and the scheduler once on a stand-in parameter, so that values
    they refuse (``optimizer.betas=[2,0.999]``, a negative momentum or gamma) are refused
    now, before any data is loaded."""
    from hydra.utils import instantiate

    def build(section: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return instantiate(cfg[section])(*args, **kwargs)
        except ZooError:  # our own checks, in the schedulers
            raise
        except (TypeError, ValueError, RuntimeError) as error:
            message = " ".join(str(error).split()) or type(error).__name__
            raise ZooError(f"{section} {cfg[section]._target_}: {message}.") from None

    optimizer = build("optimizer", [torch.nn.Parameter(torch.zeros(1))])
    if cfg.get("scheduler") is not None:
        build("scheduler", optimizer, total_steps=10, steps_per_epoch=5)


def check_monitored_metrics(cfg: DictConfig, task: type[ZooTask] | ZooTask) -> None:
    """Every metric the run watches must be one the task logs in training, watched in the
    direction that is better for it; a validation metric needs a validation split. Given the
    built task rather than its class, the metrics are those it logs with its model and
    options (a VAE's ELBO, for example)."""
    metrics = task.run_metrics() if isinstance(task, ZooTask) else task.logged_metrics
    logged = {m: mode for m, mode in metrics.items() if not m.startswith("test/")}
    checkpoint = (cfg.get("callbacks") or {}).get("model_checkpoint")
    _require(
        OmegaConf.select(cfg, "monitor.metric") is not None
        or not checkpoint
        or checkpoint.get("monitor") is not None,
        "monitor.metric=null leaves the best checkpoint nothing to be chosen by; name a metric "
        f"the {task.kind} task logs: {', '.join(logged)}.",
    )
    watched = [
        ("monitor.metric", "monitor.mode"),
        ("optimized_metric", None),
        ("scheduler.monitor", "scheduler.mode"),
        # a callback's own monitor may be set directly (its mode is then the user's choice)
        *((f"callbacks.{name}.monitor", None) for name in (cfg.get("callbacks") or {})),
    ]
    for key, mode_key in watched:
        value = OmegaConf.select(cfg, key, default=None)
        if value is None:
            continue
        if value not in logged:
            setting = ""
            if isinstance(task, ZooTask):
                hint = task.unlogged_hint(value)
                setting = " with this model and these options" + (f" ({hint})" if hint else "")
            raise ZooError(
                f"{key} {value!r} is not a metric the {task.kind} task logs in training"
                f"{setting}; it logs: {', '.join(logged)}."
            )
        mode = OmegaConf.select(cfg, mode_key, default=None) if mode_key else None
        if mode is not None and mode != logged[value]:
            raise ZooError(
                f"{key}={value} is better when {'lower' if logged[value] == 'min' else 'higher'}"
                f": set {mode_key}={logged[value]} (got {mode})."
            )
        val_fraction = OmegaConf.select(cfg, "data.val_fraction", default=None)
        if value.startswith("val/") and val_fraction == 0:
            raise ZooError(
                f"data.val_fraction=0 leaves no validation split, but {key} watches {value}; "
                "set data.val_fraction > 0 or watch a train/ metric."
            )


def check_task_fits(task: type[ZooTask], info: ModelInfo, data: DictConfig) -> None:
    """Refuse a task the model does not do, or whose targets the data does not give."""
    _require(
        task.kind in info.tasks,
        f"model {info.name!r} does not do {task.kind}; it does: "
        f"{', '.join(f'task={kind}' for kind in info.tasks)}.",
    )
    target_kind = data.get("target_kind")
    _require(
        target_kind in TARGET_KINDS,
        f"data.target_kind must be one of {', '.join(TARGET_KINDS)}, got {target_kind!r}.",
    )
    _require(
        target_kind in task.target_kinds,
        f"task {task.kind} learns from {' or '.join(task.target_kinds)} targets, but "
        f"{_data_name(data)} gives {target_kind} targets" + _task_hint(data, target_kind, info),
    )


# The task kind that learns from each target kind, for error messages.
TASK_FOR_TARGET = {"class": "classification", "value": "regression", "next_token": "language_model"}


# Data that give each task's targets, for error messages.
DATA_FOR_TASK = {
    "classification": "data=digits",
    "regression": "data=sine, adding or sunspots",
    "language_model": "data=text",
}


def _task_hint(data: DictConfig, target_kind: str, info: ModelInfo) -> str:
    task = TASK_FOR_TARGET.get(target_kind)
    if task is not None and task not in info.tasks:  # the model cannot do that task: other data
        wanted = [f"{t} (e.g. {DATA_FOR_TASK[t]})" for t in info.tasks if t in DATA_FOR_TASK]
        return f"; model {info.name!r} does {' or '.join(wanted)}."
    hint = f"; use task={task}" if task is not None else ""
    if target_kind == "value" and str(data.get("_target_", "")).endswith("ArrayDataModule"):
        hint += " (or, if its values are class labels, set data.target_kind=class)"
    return hint + "."


def _data_name(data: DictConfig) -> str:
    """How the user chose the data: ``data=arrays`` (else the data module's class name)."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        choice = HydraConfig.get().runtime.choices.get("data")
        if choice:
            return f"data={choice}"
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
    if kind == "image" and "sequence" in info.input_kinds:
        hint = (
            "; read images as sequences of rows: data=digits_rows, or data.as_sequence=rows "
            "augmentation=[none] with any image data"
        )
    elif kind in ("sequence", "tokens") and "image" in info.input_kinds:
        hint = f"; use image data (data=digits) or a model for {kind} inputs (model=lstm)"
    else:
        hint = ""
    _require(
        kind in info.input_kinds,
        f"model {info.name!r} takes {' or '.join(k.removesuffix('s') for k in info.input_kinds)} "
        f"inputs, but {_data_name(data)} gives {kind.removesuffix('s')} inputs"
        + (f" of shape {list(shape)}" if shape is not None else "")
        + (hint or "."),
    )
    if shape is None:
        return
    if kwargs is None:  # the size limit may depend on the builder's arguments
        return
    if kind in ("sequence", "tokens"):
        steps = int(shape[0])
        for key in ("block_size", "max_len"):  # the longest sequence a model can take
            limit = kwargs.get(key)
            _require(
                not isinstance(limit, int) or steps <= limit,
                f"model {info.name!r} takes sequences of at most model.{key}={limit} steps, but "
                f"{_data_name(data)} gives {steps}; set model.{key} >= {steps}"
                + (" or a shorter data.window." if "window" in data else "."),
            )
    channels = kwargs.get("in_channels")
    _require(
        kind != "image" or not isinstance(channels, int) or channels == int(shape[0]),
        f"model.in_channels={channels} but {_data_name(data)} gives {int(shape[0])}-channel "
        f"images; set model.in_channels={int(shape[0])}, or leave it to the data "
        "(${data.input_shape[0]}, the model configs' default).",
    )
    min_size = info.min_input_size_for(kwargs)
    if kind == "image" and min_size is not None:
        height, width = int(shape[1]), int(shape[2])
        _require(
            min(height, width) >= min_size,
            f"model {info.name!r} needs images of at least "
            f"{min_size}x{min_size} "
            f"pixels, but the data gives {height}x{width}"
            + (f"; set data.image_size={min_size}." if "image_size" in data else "."),
        )


# What a data config declares about its data; a data module whose class has a
# ``describe_source(**config)`` classmethod (data read from a file given by path) fills the
# ones left null (or "auto") from the data itself, before anything else reads them.
DESCRIPTION_KEYS = (
    "input_kind",
    "input_shape",
    "target_kind",
    "num_classes",
    "target_shape",
    "vocab_size",
)


def complete_data_description(cfg: DictConfig) -> None:
    """Fill the null description keys of ``cfg.data`` from the data's own description."""
    target = cfg.data.get("_target_")
    cls = import_path(target)
    _require(cls is not None, f"data._target_ {target!r} cannot be imported.")
    describe = getattr(cls, "describe_source", None)
    _declare_as_sequence(cfg.data)
    if describe is None:
        return
    config = {k: v for k, v in to_container(cfg.data).items() if k != "_target_"}
    found = describe(**config)
    with open_dict(cfg.data):
        for key in DESCRIPTION_KEYS:
            if cfg.data.get(key) in (None, "auto") and found.get(key) is not None:
                cfg.data[key] = found[key]


def _declare_as_sequence(data: DictConfig) -> None:
    """Images read as sequences (``data.as_sequence``, see
    :class:`zoo.data.base.TensorDataModule`) are declared as the sequences they become:
    rows (H steps of C·W features) or pixels (H·W steps of C)."""
    mode = data.get("as_sequence")
    _require(
        mode in (None, *AS_SEQUENCE_CHOICES),
        f"data.as_sequence must be one of {', '.join(AS_SEQUENCE_CHOICES)} or null, got {mode!r}.",
    )
    shape = data.get("input_shape")
    if mode not in ("rows", "pixels") or data.get("input_kind") != "image" or shape is None:
        return
    with open_dict(data):
        data.input_kind = "sequence"
        data.input_shape = as_sequence_shape(shape, mode)


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
    check_values(cfg)
    check_keys(cfg)
    complete_data_description(cfg)
    name = cfg.model.get("name")
    _require(name is not None, "model.name is missing: it names the registered model to build.")
    info = get_model_info(name)
    check_model_target(cfg.model)
    task = task_class(cfg)
    _check_norm(cfg)
    check_task_fits(task, info, cfg.data)
    check_model_fits_data(info, cfg.data)  # input kind first: model configs interpolate the shape
    kwargs = model_kwargs(cfg)
    for key in ("dropout", "norm"):
        if (cfg.get("regularization") or {}).get(key) is not None and key not in info.parameters:
            why = info.refusal(key) or (
                f"it has no {key!r} argument (its arguments: {', '.join(info.parameters)})."
            )
            raise ZooError(
                f"regularization {key}={cfg.regularization[key]!r} does not apply to model "
                f"{name!r}: {why}"
            )
    check_builder_kwargs(info, kwargs)
    if info.check_arguments is not None:  # a rule of the model's own arguments
        info.check_arguments(kwargs)
    check_common_arguments(info, kwargs)
    check_model_fits_data(info, cfg.data, kwargs)
    classes = cfg.data.get("num_classes")
    _require(
        "num_classes" not in kwargs or classes is None or kwargs["num_classes"] == classes,
        f"model.num_classes={kwargs.get('num_classes')} but the data has {classes} classes; "
        "leave model.num_classes to the data (${data.num_classes}).",
    )
    check_outputs_fit_targets(cfg.data, kwargs)
    _require(
        "head" in kwargs or task.kind == "language_model" or not has_per_step_targets(cfg.data),
        f"model {name!r} gives one output per sequence, but {_data_name(cfg.data)} gives one "
        "target per step; use a model with a per-step head (model=lstm, gru or rnn).",
    )
    _require(
        "head" not in kwargs or (kwargs["head"] == "all") == has_per_step_targets(cfg.data),
        f"model.head={kwargs.get('head')} but {_data_name(cfg.data)} gives "
        + (
            "one target per step: set model.head=all."
            if has_per_step_targets(cfg.data)
            else "one target per sequence: set model.head to last, mean or max."
        ),
    )
    check_causal(cfg, task, info, kwargs)
    check_image_size(cfg, task, kwargs)
    task.check_regularization(cfg.get("regularization") or {})
    task.check_settings(cfg, info.name, info.model_class, kwargs)
    check_holdout(cfg.data, task)
    _require(
        not cfg.get("channels_last") or cfg.data.input_kind == "image",
        f"channels_last=true is a memory format for images, but {_data_name(cfg.data)} gives "
        f"{cfg.data.input_kind} inputs; leave channels_last=false.",
    )
    check_factories(cfg)
    # built once here so an option on the wrong kind of data is refused before any work
    build_augmentation(cfg.get("augmentation") or {}, input_kind=cfg.data.input_kind, data=cfg.data)
    check_monitored_metrics(cfg, task)
    check_trainer(cfg)
    check_checkpoint(cfg, info, kwargs)
    check_run_folder(cfg)
    check_output_paths(cfg)
    return info


# The arguments of the trainer, callbacks and loggers that name a folder the run writes, and
# those that name a path inside that folder (a logger's name and version, a checkpoint's file).
OUTPUT_FOLDER_KEYS = ("dirpath", "save_dir", "default_root_dir")
OUTPUT_NAME_KEYS = ("name", "version", "sub_dir", "filename")


def check_output_paths(cfg: DictConfig) -> None:
    """Every folder the run will write is writable, and every name that becomes a path under
    one stays inside it, before any work: a checkpoint folder that could not be written
    failed at the end of the first epoch, and ``logger.csv.name=../../../../tmp/x`` wrote the
    metrics outside the run folder."""
    sections = [("trainer", cfg.get("trainer"))]
    for group in ("callbacks", "logger"):
        sections += [(f"{group}.{name}", node) for name, node in (cfg.get(group) or {}).items()]
    for label, node in sections:
        if not isinstance(node, DictConfig) or not any(k in node for k in OUTPUT_FOLDER_KEYS):
            continue
        folder = "the run folder"
        for key in OUTPUT_FOLDER_KEYS:
            value = node.get(key)
            if isinstance(value, str) and value and "://" not in value:  # not s3://, not gs://
                check_writable_folder(value, f"{label}.{key}")
                folder = repr(value)
        for key in OUTPUT_NAME_KEYS:
            check_name_inside(node.get(key), f"{label}.{key}", folder)


def check_run_folder(cfg: DictConfig) -> None:
    """A new run (training, not resuming) must not write into the folder of an earlier run
    that holds checkpoints or results: its checkpoints, metrics and export would be
    overwritten."""
    if not cfg.get("train", True) or cfg.get("ckpt_path") is not None:
        return
    folder = Path(cfg.paths.output_dir)
    resume = latest_checkpoint(folder, checkpoint_folder(cfg))
    if resume is None:
        for record in ("results.json", "model"):
            _require(
                not (folder / record).exists(),
                f"the run folder {str(folder)!r} holds a finished run ({record}): a new run "
                "would overwrite its results and exported model; write this one to another "
                "folder (hydra.run.dir=...).",
            )
        return
    where = f"the run folder {str(folder)!r}"
    if not resume.is_relative_to(folder):  # the checkpoint folder set outside the run folder
        where = f"the checkpoint folder {str(resume.parent)!r}"
    raise ZooError(
        f"{where} already holds a run's checkpoints; resume that run with its overrides and "
        f"{ckpt_path_override(resume)}, or write this one to another folder (hydra.run.dir=..., "
        "callbacks.model_checkpoint.dirpath=...)."
    )


def check_holdout(data: DictConfig, task: type[ZooTask]) -> None:
    """``data.holdout_classes`` must name classes the data has, for a task that does not
    predict them: an autoencoder (the held-out classes are its anomalies) or a GAN. A
    classifier would be tested on classes it was never shown."""
    holdout, classes = data.get("holdout_classes"), data.get("num_classes")
    _require(
        holdout is None or isinstance(holdout, ListConfig | list),
        f"data.holdout_classes must be a list of class indices, e.g. [3], got {holdout!r}.",
    )
    if not holdout:
        return
    _require(
        task.holds_out_classes,
        f"data.holdout_classes={to_container(holdout)} with task={task.kind}: held-out classes "
        "are for task=autoencoder (they are its anomalies) or task=gan; a "
        f"{task.kind} model would be tested on classes it never trained on.",
    )
    if not isinstance(classes, int):
        return
    _require(
        isinstance(holdout, ListConfig | list)
        and all(is_int(c) and 0 <= c < classes for c in holdout),
        f"data.holdout_classes {to_container(holdout)} are not all classes of "
        f"{_data_name(data)}; it has classes 0 to {classes - 1}.",
    )
    _require(len(set(holdout)) < classes, "data.holdout_classes leaves no class to train on.")


def check_image_size(cfg: DictConfig, task: type[ZooTask], kwargs: dict[str, Any]) -> None:
    """A model that makes images (``task.makes_images``) makes them at the data's size."""
    shape = cfg.data.get("input_shape")
    size = kwargs.get("image_size")
    if not task.makes_images or size is None or shape is None:
        return
    height, width = (int(s) for s in list(shape)[-2:])
    _require(
        size == height == width,
        f"model.image_size={size} but {_data_name(cfg.data)} gives {height}x{width} images"
        + (
            "; leave model.image_size to the data (${data.input_shape[1]})."
            if height == width
            else "; the model makes square images: resize the data (data.image_size)."
        ),
    )


def check_outputs_fit_targets(data: DictConfig, kwargs: dict[str, Any]) -> None:
    """A regressor gives one output per target value, a language model one per token of
    the vocabulary."""
    if "num_classes" not in kwargs:
        return
    wanted = num_outputs(data)
    kind = data.get("target_kind")
    if kind not in ("value", "next_token") or wanted is None:
        return
    what = "values per target" if kind == "value" else "tokens in the vocabulary"
    _require(
        kwargs["num_classes"] == wanted,
        f"model.num_classes={kwargs['num_classes']} but the data has {wanted} {what}; leave "
        "model.num_classes to the data (${num_outputs:${data}}).",
    )


def check_causal(
    cfg: DictConfig, task: type[ZooTask], info: ModelInfo, kwargs: dict[str, Any]
) -> None:
    """Refuse a bidirectional model where each step must be predicted from the steps before
    it alone: language modeling and next-step forecasting (primer: bidirectional RNNs "cannot
    be used for real-time prediction")."""
    if not kwargs.get("bidirectional"):
        return
    causal_task = getattr(task, "causal", False)
    if causal_task or getattr(import_path(cfg.data.get("_target_")), "causal", False):
        what = task.kind if causal_task else f"forecasting ({_data_name(cfg.data)})"
        raise ZooError(
            f"model {info.name!r} is bidirectional: its backward direction reads the steps it "
            f"is asked to predict, so it cannot be used for {what}; set "
            "model.bidirectional=false."
        )


TIMEDELTA_KEYS = ("weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds")


def check_max_time(max_time: Any) -> None:
    """``trainer.max_time`` as Lightning's ``Timer`` reads it: "DD:HH:MM:SS" or a mapping of
    ``datetime.timedelta`` arguments, a positive duration."""
    if max_time is None:
        return
    if isinstance(max_time, DictConfig | dict):
        values = to_container(max_time)
        valid = (
            bool(values)
            and all(key in TIMEDELTA_KEYS for key in values)
            and all(is_int_or_float(value) and value >= 0 for value in values.values())
            and timedelta(**values) > timedelta(0)
        )
    else:
        parts = max_time.split(":") if isinstance(max_time, str) else []
        valid = (
            len(parts) == 4
            and all(part.strip().isdigit() for part in parts)
            and any(int(part) for part in parts)
        )
    _require(
        valid,
        f'trainer.max_time must be a positive duration "DD:HH:MM:SS" (e.g. "00:00:03:00" for '
        f"three minutes) or a mapping of {', '.join(TIMEDELTA_KEYS)} (e.g. {{minutes: 3}}), "
        f"got {to_container(max_time)!r}.",
    )


def check_trainer(cfg: DictConfig) -> None:
    """Refuse an accelerator Lightning does not know, and one this machine does not have (a
    GPU trainer without a GPU): Lightning's exceptions otherwise."""
    from lightning.pytorch.accelerators import AcceleratorRegistry

    check_max_time(OmegaConf.select(cfg, "trainer.max_time", default=None))
    strategy = OmegaConf.select(cfg, "trainer.strategy", default=None)
    if isinstance(strategy, str):  # not a strategy object's config
        from lightning.pytorch.strategies import StrategyRegistry

        names = ("auto", *StrategyRegistry.available_strategies())
        if strategy not in names:
            raise unknown_name_error("trainer.strategy", strategy, names)
    accelerator = OmegaConf.select(cfg, "trainer.accelerator", default=None)
    if accelerator is None or isinstance(accelerator, DictConfig):  # Lightning's default; an object
        return
    names = ("auto", "gpu", *sorted(AcceleratorRegistry.available_accelerators()))
    _require(
        accelerator in names,
        f"trainer.accelerator must be one of {', '.join(names)}, got {accelerator!r}.",
    )
    if accelerator not in ("auto", "cpu", "gpu", "cuda"):
        try:
            available = AcceleratorRegistry[accelerator]["accelerator"].is_available()
        except Exception:  # its package is missing (torch_xla for tpu)
            available = False
        _require(
            available,
            f"trainer.accelerator={accelerator} is not available on this machine; use "
            "trainer=default (CPU, or a GPU when there is one).",
        )
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ZooError(
            f"trainer.accelerator={accelerator} needs a CUDA GPU, and none is visible here; "
            "use trainer=default (CPU, or a GPU when there is one)."
        )


def check_trainer_fits_data(cfg: DictConfig, datamodule: Any) -> None:
    """Trainer settings whose range the loaded data sets: a ``trainer.val_check_interval`` of
    more batches than an epoch has (Lightning refused it with a traceback once fit started)."""
    trainer = cfg.trainer
    interval = trainer.get("val_check_interval")
    if (
        not is_int(interval)
        or trainer.get("check_val_every_n_epoch", 1) is None  # counted across epochs
        or trainer.get("fast_dev_run")
        or trainer.get("overfit_batches")
    ):
        return
    try:
        batches = len(datamodule.train_dataloader())
    except (TypeError, RuntimeError, NotImplementedError):  # a loader without a length
        return
    limit = trainer.get("limit_train_batches")
    if is_int(limit):
        batches = min(batches, limit)
    elif isinstance(limit, float):
        batches = int(batches * limit)
    _require(
        interval <= batches,
        f"trainer.val_check_interval={interval} is more than the {batches} training batches of "
        "an epoch; lower it, give a share of an epoch (e.g. 0.5), or set "
        "trainer.check_val_every_n_epoch=null to count batches across epochs.",
    )


# Settings a resumed run takes from its checkpoint, whatever the config says: the optimizer's
# (its learning rate and weight decay live in the saved optimizer state) and the schedule's;
# and those that fix how many optimizer steps an epoch takes, which the schedule was sized for
# (with their value when a recorded config leaves them out; None: compare only when recorded).
RESUMED_SETTINGS = {
    "optimizer": None,
    "scheduler": None,
    "regularization.weight_decay": None,
    "data.batch_size": None,
    "trainer.accumulate_grad_batches": 1,
}


def check_resumed_settings(cfg: DictConfig, saved_config: dict[str, Any], path: str) -> None:
    """Refuse a resume whose optimizer, schedule, weight decay, batch size or gradient
    accumulation differ from the checkpoint's run: Lightning restores the optimizer and
    schedule from the checkpoint, so new values would be recorded in the results but never
    used, and the schedule's steps per epoch would no longer match the epochs'."""
    changed = []
    for key, default in RESUMED_SETTINGS.items():
        saved = _recorded_value(saved_config, key, default)
        if saved is None:
            continue  # a checkpoint without a record of it
        current = to_container(OmegaConf.select(cfg, key, default=default))
        if isinstance(saved, dict) and isinstance(current, dict):
            changed += [
                f"{key}.{name}={current.get(name)!r} (it was {saved.get(name)!r})"
                for name in sorted(set(saved) | set(current))
                if saved.get(name) != current.get(name)
            ]
        elif saved != current:
            changed.append(f"{key}={current!r} (it was {saved!r})")
    _require(
        not changed,
        f"ckpt_path {path!r} resumes its optimizer and schedule as they were, but the config "
        f"changes {', '.join(changed)}; resume with the run's settings (a changed learning "
        "rate, schedule or weight decay would be recorded but not used; a changed batch size "
        "or gradient accumulation would change the steps per epoch the schedule was sized "
        "for).",
    )


def _recorded_value(recorded: Any, key: str, default: Any) -> Any:
    """The value at the dotted ``key`` of a config recorded in a file, as it was written: an
    interpolation in it (``${oc.env:HOME}``, planted in a shared checkpoint) is a plain
    string, never resolved, so no refusal shows what it would resolve to."""
    for part in key.split("."):
        if not isinstance(recorded, Mapping) or part not in recorded:
            return default
        recorded = recorded[part]
    return recorded


def check_fixed_length_schedule(
    cfg: DictConfig, checkpoint: dict[str, Any], saved_config: dict[str, Any], path: str
) -> None:
    """A schedule whose state fixes its length (``OneCycleLR`` keeps ``total_steps``) cannot
    be stretched by resuming with another ``trainer.max_epochs``: torch refuses its step past
    the end, after training has started."""
    fixed = [
        state["total_steps"]
        for state in checkpoint.get("lr_schedulers") or []
        if isinstance(state, dict) and "total_steps" in state
    ]
    saved_epochs = (saved_config.get("trainer") or {}).get("max_epochs")
    max_epochs = cfg.trainer.get("max_epochs")
    _require(
        not fixed or saved_epochs is None or saved_epochs == max_epochs,
        f"ckpt_path {path!r} was trained with scheduler=onecycle, whose length was fixed at "
        f"{fixed[0] if fixed else 0} steps ({saved_epochs} epochs) when it started; resume "
        f"with trainer.max_epochs={saved_epochs}, or start a new run to train longer.",
    )


def _trained_with(checkpoint_file: Path) -> str:
    """The command line of the run that wrote ``checkpoint_file`` (from the Hydra record in
    its run folder, ``<run>/checkpoints/<file>.ckpt``), for a resume to repeat; "" if none."""
    import yaml

    record = checkpoint_file.absolute().parent.parent / ".hydra" / "overrides.yaml"
    try:
        overrides = yaml.safe_load(record.read_text())
    except (OSError, yaml.YAMLError):
        return ""
    if not isinstance(overrides, list):
        return ""
    return f" (its run was: {train_command([str(o) for o in overrides])})"


def check_checkpoint(cfg: DictConfig, info: ModelInfo, kwargs: dict[str, Any]) -> None:
    """``ckpt_path`` must be a zoo training checkpoint of the model the config builds;
    ``train=false`` needs one (it tests and exports its weights)."""
    path = cfg.get("ckpt_path")
    if path is None:
        _require(
            cfg.get("train", True),
            "train=false tests and exports the weights of ckpt_path, which is not set; set "
            "ckpt_path=outputs/runs/<run>/checkpoints/<file>.ckpt (or train=true).",
        )
        return
    _require(
        isinstance(path, str),
        f"ckpt_path must be the path of a checkpoint file (a string), got {path!r}; e.g. "
        "ckpt_path=outputs/runs/<run>/checkpoints/last.ckpt.",
    )
    if not path.strip():
        raise ZooError(
            f"ckpt_path is empty ({path!r}); set it to a checkpoint file, e.g. "
            "ckpt_path=outputs/runs/<run>/checkpoints/last.ckpt, or leave it out (null) to "
            "start a new run."
        )
    file = Path(path)
    if file.is_dir():
        hints = [h for h in (file / "checkpoints" / "last.ckpt", file / "last.ckpt") if h.is_file()]
        suggestion = f"; did you mean {str(hints[0])!r}?" if hints else "."
        raise ZooError(f"ckpt_path {path!r} is a folder, not a checkpoint file{suggestion}")
    _require(file.is_file(), f"ckpt_path {path!r} does not exist.")
    # Lightning loads it next (to resume, or to test it): read and verified once
    checkpoint = read_checkpoint(file, keep=cfg.get("train", True) or cfg.get("test", True))
    weights = checkpoint_model_weights(checkpoint, path)  # refuses a file without one
    spec = (checkpoint.get("zoo") or {}).get("model")
    saved = spec.get("name") if isinstance(spec, dict) else None
    if saved is not None and saved != info.name:  # the run's record is read only to refuse
        raise ZooError(
            f"ckpt_path {path!r} holds a {saved!r} model, but the config builds {info.name!r}; "
            f"add model={saved} (with the data and arguments it was trained with)"
            f"{_trained_with(file)}."
        )
    saved_kwargs = spec.get("kwargs", {}) if isinstance(spec, dict) else {}
    changed = [k for k in saved_kwargs if k in kwargs and kwargs[k] != saved_kwargs[k]]
    if changed:
        raise ZooError(
            f"ckpt_path {path!r} holds {info.name} built with "
            + ", ".join(f"{k}={saved_kwargs[k]!r}" for k in changed)
            + ", but the config builds "
            + ", ".join(f"{k}={kwargs[k]!r}" for k in changed)
            + "; resume with the data and model arguments it was trained with"
            + f"{_trained_with(file)}."
        )
    saved_config = (checkpoint.get("zoo") or {}).get("config") or {}
    saved_optimizer = (saved_config.get("optimizer") or {}).get("_target_")
    current_optimizer = cfg.optimizer.get("_target_")
    _require(
        not cfg.get("train", True) or saved_optimizer in (None, current_optimizer),
        f"ckpt_path {path!r} was trained with optimizer {saved_optimizer}, but the config "
        f"uses {current_optimizer}; resume with the same optimizer (its state is in the "
        "checkpoint).",
    )
    if cfg.get("train", True):
        check_resumed_settings(cfg, saved_config, path)
        epoch, max_epochs = checkpoint.get("epoch"), cfg.trainer.get("max_epochs")
        if isinstance(epoch, int) and max_epochs not in (None, -1):
            trained = epoch + 1  # Lightning's epoch is 0-based; fewer: its traceback
            _require(
                trained <= max_epochs,
                f"ckpt_path {path!r} was written in epoch {trained}, past "
                f"trainer.max_epochs={max_epochs}; to train on, set trainer.max_epochs above "
                f"{trained}; to test and export it as it is, train=false.",
            )
        check_fixed_length_schedule(cfg, checkpoint, saved_config, path)
    from zoo.models import create_model

    load_weights(create_model(info.name, **kwargs), weights, str(path))
