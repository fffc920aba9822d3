"""``python train.py``'s command line checked before Hydra composes the config.

Hydra refuses a misspelled config-group option with every option and its search path, over
dozens of lines, and a misspelled key in six lines without a suggestion; both take as long
as importing torch and Lightning. Here the command line is parsed by Hydra's own parsers
(its flags, then its override grammar: quoting, lists, sweeps) and each override is
compared with the files in ``configs/``, so that a misspelling is refused in one line
naming the closest spelling, within a second. Only what Hydra would refuse is refused:
command lines that bring other config sources (``--config-dir``, ``hydra.searchpath``) or
ask for shell completion, and overrides this check cannot judge, are left to Hydra.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from zoo.config_checks import ROOT_KEYS
from zoo.errors import ZooError, closest


def parse_overrides(arguments: Sequence[str]) -> list[Any] | None:
    """The overrides (Hydra ``Override`` objects) of a ``train.py`` command line, parsed as
    Hydra parses them; None where the check is left to Hydra: another config folder or name,
    a search path, shell completion, ``--info`` and ``--experimental-rerun`` (which do not
    compose the overrides), or a command line Hydra itself refuses."""
    try:
        from hydra._internal.utils import get_args_parser
        from hydra.core.override_parser.overrides_parser import OverridesParser
    except ImportError:  # a Hydra without these: its own errors it is
        return None
    try:
        # argparse's usage message, and --version's line (Hydra prints it again)
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            flags = get_args_parser().parse_args(list(arguments))
        overrides = OverridesParser.create().parse_overrides(flags.overrides)
    except (SystemExit, Exception):  # Hydra reports its own syntax errors
        return None
    if flags.config_dir or flags.config_path or flags.shell_completion:
        return None
    if flags.info or flags.experimental_rerun:  # modes that compose nothing from overrides
        return None
    if flags.config_name not in (None, "train"):
        return None
    if any(o.key_or_group.startswith("hydra.searchpath") for o in overrides):
        return None
    return overrides


def group_options(config_dir: Path, group: str) -> list[str]:
    """The options of config group ``group``: its files' names (``model/vae.yaml``: vae)."""
    folder = config_dir / group
    return sorted(
        file.relative_to(folder).with_suffix("").as_posix() for file in folder.rglob("*.yaml")
    )


def _suggestion(name: str, choices: Iterable[str]) -> str | None:
    """The choice that looks most like ``name`` (case aside), or None."""
    by_lower = {choice.lower(): choice for choice in choices}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    found = closest(name.lower(), by_lower, n=1)
    return by_lower[found[0]] if found else None


def _named_choices(override: Any) -> list[Any] | None:
    """The options an override of a config group names (a list's items, a sweep's choices,
    each list among them item by item), or None where it names none to check: a range or
    glob sweep, a dict of keys to set, an interpolation, a deletion of the group."""
    from hydra.core.override_parser.types import ChoiceSweep

    value = override.value()
    if override.is_delete() and value is None:
        return None
    if isinstance(value, ChoiceSweep):
        values = value.list
    elif override.is_sweep_override():
        return None
    else:
        values = [value]
    choices: list[Any] = []
    for item in values:
        choices.extend(item if isinstance(item, list) else [item])
    if any(isinstance(c, dict) or (isinstance(c, str) and "${" in c) for c in choices):
        return None
    return choices


def check_group_choices(overrides: Sequence[Any], config_dir: Path) -> None:
    """Refuse a ``group=option`` (or a list, or a sweep's choices) whose option has no file
    in ``config_dir/group/``, naming the closest option and listing them all."""
    for override in overrides:
        group = override.key_or_group
        if group.startswith("hydra") or "." in group or not (config_dir / group).is_dir():
            continue
        choices = _named_choices(override)
        options = group_options(config_dir, group) if choices else []
        for choice in choices or ():
            if choice is None:
                instead = f" or {group}=none" if "none" in options else ""
                raise ZooError(
                    f"{group}=null names no {group} option (Hydra takes no null for a config "
                    f"group); ~{group} drops the default{instead}. The options: "
                    f"{', '.join(options)}."
                )
            name = str(choice).removesuffix(".yaml")
            if name in options:
                continue
            suggestion = _suggestion(name, options) if name else None
            hint = f"; did you mean {group}={suggestion}?" if suggestion else "."
            raise ZooError(
                f"{group}={name!r} is not one of the {group} options{hint} The options: "
                f"{', '.join(options)}."
            )


def _package(file: Path, config_dir: Path) -> str:
    """Where a config file's keys land in the composed config: its ``# @package`` header,
    else its group's path (a file at the top: the root)."""
    with file.open() as handle:
        for line in handle:
            if line.startswith("# @package"):
                package = line.split(maxsplit=2)[2].strip()
                return "" if package == "_global_" else package
            if line.strip() and not line.startswith("#"):
                break
    return ".".join(file.parent.relative_to(config_dir).parts)


def _parent(path: str) -> str:
    """``a.b`` of ``a.b.c``; "" for a top-level key."""
    return path.rpartition(".")[0]


def _key_paths(value: Any, prefix: str) -> Iterable[str]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "defaults":
                yield from _key_paths(item, f"{prefix}.{key}" if prefix else str(key))


@functools.cache
def config_key_paths(config_dir: Path) -> frozenset[str]:
    """Every dotted key that some config file in ``config_dir`` puts into the composed
    config, and every config group (Hydra's own ``hydra.*`` aside): a key outside this set
    is in no composed config."""
    import yaml

    paths: set[str] = set()
    for file in config_dir.rglob("*.yaml"):
        if file.relative_to(config_dir).parts[0] == "hydra":
            continue
        content = yaml.load(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        paths.update(_key_paths(content or {}, _package(file, config_dir)))
        group = file.parent.relative_to(config_dir).parts
        paths.update(".".join(group[: depth + 1]) for depth in range(len(group)))
    # Hydra's own settings (an hparams_search option's sweeper) are left to Hydra
    return frozenset(path for path in paths if path and path.split(".")[0] != "hydra")


def _leaf(path: str) -> str:
    """``c`` of ``a.b.c``."""
    return path.rpartition(".")[2]


def _containing(name: str, paths: Iterable[str]) -> list[str]:
    """Up to three of ``paths`` whose last part contains ``name`` (batch: batch_size),
    shortest first; none for names under three letters, which are part of too much."""
    if len(name) < 3:
        return []
    found = {path for path in paths if name.lower() in _leaf(path).lower()}
    return sorted(found, key=lambda path: (len(path), path))[:3]


def _unknown_key(key: str, known: frozenset[str]) -> ZooError:
    """The refusal of ``key``, its first part that no config has: the keys of that name
    elsewhere (``lr``: optimizer.lr), else the keys beside it that contain the name or the
    closest spelling, else keys elsewhere that contain it (``epochs``: trainer.max_epochs),
    and the keys beside it."""
    parent, _, name = key.rpartition(".")
    beside = sorted(path for path in known if _parent(path) == parent)
    close = _suggestion(name, [_leaf(path) for path in beside])
    meant = (
        sorted(path for path in known if _leaf(path) == name)[:3]
        or _containing(name, beside)
        or ([f"{parent}.{close}" if parent else close] if close else [])
        or _containing(name, known)
    )
    hint = f"; did you mean {' or '.join(meant)}?" if meant else "."
    if not beside:
        return ZooError(f"no config key {key!r}: {parent} has no keys under it{hint}")
    where = f"under {parent}" if parent else "at the top"
    siblings = ", ".join(_leaf(path) for path in beside)
    return ZooError(f"no config key {key!r}{hint} The keys {where}: {siblings}.")


def check_override_keys(overrides: Sequence[Any], config_dir: Path) -> None:
    """Refuse a ``key=value`` or ``~key`` whose key no config file has (Hydra refuses them
    too: the composed config is a struct), and a ``+key=value`` adding a top-level key
    train.py does not read, naming the closest key. Keys added earlier on the same command
    line count as known, with the keys of a dict they add; a list's items (``tags.0``) are
    left to Hydra."""
    known = set(config_key_paths(config_dir))
    for override in overrides:
        key = override.key_or_group
        if key.startswith("hydra") or "/" in key or (config_dir / key).is_dir():
            continue  # Hydra's settings; groups (options checked by check_group_choices)
        parts = key.split(".")
        if override.is_add() or override.is_force_add():
            if len(parts) == 1 and key not in known and key not in ROOT_KEYS:
                raise _unknown_key(key, frozenset(known))
            known.update(".".join(parts[: depth + 1]) for depth in range(len(parts)))
            value = override.value()
            if isinstance(value, dict):
                known.update(_key_paths(value, key))
            continue
        for depth in range(1, len(parts) + 1):
            path = ".".join(parts[:depth])
            if parts[depth - 1].isdigit():  # an item of a list
                break
            if path not in known:
                raise _unknown_key(path, frozenset(known))


def check_command_line(arguments: Sequence[str], config_dir: Path) -> None:
    """Refuse a misspelled group option or key of a ``train.py`` command line (see the
    module's docstring)."""
    overrides = parse_overrides(arguments)
    if overrides is None:
        return
    check_group_choices(overrides, config_dir)
    check_override_keys(overrides, config_dir)
