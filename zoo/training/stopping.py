"""How a run stops, and the one line that says so: Ctrl-C, SIGTERM, a closed output, a file
that could not be written, or a mistake in the config.

:func:`run_reporting_stops` runs ``train.py``'s work and turns each way it can stop into one
line on stderr and the shell's conventional exit code: 2 for a mistake (a ``ZooError``; the
folder a refused run made is removed), 130 after Ctrl-C, 143 after SIGTERM, 141 after a
closed output (``| head``), 74 (EX_IOERR) after a failed write; each interruption and failed
write names the checkpoint kept and the command that resumes from it. Before the run starts
(importing torch, composing the config) :func:`exit_before_training` ends the process on a
signal at once. It imports neither torch nor Lightning until a run stops, so train.py installs
that handler before importing them.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from omegaconf.errors import InterpolationResolutionError

from zoo.errors import WRITE_FAILED_EXIT, ZooError, one_line, os_error_reason
from zoo.training.run_folder import discard_if_unused, existing_entries
from zoo.training.sweep_summary import FAILED, INTERRUPTED, summarize_stopped_sweep

T = TypeVar("T")


class StoppedWhile(BaseException):
    """A stop (Ctrl-C, SIGTERM) during a named stage of the run after training (``stage``:
    "testing and exporting"), for :func:`interruption`'s line; ``stop`` is the original."""

    def __init__(self, stage: str, stop: BaseException) -> None:
        super().__init__(stage)
        self.stage, self.stop = stage, stop


def output_dir(cfg: DictConfig) -> Path:
    """The run folder (``paths.output_dir``: Hydra's run folder unless overridden)."""
    return Path(cfg.paths.output_dir)


def last_checkpoint_of(cfg: DictConfig) -> Path | None:
    """The checkpoint to resume the run ``cfg`` from, None if it wrote none."""
    from zoo.training.checkpointing import checkpoint_folder, latest_checkpoint

    return latest_checkpoint(output_dir(cfg), checkpoint_folder(cfg))


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` or an exception it was raised while handling is a ``kind``."""
    visited: set[int] = set()
    seen: BaseException | None = error
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, kind):
            return True
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return False


def interruption(cfg: DictConfig, stop: BaseException) -> tuple[str, int]:
    """The line and exit code for a run stopped on a signal (Lightning raises ``SystemExit``:
    code 1 after Ctrl-C, its ``SIGTERMException`` after SIGTERM; a ``KeyboardInterrupt`` outside
    its loops) or by a closed output (``python train.py | head``): the shell's conventional
    130, 143 or 141 (SIGPIPE), never 0, and how to resume."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    signal_name, code = ("SIGTERM", 143) if isinstance(stop, SIGTERMException) else ("Ctrl-C", 130)
    if _caused_by(stop, BrokenPipeError):  # rich ends the process with SystemExit(1)
        signal_name, code = "its output was closed: a broken pipe, as after `| head`", 141
    stage = "training"
    if isinstance(stop, StoppedWhile):
        stage, stop = stop.stage, stop.stop
    last = last_checkpoint_of(cfg)
    if last is None:
        resume = "no epoch had ended, so there is no checkpoint to resume from"
        rest = _rest_of_sweep()
        resume += f"; {rest}" if rest else "."
    else:
        resume = _how_to_resume(last)
    return f"{stage} was interrupted ({signal_name}){_sweep_note()}; {resume}", code


def _how_to_resume(last: Path) -> str:
    """The command that resumes this run from its checkpoint ``last``; in a job of a basic
    sweep, followed by the sweeps of the jobs that did not run (:func:`_rest_of_sweep`)."""
    from zoo.training.checkpointing import ckpt_path_override, path_override, train_command

    overrides = task_overrides()
    if overrides is None:
        return f"resume with the same overrides and {ckpt_path_override(last)}."
    # the run's own overrides, quoted for the shell, with ckpt_path set; a sweep's job in its
    # own folder, where its metrics.csv goes on
    extra = [ckpt_path_override(last)]
    if _in_sweep():
        extra.insert(0, path_override("hydra.run.dir", HydraConfig.get().runtime.output_dir))
    command = train_command([*overrides, *hydra_run_overrides()], *extra)
    return _rest_of_sweep(command) or f"to resume: {command}"


def _in_sweep() -> bool:
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _rest_of_sweep(resume: str | None = None) -> str:
    """In a job of Hydra's basic sweep: the command line that finishes the sweep, the job
    resumed from its checkpoint by the command ``resume`` (or run again without one), then
    the jobs that did not run as ``-m`` sweeps of their values
    (:func:`zoo.config.sweep.remaining_sweeps`), joined by ``&&``; "" elsewhere, or when
    nothing is left to run."""
    import shlex

    from zoo.config.sweep import basic_sweep_jobs, remaining_sweeps

    jobs = basic_sweep_jobs()
    if not jobs:
        return ""
    num = HydraConfig.get().job.num
    hydra = sweep_hydra_overrides()
    later = remaining_sweeps(jobs, num + 1 if resume else num)
    if not later:
        return ""
    sweeps = [" ".join(["python train.py -m", *map(shlex.quote, [*s, *hydra])]) for s in later]
    count = len(jobs) - num - 1
    jobs_left = f"{count} job{'s' if count != 1 else ''}"
    if resume:
        what = f"this job from its checkpoint, then the {jobs_left} that did not run"
    else:
        what = f"this job again and the {jobs_left} after it" if count else "this job again"
    return f"to finish the sweep ({what}): {' && '.join([*([resume] if resume else []), *sweeps])}"


# OSErrors that mean the disk refused a write wherever it happened: full, over quota, a file
# too large, read-only. Others count when zoo's own writes raised them (``zoo_write_path``).
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def _failed_write(error: BaseException) -> OSError | None:
    """The ``OSError`` of a failed write that ``error`` is, or was raised while handling:
    the first of zoo's own writes (which name their file), else the first the disk refused
    (a logger's write on the same full disk, while Lightning handled the first failure)."""
    chain: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    failures = [e for e in chain if isinstance(e, OSError)]
    named = [e for e in failures if hasattr(e, "zoo_write_path")]
    return next(iter(named or [e for e in failures if e.errno in _DISK_ERRNOS]), None)


def write_failure(cfg: DictConfig, error: BaseException) -> tuple[str, int] | None:
    """The line and exit code (:data:`WRITE_FAILED_EXIT`) for a run stopped because a file
    could not be written (a full disk: a checkpoint, written in the background, or the
    exported model): which file and why, which checkpoint is kept (checkpoints are written
    atomically, so the ones before are whole) and how to resume from it; None when ``error``
    is not a failed write."""
    failed = _failed_write(error)
    if failed is None:
        return None
    path = getattr(failed, "zoo_write_path", None) or failed.filename
    what = f"writing {str(path)!r}" if path else f"writing into {str(output_dir(cfg))!r}"
    reason = os_error_reason(failed)
    last = last_checkpoint_of(cfg)
    if last is None:
        kept = "no checkpoint had been written, so there is nothing to resume from"
        rest = _rest_of_sweep()
        kept += f"; once that is fixed, {rest}" if rest else ""
    else:
        kept = f"the checkpoints written before are whole, the last {str(last)!r}; once that is "
        kept += f"fixed, {_how_to_resume(last)}"
    return f"the run stopped{_sweep_note()}: {what} failed ({reason}); {kept}", WRITE_FAILED_EXIT


class SigtermWatch:
    """Notes a SIGTERM to this process. Inside Lightning's ``fit`` and ``test`` (whose own
    handler calls this one too) the loops stop at their next step; outside them (building the
    model, exporting) the handler raises Lightning's ``SIGTERMException`` itself, so that the
    run ends with the resume line instead of a silent kill. Under DDP, a process whose peer
    stopped first fails inside a collective operation: :attr:`received` tells that failure
    from a real one."""

    received = False

    @classmethod
    def install(cls) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, cls._handle)

    @classmethod
    def _handle(cls, signum: int, frame: Any) -> None:
        cls.received = True
        if signal.getsignal(signal.SIGTERM) == cls._handle:  # not via Lightning's (bound: ==)
            from lightning.pytorch.utilities.exceptions import SIGTERMException

            raise SIGTERMException(143)


def is_rank_zero() -> bool:
    """Whether this is the process that reports (rank 0; the only one without DDP)."""
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def _sweep_note() -> str:
    """For a job of a sweep (``-m``): which one, and that the jobs after it did not run (of
    Hydra's basic sweeper, whose jobs are known, the resume line runs them too)."""
    from zoo.config.sweep import basic_sweep_jobs

    if not _in_sweep():
        return ""
    hydra = HydraConfig.get()
    jobs = basic_sweep_jobs()
    if jobs:
        return f" in job #{hydra.job.num} of a sweep of {len(jobs)} (#0-#{len(jobs) - 1})"
    return f" in job #{hydra.job.num} of a sweep, whose later jobs did not run"


def interruptible_again() -> None:
    """Make Ctrl-C a ``KeyboardInterrupt`` again after a Lightning ``fit`` or ``test``: its
    teardown leaves SIGINT at the system default, which kills the process without a word
    (and without the resume line). A handler someone else installed is left alone."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGINT) in (signal.SIG_DFL, signal.SIG_IGN):
        signal.signal(signal.SIGINT, signal.default_int_handler)


def task_overrides() -> list[str] | None:
    """The command-line overrides this run was started with; None outside a Hydra run."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else None


# Hydra overrides that belong to a sweep, not to the one run a resume command starts.
_SWEEP_ONLY = ("hydra.mode", "hydra.sweep", "hydra.launcher", "hydra/sweeper", "hydra/launcher")


def sweep_hydra_overrides() -> list[str]:
    """The ``hydra.*`` overrides of this sweep's command line that a new sweep of its
    remaining jobs takes: not its folder (the new sweep's jobs are numbered from 0, and would
    meet this sweep's finished ones), nor the mode (``-m`` says it)."""
    if not HydraConfig.initialized():
        return []
    return [
        o
        for o in HydraConfig.get().overrides.hydra
        if not o.lstrip("+~").startswith(("hydra.mode", "hydra.sweep.dir", "hydra.run."))
    ]


def hydra_run_overrides() -> list[str]:
    """The ``hydra.*`` overrides this run was started with that a single run takes too (a
    pinned ``hydra.run.dir``, so a resume writes into the same folder), without a sweep's."""
    if not HydraConfig.initialized():
        return []
    return [
        o for o in HydraConfig.get().overrides.hydra if not o.lstrip("+~").startswith(_SWEEP_ONLY)
    ]


def run_reporting_stops(cfg: DictConfig, work: Callable[[DictConfig], T]) -> T:
    """``work(cfg)``, each way it stops turned into one line and its exit code (see the
    module's docstring). ``HYDRA_FULL_ERROR=1`` shows the traceback of a mistake or a failure
    instead."""
    existed = existing_entries(output_dir(cfg))  # what a refused run must leave in place
    full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"
    # From here a Ctrl-C is a KeyboardInterrupt, which Lightning's loops and the handler
    # below turn into the resume line; while Hydra composed the config it ended the process.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    SigtermWatch.install()
    try:
        return work(cfg)
    # SystemExit: how Lightning ends a run stopped by Ctrl-C or SIGTERM; KeyboardInterrupt:
    # Ctrl-C outside Lightning's loops (building the model, exporting)
    except (SystemExit, KeyboardInterrupt, StoppedWhile) as stop:
        # the run is stopping: a Ctrl-C pressed again must not cut its line or its exit code
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        line = interruption(cfg, stop)
        if not _caused_by(stop, BrokenPipeError):  # no table into a closed output
            _summarize_sweep(INTERRUPTED)
        stop_and_say(*line)
    except (ZooError, InterpolationResolutionError) as error:
        discard_if_unused(output_dir(cfg), existed)
        if full_error:
            raise
        _summarize_sweep(FAILED, unless_first=True)
        stop_and_say(one_line(error), 2)
    except Exception as error:
        # a file that could not be written (a full disk): one line, what is kept, the resume
        failed = write_failure(cfg, error)
        if failed is not None and not full_error:
            _summarize_sweep(FAILED)
            stop_and_say(*failed)
        # under DDP, a process whose peer stopped on the SIGTERM first fails inside a
        # collective operation (gloo's "Connection closed by peer"): the SIGTERM is the news
        if not SigtermWatch.received or full_error:
            raise
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        line = interruption(cfg, SIGTERMException(143))
        _summarize_sweep(INTERRUPTED)
        stop_and_say(*line)
    raise AssertionError("unreachable")  # stop_and_say exits


def _summarize_sweep(status: str, *, unless_first: bool = False) -> None:
    """In a sweep's job that stops it: the sweep's summary (the reporting process only)."""
    if is_rank_zero():
        summarize_stopped_sweep(status, unless_first=unless_first)


def stop_and_say(message: str, code: int) -> None:
    """Exit with ``code``, saying ``message`` in the reporting process only (under DDP every
    process stops, and rank 0 speaks for the run)."""
    if is_rank_zero():
        print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def exit_before_training(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM while train.py imports torch and Lightning and Hydra composes the
    config: nothing is trained yet, so exit at once (a KeyboardInterrupt in the middle of an
    import can leave numpy half-imported and end in an unrelated traceback; the system's
    SIGTERM ended the process without a word). Under DDP the first process speaks for all."""
    if os.environ.get("LOCAL_RANK", "0") == "0":
        how = "interrupted (Ctrl-C)" if signum == signal.SIGINT else "stopped (SIGTERM)"
        print(f"error: {how} before training started.", file=sys.stderr, flush=True)
    os._exit(128 + signum)
