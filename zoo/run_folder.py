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
from collections.abc import Iterator
from pathlib import Path

from omegaconf import DictConfig

from zoo.errors import ZooError

#: the lock file of a run folder (it stays; the lock is the open file's, released on exit)
LOCK_NAME = ".lock"


def _is_launched_rank() -> bool:
    """Whether this process is a rank Lightning started for a run (DDP's other processes),
    which shares the folder of the process that started it."""
    return int(os.environ.get("LOCAL_RANK", "0")) != 0 or int(os.environ.get("NODE_RANK", "0")) != 0


@contextlib.contextmanager
def hold_run_folder(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir`` (created if missing) for the block: refused with one line when
    another process holds it. Where the platform has no ``fcntl`` (Windows), nothing is
    locked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    if _is_launched_rank():
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / LOCK_NAME
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ZooError(
                f"the run folder {str(run_dir)!r} is in use by another train.py (pid "
                f"{holder}); wait for it to end, or write this run to another folder "
                "(hydra.run.dir=...)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
