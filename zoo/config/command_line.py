"""``python train.py``'s command line checked before Hydra composes the config.

Hydra refuses a misspelled config-group option with every option and its search path, over
dozens of lines, and a misspelled key in six lines without a suggestion; both take as long
as importing torch and Lightning. Here the command line is parsed by Hydra's own parsers
(its flags, then its override grammar: quoting, lists, sweeps) and composed by Hydra's
Compose API, which imports no torch and resolves no interpolation (the zoo's resolvers
import torch); Hydra's composition errors become one line naming the closest spelling
(``model=mlp model.hidden_size=10``: mlp has ``hidden_sizes``), within a second. Only what
Hydra would refuse is refused: command lines that bring other config sources
(``--config-dir``, ``hydra.searchpath``) or ask for shell completion, and errors this check
does not word, are left to Hydra.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from zoo.config.sections import ROOT_KEYS
from zoo.config.values import is_positive_int
from zoo.errors import ZooError, closest, os_error_reason


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


def _suggestion(name: str, choices: Iterable[str]) -> str | None:
    """The choice that looks most like ``name`` (case aside), or None."""
    by_lower = {choice.lower(): choice for choice in choices}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    found = closest(name.lower(), by_lower, n=1)
    return by_lower[found[0]] if found else None


# At most this many compositions for one command line (a sweep's values each compose once)
MAX_COMPOSITIONS = 16


def _is_group(loader: Any, override: Any) -> bool:
    """Whether ``override`` names options of a config group (not keys set on one)."""
    return loader.repository.group_exists(override.key_or_group) and not isinstance(
        override.value(), dict
    )


def _command_lines(overrides: Sequence[Any], loader: Any) -> list[list[Any]]:
    """The overrides to compose, sweeps expanded: the first value of every sweep, then each
    other option of a config group's sweep with the other sweeps at their first (a key's
    values do not change what the config holds); a sweep that cannot be listed
    (``interval``) is left to its sweeper."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    values: list[list[Any]] = []
    for override in overrides:
        if not override.is_sweep_override():
            values.append([override])
        elif override.is_discrete_sweep():
            override.config_loader = loader  # a glob lists the group's options
            key = override.get_key_element()
            swept = itertools.islice(override.sweep_string_iterator(), MAX_COMPOSITIONS)
            swept = parser.parse_overrides([f"{key}={value}" for value in swept])
            values.append(swept if _is_group(loader, override) else swept[:1])
    lines = [[choices[0] for choices in values if choices]]
    for index, choices in enumerate(values):
        for choice in choices[1:]:
            lines.append([choice if i == index else c[0] for i, c in enumerate(values) if c])
    return lines[:MAX_COMPOSITIONS]


def _key_paths(node: Any, prefix: str = "") -> Iterable[str]:
    """The dotted keys of a composed config (a list's items aside)."""
    for key, value in node.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict):
            yield from _key_paths(value, f"{path}.")


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


def _unknown_key(key: str, known: Iterable[str], selected: str = "") -> ZooError:
    """The refusal of ``key``, which no key of ``known`` is: the keys of that name
    elsewhere (``lr``: optimizer.lr), else the keys beside it that contain the name or the
    closest spelling, else keys elsewhere that contain it (``epochs``: trainer.max_epochs),
    and the keys beside it; ``selected``: the option that put them there (``model=mlp``)."""
    parent, _, name = key.rpartition(".")
    beside = sorted(path for path in known if path.rpartition(".")[0] == parent)
    close = _suggestion(name, [_leaf(path) for path in beside])
    meant = (
        sorted(path for path in known if _leaf(path) == name)[:3]
        or _containing(name, beside)
        or ([f"{parent}.{close}" if parent else close] if close else [])
        or _containing(name, known)
    )
    hint = f"; did you mean {' or '.join(meant)}?" if meant else "."
    where = f"{parent} ({selected})" if selected else parent
    if not beside:
        return ZooError(f"no config key {key!r}: {where} has no keys under it{hint}")
    under = f"under {where}" if parent else "at the top"
    siblings = ", ".join(_leaf(path) for path in beside)
    return ZooError(f"no config key {key!r}{hint} The keys {under}: {siblings}.")


def _refuse_key(key: str, line: Sequence[Any], failing: Any, loader: Any) -> ZooError:
    """The refusal of ``key``, or of its first part that the config ``line`` composes
    without ``failing`` (and the key overrides after it) does not have."""
    from hydra import compose
    from hydra.core.object_type import ObjectType
    from omegaconf import OmegaConf

    index = line.index(failing)
    kept = [o for i, o in enumerate(line) if i < index or (i > index and _is_group(loader, o))]
    cfg = compose("train", overrides=[o.input_line for o in kept], return_hydra_config=True)
    choices = cfg.hydra.runtime.choices
    cfg = OmegaConf.to_container(cfg, resolve=False)
    cfg.pop("hydra")
    groups = loader.get_group_options("", results_filter=ObjectType.GROUP)
    known = {*_key_paths(cfg), *(group for group in groups if group != "hydra")}
    parts = key.split(".")
    depth = next((d for d in range(1, len(parts)) if ".".join(parts[:d]) not in known), len(parts))
    option = choices.get(parts[0]) if depth > 1 else None
    return _unknown_key(".".join(parts[:depth]), known, option and f"{parts[0]}={option}")


def _refuse_option(group: str, name: str, options: Sequence[str]) -> ZooError:
    """The refusal of ``group=name``, an option ``group`` does not have."""
    suggestion = _suggestion(name, options) if name else None
    hint = f"; did you mean {group}={suggestion}?" if suggestion else "."
    return ZooError(
        f"{group}={name!r} is not one of the {group} options{hint} The options: "
        f"{', '.join(options)}."
    )


def _refusal(error: Exception, line: Sequence[Any], loader: Any) -> ZooError | None:
    """Hydra's composition error for the overrides ``line`` as one line naming the bad
    option or key and the closest spelling; None for one of another kind (Hydra's own
    message it is)."""
    from hydra.errors import MissingConfigException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    message = str(error).splitlines()[0] if str(error) else ""
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, name = error.missing_cfg_file.rpartition("/")
        if not any(o.key_or_group == group for o in line):
            return None  # a config's own defaults list: Hydra's message
        return _refuse_option(group, name, error.options or loader.get_group_options(group))
    if found := re.match(r"Could not delete '(.*)=(.*)'\. No match in the defaults", message):
        options = loader.get_group_options(found[1])
        return None if found[2] in options else _refuse_option(found[1], found[2], options)
    if found := re.match(r"Could not override '(.*)'", message):
        if not isinstance(error.__cause__, ConfigAttributeError | ConfigKeyError):
            return None
        key, full_key = found[1], error.__cause__.full_key
    elif found := re.match(r"Could not delete from config\. '(.*)' does not exist", message):
        key = full_key = found[1]
    elif found := re.match(r"Could not append to config\. An item is already at '(.*)'", message):
        key = found[1]
        value = next(o for o in line if o.key_or_group == key).get_value_element_as_str()
        return ZooError(
            f"+{key}={value}: the config already has {key} (Hydra adds only new keys with "
            f"'+'); set it without the '+': {key}={value}."
        )
    else:
        return None
    failing = next(o for o in reversed(line) if o.key_or_group == key)
    return _refuse_key(full_key, line, failing, loader)


def check_composition(overrides: Sequence[Any], config_dir: Path) -> None:
    """Compose ``config_dir``'s train.yaml with ``overrides`` as Hydra will (each sweep's
    values, see :func:`_command_lines`; nothing resolved) and refuse what Hydra refuses in a
    line naming the closest spelling: an option no file has (``model=vea``), a group given
    null, a key the config does not have (it is a struct), ``+key`` for a key it has; and a
    ``+key`` at the top that train.py does not read, which Hydra adds."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()  # a composition before this one (tests) is not ours
    with initialize_config_dir(str(config_dir), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        for override in overrides:  # Hydra's is a ValueError naming no group
            if (
                override.value() is None
                and not override.is_delete()
                and _is_group(loader, override)
            ):
                group = override.key_or_group
                options = loader.get_group_options(group)
                instead = f" or {group}=none" if "none" in options else ""
                raise ZooError(
                    f"{group}=null names no {group} option (Hydra takes no null for a config "
                    f"group); ~{group} drops the default{instead}. The options: "
                    f"{', '.join(options)}."
                )
        for line in _command_lines(overrides, loader):
            try:
                compose("train", overrides=[o.input_line for o in line])
            except Exception as error:  # Hydra's, OmegaConf's, or a ValueError
                try:
                    refusal = _refusal(error, line, loader)
                except Exception:  # not the error this check words
                    refusal = None
                if refusal is None:
                    return  # Hydra's own error, in its own words
                raise refusal from None
            for added in line:
                key = added.key_or_group
                adds = added.is_add() or added.is_force_add()
                if (
                    adds
                    and "." not in key
                    and key not in ROOT_KEYS
                    and not _is_group(loader, added)
                ):
                    raise _refuse_key(key, line, added, loader)


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
            raise ZooError(
                f"{LOG_FILE_KEY}={value!r}: the log file cannot be written "
                f"({os_error_reason(error)}); allowed: "
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
    check_sweeper_overrides(overrides)
    if overrides:  # the configs alone (tests/test_configs.py composes each) need no check
        check_composition(overrides, config_dir)
    check_task_name(overrides)
    check_run_folders(overrides)
    check_log_file(overrides)


def start_command_line_check(
    arguments: Sequence[str], config_dir: Path, report: Callable[[ZooError], None]
) -> Callable[[], None]:
    """Start :func:`check_command_line` beside the caller's own start-up; returns the function
    that waits for its verdict (raising the check's ``ZooError``).

    The check's compositions take about 0.3 s of one core, while ``train.py`` imports torch
    and Lightning (about 5 s) on one core. So on Linux with two cores or more, from a process
    that has not loaded torch or started a thread (a fork copies the calling thread alone,
    and torch's OpenMP threads do not survive one), the check runs in a forked process. A
    refusal does not wait for the imports: the forked process sends it back with SIGUSR1, and
    this process prints it with ``report`` and exits with status 2 as soon as it next runs
    Python (an exception raised inside an import can leave numpy half-imported, so it exits
    with ``os._exit``: nothing is written yet). Everywhere else, and for an empty command
    line, the check runs here, now. A forked check that ends without a verdict (killed, or an
    error it does not word) is run again here, which then reports what it finds.
    """
    if not (arguments and _can_fork()):
        check_command_line(arguments, config_dir)
        return lambda: None

    read_end, write_end = os.pipe()
    forked = _ForkedCheck(read_end)

    def refused_now(signum: int, frame: Any) -> None:
        if forked.reading:  # wait() is reading the verdict: it reports the refusal itself
            return
        refusal = forked.refusal()
        if refusal is not None:
            report(refusal)
            sys.stderr.flush()
            os._exit(2)

    previous = signal.signal(signal.SIGUSR1, refused_now)  # before the check can refuse
    parent = os.getpid()
    forked.child = os.fork()
    if forked.child == 0:  # the check's process: never returns into the caller's code
        try:
            os.close(read_end)
            for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
                signal.signal(stop, signal.SIG_DFL)  # Ctrl-C ends it quietly
            verdict = _verdict(arguments, config_dir)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(verdict)
            if verdict.startswith(_REFUSED) and os.getppid() == parent:
                os.kill(parent, signal.SIGUSR1)  # the caller ends now, not after its imports
        finally:
            os._exit(0)
    os.close(write_end)

    def wait() -> None:
        refusal = forked.refusal()
        signal.signal(signal.SIGUSR1, previous)
        if refusal is not None:
            raise refusal
        if forked.verdict != _ACCEPTED:
            check_command_line(arguments, config_dir)

    return wait


_ACCEPTED, _REFUSED = b"accepted", b"refused:"


def _verdict(arguments: Sequence[str], config_dir: Path) -> bytes:
    """The forked check's verdict: accepted, refused with the refusal's message, or nothing
    (an error the check does not word: the caller checks again itself)."""
    try:
        check_command_line(arguments, config_dir)
    except ZooError as error:
        return _REFUSED + str(error).encode("utf-8", "backslashreplace")
    except BaseException:
        return b""
    return _ACCEPTED


class _ForkedCheck:
    """The forked check's verdict, read once: by ``wait()``, or by the SIGUSR1 handler when
    the check refused (``reading`` keeps the handler out while ``wait()`` reads)."""

    def __init__(self, read_end: int) -> None:
        self.read_end = read_end
        self.child = 0  # the forked process, once forked
        self.reading = False
        self.verdict: bytes | None = None

    def refusal(self) -> ZooError | None:
        if self.verdict is None:
            self.reading = True
            with os.fdopen(self.read_end, "rb") as pipe:
                verdict = pipe.read()
            os.waitpid(self.child, 0)
            self.verdict = verdict
            self.reading = False
        if self.verdict.startswith(_REFUSED):
            return ZooError(self.verdict.removeprefix(_REFUSED).decode("utf-8"))
        return None


def _can_fork() -> bool:
    """Whether this process may fork a check: Linux (fork's semantics there are what the
    check needs), two cores or more to use, one thread, and torch not loaded."""
    return (
        sys.platform == "linux"
        and len(os.sched_getaffinity(0)) >= 2
        and threading.active_count() == 1
        and "torch" not in sys.modules
    )
