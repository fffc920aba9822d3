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
    folder) is opened again, so two processes never hold locks on two files of one name."""
    import fcntl

    lock = run_dir / LOCK_NAME
    while True:
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(lock, "a+") as handle:
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
def hold_run_folder(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir`` (created if missing) for the block: refused with one line when
    another process holds it. Where the platform has no ``fcntl`` (Windows), nothing is
    locked."""
    if not _has_fcntl() or _is_launched_rank():
        yield
        return
    with _locked(run_dir) as handle:
        if handle is None:
            holder = _read_holder(run_dir)
            raise ZooError(
                f"the run folder {str(run_dir)!r} is in use by another train.py (pid "
                f"{holder}); wait for it to end, or write this run to another folder "
                "(hydra.run.dir=...)."
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


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


def discard_if_unused(run_dir: Path) -> None:
    """Remove the folder of a run that was refused before it trained (it holds only its log,
    the lock, Hydra's record and empty folders), so mistakes leave no empty runs behind.

    Only under the folder's lock, taken without waiting: a folder another train.py holds (a
    run refused because that one is using the folder) is never touched, nor its lock. Any
    folder with other contents stays."""
    if not run_dir.is_dir() or _is_launched_rank():
        return

    def unused(entry: Path) -> bool:
        if entry.name in (".hydra", LOCK_NAME) or entry.name.endswith(".log"):
            return True
        return entry.is_dir() and not any(entry.iterdir())  # a logger's empty folder

    if not _has_fcntl():
        return
    with _locked(run_dir) as handle:
        if handle is None:
            return  # in use by another run
        if all(unused(entry) for entry in run_dir.iterdir()):
            shutil.rmtree(run_dir, ignore_errors=True)


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
