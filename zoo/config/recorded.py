"""Objects rebuilt from a config recorded in a file (a run's ``results.json``, an exported
``config.json``): data, never code.

A run folder is something users share. Hydra's ``instantiate`` calls whatever a ``_target_``
names, and its own blocklist stops only a few functions (``os.system``), not
``torch.load(..., weights_only=False)`` or ``numpy.load(..., allow_pickle=True)``, which run
code from a file beside it. So a config read from a file never reaches ``instantiate``:
:func:`build_recorded` checks its ``_target_`` against the zoo's own classes *before*
importing anything outside ``zoo``, refuses any nested ``_target_`` or other Hydra key, and
calls the class itself with the recorded arguments as plain values (no interpolation is
resolved either). The command line and configs/ are the user's own and go through Hydra
as usual.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from zoo.config.sections import accepted_arguments, import_path
from zoo.config.values import is_number, is_positive_int
from zoo.errors import ZooError
from zoo.kinds import INPUT_KINDS, TARGET_KINDS

T = TypeVar("T")

# The most numbers one recorded input or target may hold (a 3×2364×2364 image): a tool
# allocates a batch of them, and a crafted input_shape could otherwise ask for gigabytes.
MAX_SAMPLE_ELEMENTS = 2**24
# The dimensions of one input of the kinds a tool preprocesses (zoo.preprocessing)
_INPUT_DIMS = {"image": 3, "vector": 1}

# a dotted path inside the zoo package; nothing else is imported for a recorded config
_ZOO_PATH = re.compile(r"zoo(\.[A-Za-z_][A-Za-z0-9_]*)+")


def _locate_zoo_class(target: Any, base: type, where: str) -> type:
    """The class ``target`` names, if it is a zoo class derived from ``base``; refused in one
    line otherwise, before anything outside the ``zoo`` package is imported."""
    allowed = f"one of the zoo's own classes (a {base.__name__})"
    if not isinstance(target, str) or not _ZOO_PATH.fullmatch(target):
        raise ZooError(f"{where}._target_ is {target!r}; allowed: {allowed}.")
    found = import_path(target)  # imports zoo modules alone: the path is checked above
    # a path through a zoo module can still reach another package's object (zoo.x.np.load)
    if not (
        isinstance(found, type)
        and issubclass(found, base)
        and found.__module__.split(".")[0] == "zoo"
    ):
        raise ZooError(f"{where}._target_ is {target!r}; allowed: {allowed}.")
    return found


def _refuse_nested_targets(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("_") and key.endswith("_"):
                raise ZooError(
                    f"{where}.{key} is not allowed in a recorded config: only the top level "
                    "names a class (_target_), and arguments are plain values."
                )
            _refuse_nested_targets(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_nested_targets(item, f"{where}.{index}")


def build_recorded(node: Any, *, base: type[T], where: str) -> T:
    """The object a recorded config ``node`` (``{"_target_": "zoo....", **arguments}``)
    describes, built by calling the zoo class it names, which must derive from ``base``.

    ``where`` names the config in errors (``'run/results.json' config.data``). A
    ``ZooError`` for a target outside the zoo, a class that does not say it can be rebuilt
    from a record (its own ``rebuildable = True``: a ``TensorDataModule`` has no data of
    its own), a nested ``_target_`` or Hydra key, or arguments the class does not take;
    nothing is imported or called before the checks. A class that downloads its files is
    built with ``download=False``: a shared file never makes this machine download."""
    if not isinstance(node, Mapping):
        raise ZooError(f"{where} must be a mapping with a _target_, not {type(node).__name__}.")
    cls = _locate_zoo_class(node.get("_target_"), base, where)
    if vars(cls).get("rebuildable") is not True:  # the class's own word, not a base's
        raise ZooError(
            f"{where}._target_ is {node['_target_']!r}, which cannot be rebuilt from a record "
            "(a base class, or data given in Python); allowed: one of the zoo's classes that "
            "rebuild their data from recorded arguments (rebuildable = True), such as "
            "zoo.data.DigitsDataModule."
        )
    arguments = {key: value for key, value in node.items() if key != "_target_"}
    _refuse_nested_targets(arguments, where)
    if "download" in (accepted_arguments(cls) or ()):  # a shared file never downloads anything
        arguments["download"] = False
    try:
        return cls(**arguments)
    except TypeError as error:  # an argument the class does not take
        raise ZooError(f"{where}: {node['_target_']} {error}.") from None


def check_data_description(data: Any, where: str) -> None:
    """Check the data description an exported ``config.json`` records (what a data module's
    ``describe()`` gave): each value of the type and range it was written with, so that a
    damaged or crafted file is one line naming the value, not an error deep inside the tool
    that reads it. Entries a data module did not record are left out of the checks."""
    if data is None:
        return
    if not isinstance(data, Mapping):
        raise ZooError(f"{where}.data must be a mapping, not {type(data).__name__}.")

    def require(ok: bool, key: str, allowed: str) -> None:
        if not ok:
            raise ZooError(f"{where}.data.{key} is {data.get(key)!r}; allowed: {allowed}.")

    if data.get("input_kind") is not None:
        require(data["input_kind"] in INPUT_KINDS, "input_kind", ", ".join(INPUT_KINDS))
    if data.get("target_kind") is not None:
        require(data["target_kind"] in TARGET_KINDS, "target_kind", ", ".join(TARGET_KINDS))
    for key in ("input_shape", "target_shape"):
        shape = data.get(key)
        if shape is not None:
            require(
                isinstance(shape, list)
                and 0 < len(shape) <= 4
                and all(map(is_positive_int, shape))
                and math.prod(shape) <= MAX_SAMPLE_ELEMENTS,
                key,
                f"a list of 1 to 4 positive integers of at most {MAX_SAMPLE_ELEMENTS:,} elements",
            )
    dims = _INPUT_DIMS.get(data.get("input_kind"))
    if dims is not None and data.get("input_shape") is not None:
        require(
            len(data["input_shape"]) == dims,
            "input_shape",
            f"{dims} dimension{'s' if dims > 1 else ''} for {data['input_kind']} inputs",
        )
    for key in ("num_classes", "vocab_size"):
        if data.get(key) is not None:
            require(is_positive_int(data[key]), key, "a positive integer")
    names = data.get("class_names")
    if names is not None:
        require(
            isinstance(names, list) and all(isinstance(name, str) for name in names),
            "class_names",
            "a list of strings",
        )
        if is_positive_int(data.get("num_classes")):
            require(
                len(names) == data["num_classes"],
                "class_names",
                f"one name for each of data.num_classes={data['num_classes']}",
            )
    normalization = data.get("normalization")
    if normalization is not None:
        ok = isinstance(normalization, Mapping) and set(normalization) == {"mean", "std"}
        mean, std = (normalization.get("mean"), normalization.get("std")) if ok else (0, 0)
        ok = ok and isinstance(mean, list) and isinstance(std, list)
        ok = ok and 0 < len(mean) == len(std) and all(map(is_number, mean))
        ok = ok and all(is_number(value) and value > 0 for value in std)
        require(ok, "normalization", "{mean: [numbers], std: [positive numbers]} of one length")
        shape = data.get("input_shape")
        if dims is not None and shape is not None:  # per channel, or per feature
            channels = shape[0] if data["input_kind"] == "image" else shape[-1]
            each = "channel" if dims > 1 else "feature"
            require(
                len(mean) in (1, channels),
                "normalization",
                "one mean and std"
                if channels == 1
                else f"one mean and std, or {channels}: one per {each}",
            )
