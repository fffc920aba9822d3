"""A run folder held by one ``train.py`` at a time, and its record of the config written only
once the run is accepted.

Hydra writes ``.hydra/`` (the config, its own settings, the overrides) into the run folder
when the job starts, before any check: a refused command pointed at an earlier run's folder
(``hydra.run.dir=...``) overwrote that run's record. configs/hydra/default.yaml turns that
off (``output_subdir: null``) and :func:`write_hydra_record` writes the same three files,
atomically, after the config is accepted. :func:`hold_run_folder` takes an exclusive lock on
the folder for the whole run, so a second run or resume into a folder in use is refused
instead of deleting the first run's checkpoints and overwriting its results.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from zoo.errors import ZooError

#: the lock file of a run folder (it stays; the lock is the open file's, released on exit)
LOCK_NAME = ".lock"


def _is_launched_rank() -> bool:
    """Whether this process is a rank Lightning started for a run (DDP's other processes),
    which shares the folder of the process that started it."""
    return int(os.environ.get("LOCAL_RANK", "0")) != 0 or int(os.environ.get("NODE_RANK", "0")) != 0


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[Any]:
    """Open ``run_dir``'s lock file (made with the folder if missing) and take its lock,
    without waiting; yields the open file, or None when another process holds the lock. A
    lock file replaced while we waited for the lock (a refused run removed its
    folder) is opened again, so two processes never hold locks on two files of one name. A
    lock file that is a link is refused: the run would write its pid where the link points."""
    import fcntl

    lock = run_dir / LOCK_NAME
    while True:
        run_dir.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise _link_refused(lock) from None
            raise
        with os.fdopen(descriptor, "r+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield None
                return
            try:
                replaced = os.fstat(handle.fileno()).st_ino != os.stat(lock).st_ino
            except FileNotFoundError:
                replaced = True
            if replaced:
                continue
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
            return


@contextlib.contextmanager
def hold_run_folder(run_dir: Path, *also: Path, main: bool = True) -> Iterator[None]:
    """Hold ``run_dir`` (created if missing), and the folders in ``also``, for the block:
    refused with one line when another process holds one, or when one holds a link
    (:func:`check_no_links`). ``main=False``: they are folders a run writes outside its run
    folder (a checkpoint or logger folder set elsewhere). Where the platform has no
    ``fcntl`` (Windows), nothing is locked."""
    if not _has_fcntl() or _is_launched_rank():
        yield
        return
    with contextlib.ExitStack() as stack:
        for folder in dict.fromkeys([run_dir, *also]):  # in order, once each
            handle = stack.enter_context(_locked(folder))
            if handle is None:
                what = "run folder" if main and folder == run_dir else "folder"
                raise ZooError(
                    f"the {what} {str(folder)!r} is in use by another train.py (pid "
                    f"{_read_holder(folder)}); wait for it to end, or write this run to another "
                    "folder (hydra.run.dir=...)."
                )
            check_no_links(folder)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
        yield


def check_no_links(folder: Path) -> None:
    """Refuse a folder a run writes that holds a symbolic link among its files or those of
    its sub-folders (``checkpoints/``, ``csv/``): a link planted in a shared folder would send
    the run's writes (and the removal of old checkpoints) to the file it points to."""
    for entry in _entries(folder, depth=2):
        if entry.is_symlink():
            raise _link_refused(entry)


def _entries(folder: Path, depth: int) -> Iterator[Path]:
    try:
        children = list(folder.iterdir())
    except OSError:
        return
    for child in children:
        yield child
        if depth > 1 and child.is_dir() and not child.is_symlink():
            yield from _entries(child, depth - 1)


def _link_refused(path: Path) -> ZooError:
    return ZooError(
        f"{str(path)!r} is a link (to {os.readlink(path)!r}): a run writes only files of its "
        "own, so a link in its folder is refused; remove it, or write this run to another "
        "folder (hydra.run.dir=...; checkpoints elsewhere: callbacks.model_checkpoint.dirpath=...)."
    )


def _has_fcntl() -> bool:
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return False
    return True


def _read_holder(run_dir: Path) -> str:
    try:
        return (run_dir / LOCK_NAME).read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def existing_entries(run_dir: Path) -> frozenset[str]:
    """The names in ``run_dir`` when the run started (before it wrote anything), for
    :func:`discard_if_unused`; an empty log file (the one Hydra just made for this job)
    is not counted."""
    try:
        children = list(run_dir.iterdir())
    except OSError:
        return frozenset()
    return frozenset(
        child.name
        for child in children
        if not (child.suffix == ".log" and child.is_file() and child.stat().st_size == 0)
    )


def discard_if_unused(run_dir: Path, existed: frozenset[str]) -> None:
    """Remove what a run refused before it trained made in ``run_dir`` (its log, the lock,
    Hydra's record, empty folders), and the folder too if it was made for this run (nothing
    in ``existed``, the folder's names when the run started), so mistakes leave no empty runs
    behind and a folder of the user's keeps everything it held.

    Only under the folder's lock, taken without waiting: a folder another train.py holds (a
    run refused because that one is using the folder) is never touched, nor its lock. What
    was there before (an earlier run's results or checkpoints, a link) stays."""
    if not run_dir.is_dir() or _is_launched_rank() or not _has_fcntl():
        return

    def unused(entry: Path) -> bool:
        if entry.is_symlink():
            return False
        if entry.name in (".hydra", LOCK_NAME) or entry.name.endswith(".log"):
            return True
        return entry.is_dir() and not any(entry.iterdir())  # a logger's empty folder

    with contextlib.ExitStack() as stack:
        try:
            handle = stack.enter_context(_locked(run_dir))
        except ZooError:  # its lock file is a link: not a folder to touch
            return
        if handle is None:
            return  # in use by another run
        entries = list(run_dir.iterdir())
        if not existed and all(unused(entry) for entry in entries):
            shutil.rmtree(run_dir, ignore_errors=True)
            return
        for entry in entries:  # what this run made: its lock, its log, empty folders
            if entry.name in existed or not unused(entry):
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def write_hydra_record(run_dir: Path, cfg: DictConfig) -> None:
    """Write what Hydra records of a run into ``run_dir/.hydra/``, each file atomically:
    ``config.yaml`` (``cfg``, the composed config, unresolved), ``hydra.yaml`` (Hydra's
    settings) and ``overrides.yaml`` (the command line's overrides). Nothing outside a
    Hydra run, or in a rank Lightning launched."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from zoo.weights import atomic_write_bytes

    if not HydraConfig.initialized() or _is_launched_rank():
        return
    hydra_cfg = HydraConfig.get()
    records = {
        "config.yaml": cfg,
        "hydra.yaml": OmegaConf.create({"hydra": hydra_cfg}),
        "overrides.yaml": OmegaConf.create(list(hydra_cfg.overrides.task)),
    }
    folder = run_dir / ".hydra"
    folder.mkdir(parents=True, exist_ok=True)
    for name, config in records.items():
        atomic_write_bytes(folder / name, OmegaConf.to_yaml(config).encode())
