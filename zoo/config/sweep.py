"""Every job of a ``python train.py -m`` sweep checked before its first job trains.

Hydra's basic sweeper composes the jobs' configs up front but runs the zoo's checks of each
only when that job starts: ``-m optimizer.lr=0.01,-1`` trains job #0 to the end before job
#1 is refused, and the refusal ends the sweep. Here job #0, before it trains, composes the
other jobs' configs as the sweeper will and runs the same checks on each, so that a bad
value anywhere in the sweep is refused in one line, naming its job, before any training.
Sweepers that draw their jobs as they go (Optuna's) are left to each job's own check.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig, open_dict
from omegaconf.errors import OmegaConfBaseException

from zoo.errors import ZooError, one_line


def sweep_jobs() -> list[list[str]] | None:
    """The task overrides of every job of the basic sweep this process runs as job #0, in
    job order; None outside one (a single run, a later job, another sweeper, a command line
    read differently)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized() or HydraConfig.get().job.get("num") != 0:
        return None
    return basic_sweep_jobs()


def basic_sweep_jobs() -> list[list[str]] | None:
    """The task overrides of every job of the basic sweep this process runs a job of (any
    job), in job order; None outside one (a single run, another sweeper, a command line read
    differently)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    num = hydra.job.get("num")
    if hydra.mode != RunMode.MULTIRUN or not isinstance(num, int):
        return None
    if not str(hydra.sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return None
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    from zoo.config.command_line import parse_overrides

    overrides = parse_overrides(sys.argv[1:])
    if overrides is None:
        return None
    params = hydra.sweeper.get("params") or {}
    from hydra.core.override_parser.overrides_parser import OverridesParser

    task = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    task += [o for o in overrides if not o.key_or_group.lstrip("+~").startswith("hydra")]
    try:
        [jobs] = BasicSweeper.split_arguments(task, max_batch_size=None)
    except Exception:  # a sweep type the basic sweeper refuses: Hydra says so itself
        return None
    if not 0 <= num < len(jobs) or jobs[num] != list(hydra.overrides.task):
        return None  # not the sweep this job belongs to
    return jobs


def compose_job(overrides: list[str], job_num: int) -> DictConfig:
    """The config of sweep job ``job_num``, composed as the sweeper composes it, its run
    folder where the sweeper will put it."""
    from hydra import compose
    from hydra.core.hydra_config import HydraConfig

    hydra = HydraConfig.get()
    cfg = compose(config_name=hydra.job.config_name, overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(Path(hydra.sweep.dir) / str(job_num))
    return cfg


def check_sweep_jobs(check) -> None:
    """Run ``check`` (the zoo's config check) on every later job of the sweep this process
    runs as job #0; a ``ZooError`` naming the first job refused."""
    jobs = sweep_jobs()
    for job_num, overrides in enumerate(jobs or [], start=0):
        if job_num == 0:
            continue  # this job, checked as it starts
        try:
            check(compose_job(overrides, job_num))
        except (ZooError, OmegaConfBaseException) as error:
            message = one_line(error).rstrip(".")
            raise ZooError(
                f"sweep job #{job_num} ({' '.join(overrides)}): {message}. No job was run."
            ) from None


def remaining_sweeps(jobs: list[list[str]], first: int) -> list[list[str]]:
    """The sweeps (each the overrides of one ``python train.py -m``) that run ``jobs[first:]``
    of a basic sweep, in the sweeper's order, as few as the sweep's shape allows.

    The basic sweeper runs the product of each override's values, the last one varying
    fastest: the jobs from ``first`` on are, for each override from the last to the first,
    the jobs that share ``first``'s values before it, take its later values there (its own
    value too, for the last override) and every value after it. One sweep per override at
    most; none when ``first`` is past the end."""
    if not 0 <= first < len(jobs):
        return []
    width = len(jobs[0])
    values = [list(dict.fromkeys(job[i] for job in jobs)) for i in range(width)]
    digits = [values[i].index(jobs[first][i]) for i in range(width)]
    sweeps = []
    for position in reversed(range(width)):
        start = digits[position] + (0 if position == width - 1 else 1)
        if start >= len(values[position]):
            continue
        sweep = [jobs[first][i] for i in range(position)]
        sweep.append(_joined(values[position][start:]))
        sweep += [_joined(values[i]) for i in range(position + 1, width)]
        sweeps.append(sweep)
    return sweeps


def _joined(overrides: list[str]) -> str:
    """``key=a``, ``key=b`` as the one sweep override ``key=a,b``."""
    key = overrides[0].split("=", 1)[0]
    return f"{key}=" + ",".join(o.split("=", 1)[1] for o in overrides)
