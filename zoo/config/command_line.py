"""``python train.py``'s command line checked before Hydra composes the config.

Hydra refuses a misspelled config-group option with every option and its search path, over
dozens of lines, and a misspelled key in six lines without a suggestion; both take as long
as importing torch and Lightning. Here the command line is parsed by Hydra's own parsers
(its flags, then its override grammar: quoting, lists, sweeps) and each override is
compared with the files in ``configs/``: an option with the group's files, a key with the
keys of the options the command line selects (``model=mlp model.hidden_size=10``: mlp has
``hidden_sizes``), so that a misspelling is refused in one line naming the closest
spelling, within a second. Only what Hydra would refuse is refused:
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

from zoo.config.sections import ROOT_KEYS
from zoo.config.values import is_positive_int
from zoo.errors import ZooError, closest


def parse_overrides(arguments: Sequence[str]) -> list[Any] | None:
    """The overrides (Hydra ``Override`` objects) of a ``train.py`` command line, parsed as
    Hydra parses them; None where the check is left to Hydra: another config folder or name,
    a search path, shell completion, ``--info`` (which does not compose the overrides), or a
    command line Hydra itself refuses; ``--experimental-rerun`` (it unpickles) is refused."""
    parsed = parse_command_line(arguments)
    return None if parsed is None else parsed[1]


def parse_command_line(arguments: Sequence[str]) -> tuple[Any, list[Any]] | None:
    """Hydra's flags (``argparse.Namespace``) and the overrides of :func:`parse_overrides`;
    None where it gives None."""
    try:
        from hydra._internal.utils import get_args_parser
        from hydra.core.override_parser.overrides_parser import OverridesParser
    except ImportError:  # a Hydra without these: its own errors it is
        return None
    try:
        # argparse's usage message, and --version's line (Hydra prints it again)
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            flags = get_args_parser().parse_args(list(arguments))
    except (SystemExit, Exception):  # Hydra reports its own flag errors
        return None
    if flags.experimental_rerun:
        raise ZooError(
            f"--experimental-rerun {flags.experimental_rerun}: Hydra's rerun unpickles the file, "
            "and a pickle can run any code, so it is refused; to run a recorded run again, give "
            'train.py the overrides in its .hydra/overrides.yaml (results.json\'s "command").'
        )
    parser = OverridesParser.create()
    try:
        overrides = parser.parse_overrides(flags.overrides)
    except Exception:
        _refuse_unparsable(parser, flags.overrides)
        return None
    if flags.config_dir or flags.config_path or flags.shell_completion:
        return None
    if flags.info:  # a mode that composes nothing from the overrides
        return None
    if flags.config_name not in (None, "train"):
        return None
    if any(o.key_or_group.startswith("hydra.searchpath") for o in overrides):
        return None
    return flags, overrides


def _refuse_unparsable(parser: Any, arguments: Sequence[str]) -> None:
    """Refuse the first override Hydra's grammar cannot read (Hydra refuses it too, in
    three lines that do not say how to write it), with the grammar's reason."""
    for argument in arguments:
        try:
            parser.parse_overrides([argument])
        except Exception as error:
            reason = str(error).splitlines()
            reason = (
                reason[1]
                if reason[0].startswith("Error parsing") and len(reason) > 1
                else reason[0]
            )
            raise ZooError(
                f"cannot read the override {argument!r} ({reason}): an override is key=value, "
                "e.g. trainer.max_epochs=5, and a value holding '=', spaces or brackets is "
                "quoted, e.g. ckpt_path='runs/epoch=0-step=20.ckpt'."
            ) from None


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


def _key_paths(value: Any, prefix: str, set_only: bool = False) -> Iterable[str]:
    """The dotted keys in ``value`` (with ``set_only``, those whose value is not null)."""
    if not (set_only and value is None):
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "defaults":
                path = f"{prefix}.{key}" if prefix else str(key)
                yield from _key_paths(item, path, set_only)


@functools.cache
def _content(file: Path) -> dict:
    import yaml

    content = yaml.load(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return content if isinstance(content, dict) else {}


@functools.cache
def config_key_paths(config_dir: Path) -> frozenset[str]:
    """Every dotted key that some config file in ``config_dir`` puts into the composed
    config, and every config group (Hydra's own ``hydra.*`` aside): a key outside this set
    is in no composed config."""
    paths: set[str] = set()
    for file in config_dir.rglob("*.yaml"):
        if file.relative_to(config_dir).parts[0] == "hydra":
            continue
        paths.update(_key_paths(_content(file), _package(file, config_dir)))
        group = file.parent.relative_to(config_dir).parts
        paths.update(".".join(group[: depth + 1]) for depth in range(len(group)))
    # Hydra's own settings (an hparams_search option's sweeper) are left to Hydra
    return frozenset(path for path in paths if path and path.split(".")[0] != "hydra")


class _UnfollowedSelectionError(Exception):
    """A selection of configs this check does not follow (a package given on the command
    line, a sweep over a group, an option that selects other groups): the keys of every
    config are known instead."""


def _defaults_entries(file: Path, config_dir: Path) -> Iterable[tuple[str, Any, bool]]:
    """The ``(group, option(s), is_override)`` entries of a config's defaults list, groups as
    paths from ``config_dir`` (Hydra's own aside); a plain name (a config of the file's own
    group, whose keys join the file's) is ``("", name, False)``."""
    here = file.parent.relative_to(config_dir).as_posix()
    for entry in _content(file).get("defaults") or []:
        if entry == "_self_":
            continue
        if isinstance(entry, str):
            yield "", entry, False
            continue
        if not isinstance(entry, dict) or len(entry) != 1:
            raise _UnfollowedSelectionError
        ((key, value),) = entry.items()
        override = key.startswith("override ")
        group, _, package = key.removeprefix("override ").removeprefix("optional ").partition("@")
        group = group[1:] if group.startswith("/") else f"{here}/{group}".lstrip("./")
        if group.startswith("hydra"):
            continue
        if package and package != f"_global_.{group.replace('/', '.')}":
            raise _UnfollowedSelectionError  # keys moved elsewhere
        yield group, value, override


def _option_files(config_dir: Path, group: str, option: str) -> list[Path]:
    """The file of ``group=option`` and the files of its own group it names in its defaults."""
    file = config_dir / group / f"{option}.yaml"
    if not file.is_file():
        raise _UnfollowedSelectionError
    files = [file]
    for entry_group, name, _ in _defaults_entries(file, config_dir):
        if not entry_group:
            files.extend(_option_files(config_dir, group, name))
    return files


def _option_overrides(config_dir: Path, group: str, option: str) -> list[tuple[str, list[str]]]:
    """The ``override /group: option(s)`` entries of ``group=option``'s defaults list, in
    order, those of the files of its own group it names taking their place in it."""
    found: list[tuple[str, list[str]]] = []
    file = config_dir / group / f"{option}.yaml"
    if not file.is_file():
        raise _UnfollowedSelectionError
    for entry_group, value, override in _defaults_entries(file, config_dir):
        if not entry_group:
            found.extend(_option_overrides(config_dir, group, value))
        elif override:
            found.append((entry_group, _as_options(value)))
        else:
            raise _UnfollowedSelectionError  # an option that adds a group
    return found


def _as_options(value: Any) -> list[str]:
    """A defaults entry's or an override's option(s) as a list (none for null)."""
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _command_line_options(overrides: Sequence[Any], config_dir: Path) -> dict[str, list[str]]:
    """The options the command line selects, by group (a deleted group: none)."""
    selected: dict[str, list[str]] = {}
    for override in overrides:
        group = override.key_or_group
        if group.startswith("hydra") or "." in group or not (config_dir / group).is_dir():
            continue
        if override.package is not None:
            raise _UnfollowedSelectionError
        if override.is_delete():
            selected[group] = []
            continue
        choices = _named_choices(override)
        if choices is None or override.is_sweep_override():
            raise _UnfollowedSelectionError
        selected[group] = [str(choice).removesuffix(".yaml") for choice in choices]
    return selected


def selected_options(overrides: Sequence[Any], config_dir: Path) -> dict[str, list[str]]:
    """The options of each config group the command line composes: train.yaml's defaults,
    replaced by the overrides in the selected options' defaults lists (an experiment's
    ``override /model: lstm``; of two, the later in train.yaml's defaults order), replaced
    by the command line's choices, which win. Raises :class:`_UnfollowedSelectionError`
    where the selection is not followed."""
    root = config_dir / "train.yaml"
    command_line = _command_line_options(overrides, config_dir)
    defaults = {
        group: _as_options(value)
        for group, value, override in _defaults_entries(root, config_dir)
        if group and not override
    }
    selection = {**defaults, **command_line}
    for _ in range(len(selection) + 1):  # until the overrides' options add no override
        overridden: dict[str, list[str]] = {}
        for group, options in selection.items():  # in the defaults list's order
            for option in options:
                overridden.update(_option_overrides(config_dir, group, option))
        updated = {**defaults, **overridden, **command_line}
        if updated == selection:
            return selection
        selection = updated
    raise _UnfollowedSelectionError


def selected_key_paths(
    overrides: Sequence[Any], config_dir: Path, set_only: bool = False
) -> tuple[frozenset[str], dict[str, list[str]]] | None:
    """The keys of the config ``overrides`` compose (train.yaml's and those of the options
    :func:`selected_options` finds; with ``set_only``, those some file sets to a value other
    than null), with that selection; None where the selection is not followed (see
    :class:`_UnfollowedSelectionError`)."""
    try:
        selection = selected_options(overrides, config_dir)
        keys = set(_key_paths(_content(config_dir / "train.yaml"), "", set_only))
        for group, options in selection.items():
            keys.add(group.replace("/", "."))
            for option in options:
                for file in _option_files(config_dir, group, option):
                    package = _package(file, config_dir)
                    keys.update(_key_paths(_content(file), package, set_only))
    except _UnfollowedSelectionError:
        return None
    return frozenset(path for path in keys if path and path.split(".")[0] != "hydra"), selection


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


def _unknown_key(
    key: str, known: frozenset[str], selected: str = "", having: Sequence[str] = ()
) -> ZooError:
    """The refusal of ``key``, its first part that no config has: the keys of that name
    elsewhere (``lr``: optimizer.lr), else the keys beside it that contain the name or the
    closest spelling, else keys elsewhere that contain it (``epochs``: trainer.max_epochs),
    and the keys beside it. ``selected``: the options that leave it out (``model=mlp``);
    ``having``: the options of its group that have it (only keys beside it are then
    suggested)."""
    parent, _, name = key.rpartition(".")
    beside = sorted(path for path in known if _parent(path) == parent)
    close = _suggestion(name, [_leaf(path) for path in beside])
    meant = _containing(name, beside) or (
        [f"{parent}.{close}" if parent else close] if close else []
    )
    if not having:
        meant = (
            sorted(path for path in known if _leaf(path) == name)[:3]
            or meant
            or _containing(name, known)
        )
    hint = f"; did you mean {' or '.join(meant)}?" if meant else "."
    where = f" with {selected}" if selected else ""
    if having:
        shown = ", ".join(having[:4]) + (", ..." if len(having) > 4 else "")
        where += f" ({shown} {'has' if len(having) == 1 else 'have'} it)"
    if not beside:
        return ZooError(f"no config key {key!r}{where}: {parent} has no keys under it{hint}")
    under = f"under {parent}" if parent else "at the top"
    siblings = ", ".join(_leaf(path) for path in beside)
    return ZooError(f"no config key {key!r}{where}{hint} The keys {under}: {siblings}.")


def _options_having(config_dir: Path, group: str, path: str) -> list[str]:
    """The options of ``group`` whose files put the key ``path`` into the config."""
    having = []
    for option in group_options(config_dir, group):
        try:
            files = _option_files(config_dir, group, option)
        except _UnfollowedSelectionError:
            continue
        keys = {
            key for file in files for key in _key_paths(_content(file), _package(file, config_dir))
        }
        if path in keys:
            having.append(f"{group}={option}")
    return having


def _check_dict_keys(override: Any, known: set[str]) -> None:
    """Refuse a key of a dict set on a key or group (``trainer={max_epoch:3}``) that the
    config does not have, as Hydra does; keys under a null or empty value are the user's."""
    value = override.value()
    if override.is_add() or override.is_force_add() or not isinstance(value, dict):
        return
    for path in _key_paths(value, override.key_or_group):
        beside = any(_parent(other) == _parent(path) for other in known)
        if path not in known and beside:
            raise _unknown_key(path, frozenset(known))


def check_override_keys(overrides: Sequence[Any], config_dir: Path) -> None:
    """Refuse a ``key=value`` or ``~key`` whose key is not in the config the command line
    composes (Hydra refuses them too: the composed config is a struct), and a ``+key=value``
    adding a top-level key train.py does not read, naming the closest key, or a key the
    config already sets (Hydra refuses it in five lines unless the value is a list or a dict;
    ``++key`` sets either). The composed
    config's keys are those of the selected options (:func:`selected_key_paths`), else those
    of every config. Keys added earlier on the same command line count as known, with the
    keys of a dict they add; the keys of a dict set on a key are checked as its own keys
    would be; a list's items (``tags.0``) are left to Hydra."""
    everywhere = config_key_paths(config_dir)
    selected = selected_key_paths(overrides, config_dir)
    known = set(everywhere if selected is None else selected[0])
    for override in overrides:
        key = override.key_or_group
        if key.startswith("hydra") or "/" in key:
            continue  # Hydra's settings and groups in folders
        if (config_dir / key).is_dir():  # options checked by check_group_choices
            _check_dict_keys(override, known)
            continue
        parts = key.split(".")
        if override.is_add() and not isinstance(override.value(), dict | list):
            already_set = selected_key_paths(overrides, config_dir, set_only=True)
        else:
            already_set = None
        if already_set is not None and key in already_set[0]:
            value = override.get_value_element_as_str()
            raise ZooError(
                f"+{key}={value}: the config already has {key} (Hydra adds only new keys with "
                f"'+'); set it without the '+': {key}={value}."
            )
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
                group = parts[0]
                options = selected[1].get(group) if selected and path in everywhere else None
                chosen = f"{group}={','.join(options)}" if options else ""
                having = _options_having(config_dir, group, path) if options else []
                raise _unknown_key(path, frozenset(known), chosen, having)
        _check_dict_keys(override, known)


def check_task_name(overrides: Sequence[Any]) -> None:
    """Refuse a ``task_name`` that is not a plain name: it is part of the run folder's and the
    log file's names, which Hydra creates before train.py reads the config."""
    for override in overrides:
        if override.key_or_group != "task_name" or override.is_delete():
            continue
        value = override.value()  # a sweep's values are left to each job's own check
        if isinstance(value, str) and (
            value in ("", ".", "..") or any(sep in value for sep in ("/", "\\"))
        ):
            raise ZooError(
                f"task_name={value!r} names the run folder and its log; "
                "allowed: a plain name without '/', e.g. task_name=lenet_sweep."
            )


# paths.output_dir: the run folder itself when set (zoo.training.run holds it before the config
# check)
RUN_FOLDER_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "paths.output_dir")
# The folders the run folders and downloaded data go under, with an example value.
PATH_FOLDER_KEYS = {
    "paths.root_dir": "/data/my_project",
    "paths.log_dir": "outputs",
    "paths.data_dir": "data",
}


def check_run_folders(overrides: Sequence[Any]) -> None:
    """Refuse a ``hydra.run.dir``, ``hydra.sweep.dir``, ``paths.output_dir``,
    ``paths.root_dir`` or ``paths.log_dir`` where no folder can be written (a read-only or
    virtual file system, a file in its way), and a ``paths.data_dir`` that is a file: Hydra
    creates the run folder before train.py runs and fails with its traceback.
    The check writes and removes a file in a run folder, and leaves no folder it made."""
    import os
    import tempfile

    keys = {override.key_or_group for override in overrides if not override.is_delete()}
    for override in overrides:
        if override.key_or_group not in (*RUN_FOLDER_KEYS, *PATH_FOLDER_KEYS) or (
            override.is_delete()
        ):
            continue
        value = override.value()  # a sweep's values are left to each job's own check
        example = f"{override.key_or_group}=" + PATH_FOLDER_KEYS.get(
            override.key_or_group, "outputs/my_run"
        )
        if value == "" or value is None:
            raise ZooError(
                f"{override.key_or_group} is empty; allowed: a folder you can write to, e.g. "
                f"{example}."
            )
        if not isinstance(value, str) or "${" in value:
            continue  # interpolations resolve when Hydra composes the config
        folder = Path(value).expanduser().absolute()
        if override.key_or_group in PATH_FOLDER_KEYS:
            # folders that runs or data go under: a file in the way, or no folder for runs
            existing = next(p for p in (folder, *folder.parents) if p.exists())
            if not existing.is_dir():
                raise ZooError(
                    f"{override.key_or_group}={value}: {str(existing)!r} is a file, not a "
                    "folder; allowed: a "
                    f"folder (made if missing), e.g. {example}."
                )
            if override.key_or_group == "paths.data_dir" or (
                override.key_or_group == "paths.root_dir" and "paths.log_dir" in keys
            ):
                continue  # data already there may be read-only; runs go to paths.log_dir
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, probe = tempfile.mkstemp(dir=folder, prefix=".zoo_probe_")
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise ZooError(
                f"{override.key_or_group}={value}: no folder can be written there ({reason}); "
                f"allowed: a folder you can write to, e.g. {example}."
            ) from None
        finally:
            for made in missing:  # deepest first
                with contextlib.suppress(OSError):
                    made.rmdir()


LOG_FILE_KEY = "hydra.job_logging.handlers.file.filename"


def check_log_file(overrides: Sequence[Any]) -> None:
    """Refuse a ``hydra.job_logging.handlers.file.filename`` that cannot be written (in a
    folder that does not exist, is a file or refuses a new file): Hydra opens it before
    train.py runs and fails with its traceback ("Unable to configure handler 'file'"). A file
    made to check is removed; one already there is opened to append and left as it was."""
    import os

    for override in overrides:
        if override.key_or_group != LOG_FILE_KEY or override.is_delete():
            continue
        value = override.value()
        example = f"{LOG_FILE_KEY}=outputs/train.log"
        if value == "" or value is None:
            raise ZooError(f"{LOG_FILE_KEY} is empty; allowed: a file name, e.g. {example}.")
        if not isinstance(value, str) or "${" in value:
            continue  # a sweep's values, or interpolations Hydra resolves
        file = Path(value).expanduser().absolute()
        if file.is_dir():
            raise ZooError(f"{LOG_FILE_KEY}={value!r} is a folder; allowed: a file, e.g. {example}")
        existed = file.exists()
        try:
            with open(file, "a", encoding="utf-8"):
                pass
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise ZooError(
                f"{LOG_FILE_KEY}={value!r}: the log file cannot be written ({reason}); allowed: "
                f"a file in a folder that exists and you can write to, e.g. {example}."
            ) from None
        if not existed:
            with contextlib.suppress(OSError):
                os.unlink(file)


def _sweeper_fields(overrides: Sequence[Any]) -> tuple[str, list[str]] | None:
    """The sweeper the command line selects (``hparams_search=optuna`` brings Optuna's) and
    the keys of its config; None when its plugin is not installed (Hydra says so itself)."""
    import dataclasses

    selected = {o.key_or_group.lstrip("+~"): o.value() for o in overrides if not o.is_delete()}
    try:
        if "optuna" in (selected.get("hparams_search"), selected.get("hydra/sweeper")):
            from hydra_plugins.hydra_optuna_sweeper.config import OptunaSweeperConf

            name, conf = "optuna", OptunaSweeperConf
        elif selected.get("hydra/sweeper", "basic") == "basic":
            from hydra._internal.core_plugins.basic_sweeper import BasicSweeperConf

            name, conf = "basic", BasicSweeperConf
        else:
            return None
    except ImportError:
        return None
    return name, [f.name for f in dataclasses.fields(conf) if f.name != "defaults"]


def check_sweeper_overrides(overrides: Sequence[Any]) -> None:
    """Refuse a misspelled ``hydra.sweeper`` key, or a trial count that is not a positive
    whole number: Hydra's own errors for them are tracebacks, and Optuna's for
    ``n_trials=0`` comes after the sweep has started."""
    sweeper_overrides = [
        o for o in overrides if o.key_or_group.lstrip("+~").startswith("hydra.sweeper.")
    ]
    if not sweeper_overrides or (sweeper := _sweeper_fields(overrides)) is None:
        return
    name, fields = sweeper
    for override in sweeper_overrides:
        key = override.key_or_group.lstrip("+~")
        field = key.split(".")[2]
        if field not in fields:
            near = closest(field, fields)
            hint = f" Did you mean hydra.sweeper.{near[0]}?" if near else ""
            raise ZooError(
                f"{key}: the {name} sweeper has no key {field!r}.{hint} "
                f"Allowed: {', '.join(fields)}."
            )
        value = override.value()
        if field in ("n_trials", "n_jobs") and not is_positive_int(value):
            raise ZooError(f"{key}={value}: allowed: a whole number of at least 1, e.g. {key}=20.")


def check_sweeps_are_multirun(multirun: bool, overrides: Sequence[Any]) -> None:
    """Refuse a sweep (``optimizer.lr=0.01,0.02``) on a command line that does not run one:
    Hydra's "Ambiguous value" error runs to five lines. ``-m`` (``multirun``),
    ``hydra.mode=MULTIRUN`` and ``hparams_search`` (whose configs set that mode) run sweeps."""
    if multirun or any(
        o.key_or_group.lstrip("+~") in ("hydra.mode", "hparams_search") for o in overrides
    ):
        return
    for override in overrides:
        if override.is_sweep_override():
            text = override.input_line or override.key_or_group
            raise ZooError(
                f"{text} is a sweep, which runs with -m: python train.py -m {text}; for a "
                f"list value write it in brackets: {override.key_or_group}=[...]."
            )


def check_command_line(arguments: Sequence[str], config_dir: Path) -> None:
    """Refuse a misspelled group option or key of a ``train.py`` command line (see the
    module's docstring)."""
    parsed = parse_command_line(arguments)
    if parsed is None:
        return
    flags, overrides = parsed
    check_sweeps_are_multirun(flags.multirun, overrides)
    check_group_choices(overrides, config_dir)
    check_override_keys(overrides, config_dir)
    check_task_name(overrides)
    check_run_folders(overrides)
    check_log_file(overrides)
    check_sweeper_overrides(overrides)
