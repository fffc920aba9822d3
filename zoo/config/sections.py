"""Checks of a composed config's values and keys, run before anything reads them.

Two kinds of mistakes that would otherwise surface as a traceback after work started, or
not at all:

- a value of the wrong type or range (``seed=abc``, ``trainer.max_epochs=1.5``,
  ``optimizer.lr=inf``): :func:`check_values`;
- a key nothing reads (``+optimzer.lr=0.1``, ``+regularization.dropuot=0.3``,
  ``+optimizer.lrr=0.1``): :func:`check_keys` compares every key with what reads it, the
  signature of the class or function a section instantiates, or the fixed keys of the
  sections zoo reads itself, and names the closest known key.

Each raises :class:`~zoo.errors.ZooError` with the bad key, its value and what is allowed.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from zoo.config.values import is_int, is_int_or_float, is_number
from zoo.errors import ZooError, closest

# The keys zoo reads at the top level and in the sections it reads itself. `promise` is an
# experiment's recorded test metrics and their tolerances, which scripts/reproduce.py --check
# holds a run to; a run ignores it.
ROOT_KEYS = frozenset(
    {
        "task_name", "tags", "seed", "train", "test", "ckpt_path", "compile", "channels_last",
        "threads", "promise", "curves",
        "monitor",
        "optimized_metric", "optimized_direction", "regularization", "augmentation", "data",
        "model", "task", "optimizer", "scheduler", "trainer", "callbacks", "logger", "paths",
        "hydra",
    }
)  # fmt: skip
SECTION_KEYS = {
    "regularization": frozenset(
        {"l1", "weight_decay", "dropout", "norm", "label_smoothing", "grad_clip"}
    ),
    "monitor": frozenset({"metric", "mode"}),
    "paths": frozenset({"root_dir", "data_dir", "log_dir", "output_dir"}),
}
# Sections that Hydra instantiates: their keys are the arguments of their ``_target_``.
INSTANTIATED = ("data", "task", "optimizer", "scheduler", "trainer")
# Sections of named entries, each instantiated.
INSTANTIATED_ENTRIES = ("callbacks", "logger", "augmentation")
# Groups whose entries are each built from a _target_, with their default option.
GROUP_LISTS = {"callbacks": "default", "logger": "csv"}
# Arguments the training system passes itself, never from the config.
FILLED_IN = {
    "task": {"model", "optimizer", "scheduler", "weight_decay", "l1", "augmentation"},
    "scheduler": {"optimizer", "total_steps", "steps_per_epoch"},
    "optimizer": {"params"},
    "trainer": {"callbacks", "logger", "plugins"},
}


def import_path(path: Any) -> Any:
    """The object a dotted ``_target_`` path names (``zoo.create_model``), or None when it
    cannot be imported. Quiet, unlike Hydra's ``get_method``, which logs the failure."""
    if not isinstance(path, str) or not path:
        return None
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                found = getattr(found, attribute)
        except AttributeError:
            return None
        return found
    return None


def _fail(message: str) -> None:
    raise ZooError(message)


# -- values ----------------------------------------------------------------------------------
def _value(cfg: DictConfig, key: str) -> tuple[bool, Any]:
    """Whether ``key`` is set (not missing, not null), and its raw value (unresolved
    interpolations are resolved; a failing one counts as unset here)."""
    try:
        value = OmegaConf.select(
            cfg, key, throw_on_missing=False, throw_on_resolution_failure=False
        )
    except Exception:
        return False, None
    return value is not None, value


INTEGERS: dict[str, tuple[int, str]] = {
    # key: (minimum, what it is)
    "seed": (0, "the random seed"),
    "threads": (1, "the CPU threads torch uses"),
    "data.batch_size": (1, "samples per training batch"),
    "data.eval_batch_size": (1, "samples per evaluation batch"),
    "data.image_size": (1, "the image side in pixels"),
    "data.split_seed": (0, "the seed of the train/val/test split"),
    "data.length": (1, "the sequence length"),
    "data.window": (1, "the steps or characters a model reads"),
    "data.horizon": (1, "the steps to forecast"),
    "data.num_samples": (1, "the number of generated sequences"),
    "data.copy_length": (1, "the symbols to copy"),
    "data.num_symbols": (1, "the symbols of the copy task's alphabet"),
    "data.max_chars": (1, "the characters of the text to use"),
    "data.seed": (0, "the seed of the generated data"),
    "trainer.min_epochs": (0, "the minimum number of epochs"),
    "trainer.log_every_n_steps": (1, "the logging interval"),
    "trainer.check_val_every_n_epoch": (1, "the validation interval"),
    "callbacks.early_stopping.patience": (0, "validations without improvement before stopping"),
}
#: the range of a dropout probability: the one definition that the config check, the
#: registry's common arguments and every model's own check (zoo.models.layers.check_dropout)
#: share
DROPOUT: tuple[Callable[[Any], bool], str] = (
    lambda v: is_int_or_float(v) and 0 <= v < 1,
    "a number in [0, 1)",
)
NUMBERS: dict[str, tuple[Callable[[float], bool], str]] = {
    "optimizer.lr": (lambda v: v > 0, "a finite number > 0"),
    "optimizer.momentum": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "optimizer.weight_decay": (lambda v: v >= 0, "a number >= 0"),
    "optimizer.eps": (lambda v: v > 0, "a number > 0"),
    "optimizer.alpha": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "data.val_fraction": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "data.test_fraction": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "data.noise": (lambda v: v >= 0, "a number >= 0"),
    "regularization.l1": (lambda v: v >= 0, "a number >= 0"),
    "regularization.weight_decay": (lambda v: v >= 0, "a number >= 0"),
    "regularization.label_smoothing": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "regularization.dropout": DROPOUT,
    "regularization.grad_clip": (lambda v: v > 0, "a number > 0 (or null)"),
    "model.dropout": DROPOUT,
    # Lightning flips its sign for mode=max: a negative one counts a worse value as progress
    "callbacks.early_stopping.min_delta": (lambda v: v >= 0, "a number >= 0"),
}
# The largest value of keys of INTEGERS that have one: seeds numpy and scikit-learn take.
MAXIMA = {"seed": 2**32 - 1, "data.split_seed": 2**32 - 1, "data.seed": 2**63 - 1}


def _batches(value: Any) -> bool:
    """A number of batches (an integer >= 0) or a share of them (a number in [0, 1])."""
    return (is_int(value) and value >= 0) or (isinstance(value, float) and 0 <= value <= 1)


# Lightning's Trainer arguments, their ranges: it refuses some only once its constructor has
# printed the devices it found, some only in the middle of fit (a ZeroDivisionError for
# accumulate_grad_batches=0), and takes others silently (max_steps=0 trains nothing and
# exports the untrained model).
TRAINER_VALUES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "trainer.max_steps": (
        lambda v: is_int(v) and (v == -1 or v >= 1),
        "-1 (no limit) or an integer >= 1 (0 trains nothing)",
    ),
    "trainer.min_steps": (lambda v: is_int(v) and v >= 0, "an integer >= 0, or null"),
    "trainer.accumulate_grad_batches": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
    "trainer.gradient_clip_val": (
        lambda v: is_number(v) and v >= 0,
        "a number >= 0, or null (set it with regularization.grad_clip)",
    ),
    "trainer.gradient_clip_algorithm": (lambda v: v in ("norm", "value"), "norm or value"),
    "trainer.limit_train_batches": (
        lambda v: _batches(v) and v != 0,
        "a share of the batches in (0, 1] or a number of them >= 1 (0 trains nothing)",
    ),
    "trainer.limit_val_batches": (_batches, "a share of the batches in [0, 1] or a number >= 0"),
    "trainer.limit_test_batches": (_batches, "a share of the batches in [0, 1] or a number >= 0"),
    "trainer.limit_predict_batches": (
        _batches,
        "a share of the batches in [0, 1] or a number >= 0",
    ),
    "trainer.overfit_batches": (_batches, "a share of the batches in [0, 1] or a number >= 0"),
    "trainer.val_check_interval": (
        lambda v: (is_int(v) and v >= 1) or (isinstance(v, float) and 0 < v <= 1),
        "a share of an epoch in (0, 1] or a number of training batches >= 1",
    ),
    "trainer.num_sanity_val_steps": (
        lambda v: is_int(v) and v >= -1,
        "an integer >= 0, or -1 for every validation batch",
    ),
    "trainer.num_nodes": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
    "trainer.fast_dev_run": (
        lambda v: isinstance(v, bool) or (is_int(v) and v >= 0),
        "true, false or a number of batches >= 0",
    ),
    "trainer.profiler": (  # or a profiler object's config
        lambda v: not isinstance(v, str) or v in ("simple", "advanced", "pytorch", "xla"),
        "simple, advanced, pytorch, xla or null",
    ),
    "trainer.reload_dataloaders_every_n_epochs": (
        lambda v: is_int(v) and v >= 0,
        "an integer >= 0",
    ),
}
BOOLEANS = ("train", "test", "compile", "channels_last", "curves")
# Keys of NUMBERS that null does not mean "the default" for (the optimizer gets lr=None).
NOT_NULL = ("optimizer.lr",)


def check_values(cfg: DictConfig) -> None:
    """Refuse values of the wrong type or out of range, naming the key and what is allowed."""
    for key, (minimum, what) in INTEGERS.items():
        present, value = _value(cfg, key)
        if present and (not is_int(value) or value < minimum):
            _fail(f"{key} ({what}) must be an integer >= {minimum}, got {value!r}.")
        if present and key in MAXIMA and value > MAXIMA[key]:
            _fail(
                f"{key} ({what}) must be an integer from {minimum} to {MAXIMA[key]}, got {value}."
            )
    for key, (valid, allowed) in TRAINER_VALUES.items():
        present, value = _value(cfg, key)
        if present and not valid(value):
            _fail(f"{key} must be {allowed}, got {_plain(value)!r}.")
    for key, (valid, allowed) in NUMBERS.items():
        present, value = _value(cfg, key)
        if present and (not is_number(value) or not valid(value)):
            _fail(f"{key} must be {allowed}, got {value!r}.")
    for key in NOT_NULL:
        section, name = key.rsplit(".", 1)
        node = OmegaConf.select(cfg, section, default=None)
        if OmegaConf.is_dict(node) and name in node and node[name] is None:
            _fail(f"{key} must be {NUMBERS[key][1]}, got None.")
    for key in BOOLEANS:
        present, value = _value(cfg, key)
        if present and not isinstance(value, bool):
            _fail(f"{key} must be true or false, got {value!r}.")
    _check_epochs(cfg)
    present, devices = _value(cfg, "trainer.devices")
    if present and not (
        devices in ("auto", -1)
        or (is_int(devices) and devices >= 1)
        or (OmegaConf.is_list(devices) and all(is_int(d) and d >= 0 for d in devices))
    ):
        _fail(
            f"trainer.devices must be an integer >= 1, -1 or auto (all), or a list of device "
            f"indices, got {_plain(devices)!r}."
        )
    present, betas = _value(cfg, "optimizer.betas")
    if present and not (
        OmegaConf.is_list(betas)
        and len(betas) == 2
        and all(is_number(b) and 0 <= b < 1 for b in betas)
    ):
        _fail(f"optimizer.betas must be two numbers in [0, 1), got {_plain(betas)!r}.")
    present, mode = _value(cfg, "monitor.mode")
    if present and mode not in ("min", "max"):
        _fail(f"monitor.mode must be min or max, got {mode!r}.")
    _check_promise(cfg)


def _check_promise(cfg: DictConfig) -> None:
    """An experiment's ``promise``: each metric a run logs (``test/acc``) mapped to its
    recorded ``value`` and the absolute ``tolerance`` scripts/reproduce.py --check allows."""
    present, promise = _value(cfg, "promise")
    if not present:
        return
    example = "e.g. promise: {test/acc: {value: 0.97, tolerance: 0.006}}"
    if not OmegaConf.is_dict(promise) or not promise:
        _fail(
            f"promise must map logged metrics to a value and a tolerance, {example}; got "
            f"{_plain(promise)!r}."
        )
    for metric, entry in promise.items():
        if "/" not in str(metric):
            _fail(
                f"promise key {metric!r} is not a logged metric; allowed: names such as "
                f"test/acc or val/loss, {example}."
            )
        if not OmegaConf.is_dict(entry) or set(entry) != {"value", "tolerance"}:
            _fail(
                f"promise.{metric} must hold exactly value and tolerance, {example}; got "
                f"{_plain(entry)!r}."
            )
        if not is_number(entry.value):
            _fail(f"promise.{metric}.value must be a finite number, got {entry.value!r}.")
        if not is_number(entry.tolerance) or entry.tolerance < 0:
            _fail(
                f"promise.{metric}.tolerance must be a finite number >= 0, got {entry.tolerance!r}."
            )


def _check_epochs(cfg: DictConfig) -> None:
    # trainer.max_steps is an integer here: TRAINER_VALUES refused any other value before
    _, max_epochs = _value(cfg, "trainer.max_epochs")
    _, max_steps = _value(cfg, "trainer.max_steps")
    _, fast_dev_run = _value(cfg, "trainer.fast_dev_run")
    if max_epochs is None or fast_dev_run:
        return
    unlimited = max_epochs == -1 and is_int(max_steps) and max_steps > 0
    if not is_int(max_epochs) or (max_epochs < 1 and not unlimited):
        _fail(f"trainer.max_epochs must be an integer >= 1, got {max_epochs!r}.")
    _, min_epochs = _value(cfg, "trainer.min_epochs")
    if is_int(min_epochs) and max_epochs != -1 and min_epochs > max_epochs:
        _fail(
            f"trainer.min_epochs={min_epochs} is more than trainer.max_epochs={max_epochs}, "
            "which ends the run first; lower trainer.min_epochs or raise trainer.max_epochs."
        )
    _, min_steps = _value(cfg, "trainer.min_steps")
    if is_int(min_steps) and is_int(max_steps) and max_steps != -1 and min_steps > max_steps:
        _fail(
            f"trainer.min_steps={min_steps} is more than trainer.max_steps={max_steps}, which "
            "ends the run first; lower trainer.min_steps or raise trainer.max_steps."
        )


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


# -- keys ------------------------------------------------------------------------------------
def accepted_arguments(target: Callable[..., Any]) -> set[str] | None:
    """The keyword arguments ``target`` accepts, following ``**kwargs`` up a class's bases;
    None when it accepts any."""
    if inspect.isclass(target):
        names: set[str] = set()
        for cls in target.__mro__:
            init = cls.__dict__.get("__init__")
            if init is None:
                continue
            parameters = inspect.signature(init).parameters.values()
            names |= {p.name for p in parameters if p.kind not in _VARIADIC and p.name != "self"}
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
                return names
        return None
    parameters = inspect.signature(target).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind not in _VARIADIC}


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _unknown(where: str, key: str, known: Iterable[str], reader: str) -> ZooError:
    known = sorted(known)
    suggestion = closest(key, known, n=1)
    hint = f" Did you mean '{where}{suggestion[0]}'?" if suggestion else ""
    return ZooError(
        f"unknown key '{where}{key}': {reader} does not read it.{hint} Known keys: "
        f"{', '.join(known)}."
    )


# Sections built from Lightning's and torch's classes, which take a value of the wrong type
# and fail on it later, mid-training (EarlyStopping(patience="abc") at the first epoch that
# does not improve), or never (Adam(amsgrad="flase") is truthy): their arguments are checked
# against their annotations, else their defaults' types. The zoo's own classes check their
# arguments themselves, with messages that say the allowed range.
TYPE_CHECKED = frozenset({"callbacks", "logger", "trainer", "optimizer"})
# Classes that hand their **kwargs on to another, whose signature then names and types them.
# With the arguments the class fills in itself.
FORWARDED_KWARGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lightning.pytorch.loggers.tensorboard.TensorBoardLogger": (
        "torch.utils.tensorboard.SummaryWriter",
        ("log_dir",),
    ),
}
# Ranges of Lightning's arguments that its classes check only once fit starts, by the class
# that takes them (its subclasses too: RichModelSummary is a ModelSummary).
ARGUMENT_RANGES: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "lightning.pytorch.callbacks.model_summary.ModelSummary": {
        "max_depth": (
            lambda v: is_int(v) and v >= -1,
            "-1 (every layer) or an integer >= 0 (the depth of layers shown)",
        ),
    },
}
# The argument types whose values are checked against the annotation, and how to say them.
_SIMPLE_TYPES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _initializers(target: Callable[..., Any]) -> list[Callable[..., Any]]:
    """``target`` itself, or for a class the ``__init__`` of each class up its bases that
    defines one, nearest first."""
    if inspect.isclass(target):
        return [cls.__dict__["__init__"] for cls in target.__mro__ if "__init__" in cls.__dict__]
    return [target]


def _annotation(target: Callable[..., Any], key: str) -> Any:
    """The type annotation of ``target``'s argument ``key`` (for a class, of the first
    ``__init__`` up its bases that names it); None when it has none or it cannot be read."""
    for function in _initializers(target):
        hints = _type_hints(function)
        if hints is None or key in hints or key in _parameters(function):
            return None if hints is None else hints.get(key)
    return None


@functools.cache
def _parameters(function: Callable[..., Any]) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return frozenset()


@functools.cache
def _type_hints(function: Callable[..., Any]) -> dict[str, Any] | None:
    """``function``'s resolved annotations (cached: Trainer's take milliseconds to resolve);
    None when they cannot be resolved."""
    try:
        return typing.get_type_hints(function)
    except (TypeError, ValueError, NameError, AttributeError):
        return None


def _simple_types(annotation: Any) -> tuple[list[type], list[Any]] | None:
    """The simple types (bool, int, float, str) and the literal values (``Literal["link"]``)
    an annotation allows; None when it allows anything else too (a tensor, a callable, a
    container, Any), which is not checked."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    members = typing.get_args(annotation) if union else (annotation,)
    simple: list[type] = []
    literals: list[Any] = []
    for member in members:
        if member is type(None):
            continue
        if typing.get_origin(member) is typing.Literal:
            literals += typing.get_args(member)
        elif member in _SIMPLE_TYPES:
            simple.append(member)
        else:
            return None
    return (simple, literals) if simple or literals else None


def _allows(allowed: tuple[list[type], list[Any]], value: Any) -> bool:
    types_allowed, literals = allowed
    if value is None:  # null: the argument's default or "off"; Lightning's own checks judge it
        return True
    if any(type(value) is type(literal) and value == literal for literal in literals):
        return True
    if isinstance(value, bool):
        return bool in types_allowed
    if isinstance(value, int):
        return int in types_allowed or float in types_allowed
    return isinstance(value, float | str) and type(value) in types_allowed


def _said(allowed: tuple[list[type], list[Any]]) -> str:
    """The allowed types and values as a sentence: "true or false or 'link'"."""
    types_allowed, literals = allowed
    words = [_SIMPLE_TYPES[t] for t in types_allowed]
    words += [str(v).lower() if isinstance(v, bool) else repr(v) for v in literals]
    return " or ".join(words)


def _default(target: Callable[..., Any], key: str) -> Any:
    """The default of ``target``'s argument ``key`` (for a class, of the first ``__init__``
    up its bases that names it); ``inspect.Parameter.empty`` when it has none."""
    for function in _initializers(target):
        try:
            parameter = inspect.signature(function).parameters.get(key)
        except (TypeError, ValueError):
            return inspect.Parameter.empty
        if parameter is not None:
            return parameter.default
    return inspect.Parameter.empty


def _allowed_types(target: Callable[..., Any], key: str) -> tuple[list[type], list[Any]] | None:
    """The simple types an argument takes: its annotation's; without one, its default's type
    (``SummaryWriter(flush_secs=120)``, an integer); None when neither says."""
    annotation = _annotation(target, key)
    if annotation is not None:
        return _simple_types(annotation)
    default = _default(target, key)
    if isinstance(default, bool):
        return [bool], []
    if isinstance(default, int | float | str):
        return [type(default)], []
    return None


def _check_argument_type(
    target: Callable[..., Any], node: DictConfig, key: str, label: str
) -> None:
    """Refuse a value the argument's annotation (or default) does not allow (``patience=abc``
    for an int, ``amsgrad=flase`` for a bool): the class would take it and fail later,
    mid-training, with a TypeError, or never."""
    allowed = _allowed_types(target, key)
    if allowed is None:
        return
    if OmegaConf.is_interpolation(node, key):
        return  # the configs' own wiring (${monitor.metric}); what users type is a value
    value = node[key]
    if not _allows(allowed, value):
        raise ZooError(f"{label}.{key} must be {_said(allowed)}, got {_plain(value)!r}.")


def _check_optimizer_number(
    target: Callable[..., Any], node: DictConfig, key: str, label: str
) -> None:
    """An optimizer's numeric argument whose default is >= 0 (a rate, a decay, momentum's
    dampening) is a finite number >= 0: torch checks some (lr, eps, momentum) and takes the
    others as they come (``SGD(dampening=-1)`` trains with a negative dampening)."""
    default = _default(target, key)
    if not is_number(default) or default < 0 or OmegaConf.is_interpolation(node, key):
        return
    value = node[key]
    if (isinstance(value, float) and not math.isfinite(value)) or (is_number(value) and value < 0):
        raise ZooError(f"{label}.{key} must be a number >= 0, got {_plain(value)!r}.")


def _check_argument_range(target: Any, node: DictConfig, key: str, label: str) -> None:
    """Refuse a value outside the range :data:`ARGUMENT_RANGES` gives the argument."""
    for owner_path, ranges in ARGUMENT_RANGES.items():
        owner = import_path(owner_path)
        if key not in ranges or not (inspect.isclass(target) and owner is not None):
            continue
        valid, allowed = ranges[key]
        if (
            issubclass(target, owner)
            and not OmegaConf.is_interpolation(node, key)
            and node[key] is not None
            and not valid(node[key])
        ):
            raise ZooError(f"{label}.{key} must be {allowed}, got {_plain(node[key])!r}.")


def _check_instantiated(section: str, node: Any, label: str) -> None:
    if not isinstance(node, DictConfig) or "_target_" not in node:
        return
    target_path = node.get("_target_")
    target = import_path(target_path)
    if target is None:
        raise ZooError(f"{label}._target_ {target_path!r} cannot be imported.")
    accepted = accepted_arguments(target)
    forwarded, filled_in = _forwarded_to(target)
    if accepted is None and forwarded is not None:
        accepted = _own_arguments(target) | (accepted_arguments(forwarded) or set()) - filled_in
    if accepted is not None:
        accepted -= FILLED_IN.get(section, set())
    for key in node:
        if str(key).startswith("_") and str(key).endswith("_"):
            continue
        if accepted is not None and key not in accepted:
            raise _unknown(f"{label}.", str(key), accepted, target_path)
        if section not in TYPE_CHECKED:
            continue
        forwarded_key = forwarded is not None and str(key) not in _own_arguments(target)
        _check_argument_type(forwarded if forwarded_key else target, node, str(key), label)
        _check_argument_range(target, node, str(key), label)
        if section == "optimizer":
            _check_optimizer_number(target, node, str(key), label)


def _own_arguments(target: Any) -> set[str]:
    """The named arguments of a class's ``__init__`` and its bases' (not ``**kwargs``)."""
    names: set[str] = set()
    for cls in target.__mro__:
        init = cls.__dict__.get("__init__")
        if init is not None and init is not object.__init__:
            parameters = inspect.signature(init).parameters.values()
            names |= {p.name for p in parameters if p.kind not in _VARIADIC and p.name != "self"}
    return names


def _forwarded_to(target: Any) -> tuple[Any, set[str]]:
    """The class ``target`` hands its ``**kwargs`` on to (:data:`FORWARDED_KWARGS`), or None,
    and the arguments of that class it fills in itself."""
    if inspect.isclass(target):
        for cls in target.__mro__:
            found = FORWARDED_KWARGS.get(f"{cls.__module__}.{cls.__qualname__}")
            if found is not None:
                return import_path(found[0]), set(found[1])
    return None, set()


def check_keys(cfg: DictConfig) -> None:
    """Refuse any key nothing reads, naming the closest known key."""
    for key in cfg:
        if key not in ROOT_KEYS:
            raise _unknown("", str(key), ROOT_KEYS - {"hydra"}, "train.py")
    for section, known in SECTION_KEYS.items():
        node = cfg.get(section)
        for key in node or {}:
            if key not in known:
                raise _unknown(f"{section}.", str(key), known, "zoo")
    for section in INSTANTIATED:
        _check_instantiated(section, cfg.get(section), section)
    for section in INSTANTIATED_ENTRIES:
        for name, entry in (cfg.get(section) or {}).items():
            if section in GROUP_LISTS and isinstance(entry, DictConfig) and "_target_" not in entry:
                raise ZooError(
                    f"{section}.{name} has no _target_, so nothing would be built from it (a "
                    f"+{section}.{name}.KEY=... override adds keys, not the option); add the "
                    f"option to the list instead, e.g. {section}=[{GROUP_LISTS[section]},{name}] "
                    f"(the options: configs/{section}/)."
                )
            _check_instantiated(section, entry, f"{section}.{name}")
