"""The model registry: names → builder functions + metadata.

Builders are keyword-only functions such as ``resnet18(*, num_classes=1000, in_channels=3)``.
Registering one records what the training system needs to know before building it: the
family, the task kinds it serves, the input kinds it accepts, its input-size limits and an
example input for its default configuration.

This module imports nothing of zoo but the leaf modules :mod:`zoo.errors`, :mod:`zoo.kinds`
and :mod:`zoo.resources`. It holds what is registered and nothing more: importing
:mod:`zoo.models` registers the zoo's builders (each model file registers its own) and
installs, with :func:`set_weights_loader`, the loader that ``weights=...`` is delegated to
(:mod:`zoo.models.pretrained`). So look models up through :mod:`zoo.models` (or ``zoo``),
which re-exports :func:`create_model`, :func:`get_model_info` and :func:`list_models`; the
registry never imports the models, so there is no import cycle (tests/test_architecture.py).
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from zoo.config.sections import DROPOUT
from zoo.config.values import is_int, is_int_or_float, is_positive_int
from zoo.errors import ZooError, unknown_name_error
from zoo.kinds import INPUT_KINDS, TASK_KINDS, check_kind, example_batch

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])
# (info, weights, kwargs) -> model; installed by zoo.weights.
WeightsLoader = Callable[["ModelInfo", Any, dict[str, Any]], nn.Module]
ExampleInput = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model before it is built."""

    name: str
    builder: Callable[..., nn.Module]
    raw_builder: Callable[..., nn.Module]
    family: str
    tasks: tuple[str, ...]
    input_kinds: tuple[str, ...]
    default_input_size: tuple[int, ...]
    min_input_size: int | Callable[[dict[str, Any]], int] | None = None
    paper: str = ""
    example_input_factory: ExampleInput | None = None
    adam_lr: float | None = None
    check_arguments: Callable[[dict[str, Any]], None] | None = None
    inapplicable: tuple[tuple[str, str], ...] = ()

    def refusal(self, key: str) -> str | None:
        """Why the model takes no option ``key`` (norm, dropout, activation) that other
        families take, or None where it has not said."""
        return dict(self.inapplicable).get(key)

    @property
    def model_class(self) -> type | None:
        """The class the builder returns (its return annotation), None where it names none."""
        try:
            returned = typing.get_type_hints(self.raw_builder).get("return")
        except Exception:  # an annotation that names something not importable here
            return None
        return returned if isinstance(returned, type) else None

    @property
    def input_kind(self) -> str:
        """The input kind of the default configuration (the first one declared)."""
        return self.input_kinds[0]

    def example_input(
        self,
        batch_size: int = 1,
        *,
        size: int | None = None,
        generator: torch.Generator | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """A random input batch the model built with ``kwargs`` takes (its default
        configuration when none are given): ``batch_size`` inputs of ``default_input_size``,
        images resized to ``size``×``size`` when given. Models whose inputs are not standard
        normal floats (token ids, for example) declare their own ``example_input``."""
        if self.example_input_factory is not None:
            return self.example_input_factory(batch_size, size=size, generator=generator, **kwargs)
        shape = list(self.default_input_size)
        size = size if size is not None else kwargs.get("input_size")
        if self.input_kind == "image":
            shape[0] = kwargs.get("in_channels", shape[0])
            if size is not None:
                shape[-2:] = [size, size]
        elif self.input_kind == "vector":
            shape[0] = kwargs.get("in_features", shape[0])
        return example_batch(self.input_kind, shape, batch_size, generator=generator)

    def min_input_size_for(self, kwargs: dict[str, Any]) -> int | None:
        """The smallest image height/width the model built with ``kwargs`` accepts."""
        if callable(self.min_input_size):
            return self.min_input_size(kwargs)
        return self.min_input_size

    @property
    def parameters(self) -> dict[str, inspect.Parameter]:
        """The builder's keyword arguments (``weights`` aside)."""
        return dict(inspect.signature(self.raw_builder).parameters)

    @property
    def accepts_var_kwargs(self) -> bool:
        return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in self.parameters.values())


_REGISTRY: dict[str, ModelInfo] = {}
_weights_loader: WeightsLoader | None = None


def set_weights_loader(loader: WeightsLoader) -> None:
    """Install the function that builds a model with ``weights=...`` (zoo.weights does)."""
    global _weights_loader
    _weights_loader = loader


# Arguments many builders share, checked the same way for every model before it is built:
# (test, what is allowed).
COMMON_ARGUMENTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "num_classes": (is_positive_int, "an integer >= 1"),
    "in_channels": (is_positive_int, "an integer >= 1"),
    "in_features": (is_positive_int, "an integer >= 1"),
    "latent_dim": (is_positive_int, "an integer >= 1"),
    "dropout": DROPOUT,
}

#: the architecture options many families take; a builder without one of them says why in
#: ``register_model(inapplicable=...)`` (tests/models/test_options.py holds every model to it)
OPTIONS = ("norm", "dropout", "activation")


def check_common_arguments(info: ModelInfo, kwargs: dict[str, Any]) -> None:
    """Refuse a bad value of an argument many builders share (``num_classes=0``, a dropout of
    1.5, ``in_channels="3"``) with the same message whatever the model."""
    for key, (valid, allowed) in COMMON_ARGUMENTS.items():
        if key not in kwargs or key not in info.parameters:
            continue
        if kwargs[key] is None and info.parameters[key].default is None:
            continue  # the builder's own "derive it" default (gpt: num_classes = vocab_size)
        if not valid(kwargs[key]):
            raise ZooError(f"model {info.name!r}: {key} must be {allowed}, got {kwargs[key]!r}.")


def _integers(value: Any) -> list[int]:
    """The integers in an argument's value (itself, or those of a list of them)."""
    if is_int(value):
        return [value]
    if isinstance(value, list | tuple):
        return [v for item in value for v in _integers(item)]
    return []


def model_bytes(info: ModelInfo, kwargs: dict[str, Any]) -> int | None:
    """The bytes of the parameters and buffers of the model ``info`` builds with ``kwargs``,
    counted on a model built on the meta device (nothing is allocated); None for a builder
    that cannot run there."""
    import warnings

    try:
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = info.raw_builder(**kwargs)
    except ZooError:
        raise
    except Exception:  # a builder that needs real tensors: it is built as it is
        return None
    tensors = {id(t): t for t in (*model.parameters(), *model.buffers())}
    return sum(t.numel() * t.element_size() for t in tensors.values())


def check_model_size(info: ModelInfo, kwargs: dict[str, Any]) -> None:
    """Refuse, before any allocation, arguments that make a model larger than this machine's
    memory (``latent_dim=2000000000``: terabytes), naming the largest arguments given."""
    from zoo.resources import check_fits_memory

    nbytes = model_bytes(info, kwargs)
    if nbytes is None:
        return
    defaults = {k: p.default for k, p in info.parameters.items()}
    given = {
        key: value
        for key, value in kwargs.items()
        if _integers(value) and _as_json(defaults.get(key)) != _as_json(value)
    }
    # the largest given values, not the small ones beside them (image_size=32)
    top = max((max(_integers(value)) for value in given.values()), default=0)
    largest = sorted(
        (key for key in given if max(_integers(given[key])) * 100 >= top),
        key=lambda key: -max(_integers(given[key])),
    )[:3]
    named = ", ".join(f"{key}={_as_json(given[key])!r}" for key in largest)
    check_fits_memory(
        nbytes,
        f"model {info.name!r}" + (f" with {named}" if named else ""),
        f"lower {' or '.join(largest) if largest else 'its sizes'}.",
    )


def _as_json(value: Any) -> Any:
    """Tuples as lists, as a spec reads back from config.json (``hidden_sizes=(256,)``)."""
    return [_as_json(v) for v in value] if isinstance(value, tuple | list) else value


def register_model(
    *,
    family: str,
    tasks: tuple[str, ...] = ("classification",),
    input_kinds: tuple[str, ...] = ("image",),
    default_input_size: tuple[int, ...] = (3, 224, 224),
    min_input_size: int | Callable[[dict[str, Any]], int] | None = None,
    paper: str = "",
    name: str | None = None,
    example_input: ExampleInput | None = None,
    adam_lr: float | None = None,
    check_arguments: Callable[[dict[str, Any]], None] | None = None,
    inapplicable: dict[str, str] | None = None,
) -> Callable[[Builder], Builder]:
    """Register a builder function under its own name (or ``name``).

    ``min_input_size`` is the smallest height/width an image model accepts, or a function of
    the builder's keyword arguments returning it (e.g. smaller with ``small_input=True``).
    ``example_input(batch_size, *, size, generator, **kwargs)`` returns an input batch the
    model takes, for models whose inputs are not standard normal floats of
    ``default_input_size`` (the first of ``input_kinds``). ``adam_lr`` is the Adam (and
    AdamW) learning rate the model trains at from scratch, for models that the optimizer
    configs' default (2e-3) leaves at chance; the optimizer configs read it through
    ``${adam_lr:...}`` (zoo.config.checks), so ``python train.py model=NAME`` uses it.
    ``check_arguments(kwargs)`` refuses (a ``ZooError``) a combination of the arguments a run
    config gives that the builder cannot tell from its own defaults (the MLP's
    ``hidden_sizes`` with ``depth``); ``zoo.config.checks`` calls it before any work.
    ``inapplicable`` maps each option of :data:`OPTIONS` the builder does not take to why
    (a fixed paper architecture, say): asking for it is refused with that reason.
    """
    for kind in input_kinds:
        check_kind("input kind", kind, INPUT_KINDS)
    for task in tasks:
        check_kind("task kind", task, TASK_KINDS)
    if adam_lr is not None and not (is_int_or_float(adam_lr) and adam_lr > 0):
        raise ValueError(f"adam_lr must be a number > 0 or None, got {adam_lr!r}")

    def decorator(builder: Builder) -> Builder:
        model_name = name or builder.__name__
        if model_name in _REGISTRY:
            raise ValueError(f"model {model_name!r} is registered twice")

        @functools.wraps(builder)
        def build(**kwargs: Any) -> nn.Module:
            weights = kwargs.pop("weights", None)
            info = _REGISTRY[model_name]
            check_builder_kwargs(info, kwargs)
            check_common_arguments(info, kwargs)
            if weights is None:
                check_model_size(info, kwargs)  # before anything is allocated
                model = builder(**kwargs)
                bound = inspect.signature(builder).bind(**kwargs)
                bound.apply_defaults()
                kwargs = {key: _as_json(value) for key, value in bound.arguments.items()}
                record_spec(model, model_name, kwargs)
                return model
            if _weights_loader is None:  # zoo.models installs it when it is imported
                raise ZooError("weights=... needs zoo.models imported (import zoo.models).")
            return _weights_loader(info, weights, kwargs)

        signature = inspect.signature(builder)
        build.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[
                *signature.parameters.values(),
                inspect.Parameter("weights", inspect.Parameter.KEYWORD_ONLY, default=None),
            ]
        )
        _REGISTRY[model_name] = ModelInfo(
            name=model_name,
            builder=build,
            raw_builder=builder,
            family=family,
            tasks=tuple(tasks),
            input_kinds=tuple(input_kinds),
            default_input_size=tuple(default_input_size),
            min_input_size=min_input_size,
            paper=paper,
            example_input_factory=example_input,
            adam_lr=adam_lr,
            check_arguments=check_arguments,
            inapplicable=tuple((inapplicable or {}).items()),
        )
        return build  # type: ignore[return-value]

    return decorator


def list_models(
    pattern: str = "*", *, family: str | None = None, task: str | None = None
) -> list[str]:
    """Sorted names of registered models matching a shell-style wildcard ``pattern``."""
    return sorted(
        name
        for name, info in _REGISTRY.items()
        if fnmatch.fnmatchcase(name, pattern)
        and (family is None or info.family == family)
        and (task is None or task in info.tasks)
    )


def get_model_info(name: str) -> ModelInfo:
    """The registry entry for ``name``; a ``ZooError`` naming close matches if unknown."""
    if not isinstance(name, str):
        raise ZooError(
            f"a model name is a string such as 'resnet18' (zoo.list_models() lists them), "
            f"got {name!r}."
        )
    if name not in _REGISTRY:
        raise unknown_name_error("model", name, _REGISTRY)
    return _REGISTRY[name]


def check_builder_kwargs(info: ModelInfo, kwargs: dict[str, Any]) -> None:
    """Refuse keyword arguments the builder does not take, naming the ones it does."""
    if info.accepts_var_kwargs:
        return
    allowed = [*info.parameters, "weights"]
    unknown = [k for k in kwargs if k not in allowed]
    for key in unknown:
        if info.refusal(key) is not None:
            raise ZooError(f"model {info.name!r} takes no {key}: {info.refusal(key)}")
    if unknown:
        raise ZooError(
            f"model {info.name!r} has no argument {unknown[0]!r}; allowed: {', '.join(allowed)}."
        )


def record_spec(model: nn.Module, name: str, kwargs: dict[str, Any]) -> None:
    """Record on ``model`` how it was built: the registered ``name`` and the builder's
    arguments (JSON values, defaults filled in). :func:`zoo.save_pretrained` and every
    checkpoint write it, so a model is rebuilt from its files alone; :func:`model_spec` reads
    it."""
    model.zoo_spec = {"name": name, "kwargs": kwargs}


def model_spec(model: nn.Module) -> dict[str, Any] | None:
    """``{"name", "kwargs"}`` of a model the registry built (:func:`record_spec`), else None."""
    return getattr(model, "zoo_spec", None)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name``: ``create_model("lenet5", num_classes=10)``.

    ``weights`` may name a folder written by :func:`zoo.save_pretrained` (or an entry of the
    weights registry); the model is then built with the saved arguments, ``kwargs`` overriding
    them, and the weights are loaded without unpickling anything.
    """
    return get_model_info(name).builder(**kwargs)
