"""The model registry: names → builder functions + metadata.

Builders are keyword-only functions such as ``resnet18(*, num_classes=1000, in_channels=3)``.
Registering one records what the training system needs to know before building it: the
family, the task kinds it serves, the input kinds it accepts and its input-size limits.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from zoo.errors import ZooError, unknown_name_error

INPUT_KINDS = ("image", "vector", "sequence", "tokens", "noise")
TASK_KINDS = ("classification", "regression", "language_model", "autoencoder", "gan")

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])


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


def register_model(
    *,
    family: str,
    tasks: tuple[str, ...] = ("classification",),
    input_kinds: tuple[str, ...] = ("image",),
    default_input_size: tuple[int, ...] = (3, 224, 224),
    min_input_size: int | Callable[[dict[str, Any]], int] | None = None,
    paper: str = "",
    name: str | None = None,
) -> Callable[[Builder], Builder]:
    """Register a builder function under its own name (or ``name``).

    ``min_input_size`` is the smallest height/width an image model accepts, or a function of
    the builder's keyword arguments returning it (e.g. smaller with ``small_input=True``).
    """
    for kind in input_kinds:
        if kind not in INPUT_KINDS:
            raise ValueError(f"unknown input kind {kind!r}; allowed: {INPUT_KINDS}")
    for task in tasks:
        if task not in TASK_KINDS:
            raise ValueError(f"unknown task kind {task!r}; allowed: {TASK_KINDS}")

    def decorator(builder: Builder) -> Builder:
        model_name = name or builder.__name__
        if model_name in _REGISTRY:
            raise ValueError(f"model {model_name!r} is registered twice")

        @functools.wraps(builder)
        def build(**kwargs: Any) -> nn.Module:
            weights = kwargs.pop("weights", None)
            info = _REGISTRY[model_name]
            check_builder_kwargs(info, kwargs)
            if weights is None:
                model = builder(**kwargs)
                bound = inspect.signature(builder).bind(**kwargs)
                bound.apply_defaults()
                model.zoo_spec = {"name": model_name, "kwargs": dict(bound.arguments)}
                return model
            from zoo.weights import build_with_weights  # weights imports this module

            return build_with_weights(info, weights, kwargs)

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
        )
        return build  # type: ignore[return-value]

    return decorator


def _ensure_models_imported() -> None:
    import zoo.models  # noqa: F401  (importing registers every builder)


def list_models(
    pattern: str = "*", *, family: str | None = None, task: str | None = None
) -> list[str]:
    """Sorted names of registered models matching a shell-style wildcard ``pattern``."""
    _ensure_models_imported()
    return sorted(
        name
        for name, info in _REGISTRY.items()
        if fnmatch.fnmatchcase(name, pattern)
        and (family is None or info.family == family)
        and (task is None or task in info.tasks)
    )


def get_model_info(name: str) -> ModelInfo:
    """The registry entry for ``name``; a ``ZooError`` naming close matches if unknown."""
    _ensure_models_imported()
    if name not in _REGISTRY:
        raise unknown_name_error("model", name, _REGISTRY)
    return _REGISTRY[name]


def check_builder_kwargs(info: ModelInfo, kwargs: dict[str, Any]) -> None:
    """Refuse keyword arguments the builder does not take, naming the ones it does."""
    if info.accepts_var_kwargs:
        return
    allowed = [*info.parameters, "weights"]
    unknown = [k for k in kwargs if k not in info.parameters]
    if unknown:
        raise ZooError(
            f"model {info.name!r} has no argument {unknown[0]!r}; allowed: {', '.join(allowed)}."
        )


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name``: ``create_model("lenet5", num_classes=10)``.

    ``weights`` may name a folder written by :func:`zoo.save_pretrained` (or an entry of the
    weights registry); the model is then built with the saved arguments, ``kwargs`` overriding
    them, and the weights are loaded without unpickling anything.
    """
    return get_model_info(name).builder(**kwargs)
