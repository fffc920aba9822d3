"""The orchestration behind ``train.py``: check, build, fit, test, export.

``train(cfg)`` checks the config (clear errors before any work), seeds everything, builds the
datamodule, model, task, callbacks, loggers and trainer from the config, fits, tests the best
checkpoint, and writes into the run folder ``results.json`` and the best model as
``model/config.json`` + ``model/model.safetensors``. It returns the run's metrics; the value
of ``cfg.optimized_metric`` among them is what sweeps optimize.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import platform
import signal
import sys
import threading
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, ModelSummary
from lightning.pytorch.callbacks import ProgressBar as ProgressBarCallback
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig
from torch import nn

from zoo.augment import build_augmentation
from zoo.config.checks import (
    check_config,
    check_monitored_metrics,
    check_trainer_fits_data,
    regularization_model_kwargs,
    to_container,
)
from zoo.config.sweep import check_sweep_jobs
from zoo.errors import ZooError
from zoo.tasks import ZooTask
from zoo.training.attention_logging import AttentionMapLogger
from zoo.training.checkpointing import (
    AtomicCheckpointIO,
    checkpoint_folder,
    ckpt_path_override,
    latest_checkpoint,
    train_command,
)
from zoo.training.resume import resume_epochs_whole
from zoo.training.run_folder import hold_run_folder, write_hydra_record
from zoo.weights import load_checkpoint_weights, model_spec, save_pretrained, write_json

log = logging.getLogger(__name__)


def instantiate_config(node: Any, *, label: str | None = None, **kwargs: Any) -> Any:
    """Hydra's instantiate, with our own errors unwrapped from Hydra's.

    With ``label`` (the section: ``trainer``, ``callbacks.model_checkpoint``), a value the
    Lightning class refuses as it is built (``save_top_k=-5``, an unknown strategy) is one line
    naming the section instead of Hydra's block of the call and the exception."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        cause = error.__cause__
        while cause is not None and not isinstance(cause, ZooError):
            cause = cause.__cause__
        if cause is not None:
            raise cause from None
        if label is None:
            raise
        from lightning.fabric.utilities.exceptions import MisconfigurationException

        cause = error.__cause__
        if not isinstance(cause, MisconfigurationException | ValueError | TypeError):
            raise
        message = " ".join(str(cause).split()).rstrip(".") or type(cause).__name__
        raise ZooError(f"{label}: {message}.") from None


def _instantiate_all(group: DictConfig | None, section: str) -> list[Any]:
    """Instantiate every entry of a ``{name: {_target_: ...}}`` group (callbacks, loggers)."""
    if not group:
        return []
    return [
        instantiate_config(spec, label=f"{section}.{name}")
        for name, spec in group.items()
        if spec is not None and "_target_" in spec
    ]


def output_dir(cfg: DictConfig) -> Path:
    """The run folder (``paths.output_dir``: Hydra's run folder unless overridden)."""
    return Path(cfg.paths.output_dir)


def last_checkpoint_of(cfg: DictConfig) -> Path | None:
    """The checkpoint to resume the run ``cfg`` from, None if it wrote none."""
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
    stage = getattr(stop, "zoo_stage", "training")
    last = last_checkpoint_of(cfg)
    if last is None:
        resume = "no epoch had ended, so there is no checkpoint to resume from."
    else:
        resume = _how_to_resume(last)
    return f"{stage} was interrupted ({signal_name}){_sweep_note()}; {resume}", code


def _how_to_resume(last: Path) -> str:
    """The command that resumes this run from its checkpoint ``last``."""
    overrides = task_overrides()
    if overrides is None:
        return f"resume with the same overrides and {ckpt_path_override(last)}."
    # the run's own overrides, quoted for the shell, with ckpt_path set
    command = train_command([*overrides, *hydra_run_overrides()], ckpt_path_override(last))
    return f"to resume: {command}"


# The exit code of a run stopped by a file it could not write: sysexits' EX_IOERR.
WRITE_FAILED_EXIT = 74
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
    reason = failed.strerror or str(failed) or type(failed).__name__
    if failed.errno in errno.errorcode:
        reason += f", {errno.errorcode[failed.errno]}"
    last = last_checkpoint_of(cfg)
    if last is None:
        kept = "no checkpoint had been written, so there is nothing to resume from"
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
    """For a job of a sweep (``-m``): which one, and that the jobs after it did not run (the
    resume command resumes this job alone)."""
    if not HydraConfig.initialized():
        return ""
    from hydra.types import RunMode

    hydra = HydraConfig.get()
    if hydra.mode != RunMode.MULTIRUN:
        return ""
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


def hydra_run_overrides() -> list[str]:
    """The ``hydra.*`` overrides this run was started with that a single run takes too (a
    pinned ``hydra.run.dir``, so a resume writes into the same folder), without a sweep's."""
    if not HydraConfig.initialized():
        return []
    return [
        o for o in HydraConfig.get().overrides.hydra if not o.lstrip("+~").startswith(_SWEEP_ONLY)
    ]


def command_line() -> str:
    """How this run was started, for results.json and the exported config.json."""
    overrides = task_overrides()
    if overrides is not None:
        return " ".join(["python train.py", *overrides]).strip()
    return " ".join(["python", *sys.argv])


def versions() -> dict[str, str]:
    import lightning
    import torchvision

    from zoo import __version__

    return {
        "zoo": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "lightning": lightning.__version__,
    }


def build_model(cfg: DictConfig) -> torch.nn.Module:
    """The model ``cfg.model`` describes: Hydra calls its ``_target_`` (zoo.create_model)
    with the model name, the builder arguments and the regularization options that live in
    the model (dropout, norm)."""
    return instantiate_config(cfg.model, _convert_="all", **regularization_model_kwargs(cfg))


def build_task(cfg: DictConfig, model: torch.nn.Module) -> ZooTask:
    """The LightningModule ``cfg.task`` names, around ``model``: the task config is a Hydra
    partial holding the task's own options; the model, optimizer, scheduler, weight decay,
    L1 strength and augmentation, which every task takes, are filled in here."""
    regularization = cfg.get("regularization") or {}
    task_factory = instantiate_config(cfg.task)
    return task_factory(
        model=model,
        optimizer=instantiate_config(cfg.optimizer),
        scheduler=instantiate_config(cfg.scheduler) if cfg.get("scheduler") else None,
        weight_decay=float(regularization.get("weight_decay", 0.0)),
        l1=float(regularization.get("l1", 0.0)),
        augmentation=build_augmentation(
            cfg.get("augmentation") or {}, input_kind=cfg.data.input_kind
        ),
        channels_last=bool(cfg.get("channels_last")),
        run_config=to_container(cfg),
    )


def _validate_final_weights(trainer: L.Trainer, task: ZooTask, datamodule: Any) -> None:
    """Validate the weights training ended with. A run resumed from its last checkpoint with
    nothing left to train logged this validation before: its loggers are left out, so its
    metrics.csv does not gain a row for an epoch that never trained. (The step it resumed
    from is the one its checkpoint held when loaded: by now the run may have rewritten it.)"""
    resumed_at_end = task.resumed_step == trainer.global_step
    loggers = trainer.loggers
    if resumed_at_end:
        trainer.loggers = []
    try:
        trainer.validate(task, datamodule=datamodule, verbose=False)
    finally:
        trainer.loggers = loggers


def _scalar_metrics(trainer: L.Trainer) -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}


def _final_metrics(
    fit_metrics: dict[str, float], test_results: list[dict[str, float]]
) -> dict[str, float]:
    metrics = dict(fit_metrics)
    for result in test_results:
        metrics.update({k: float(v) for k, v in result.items()})
    return dict(sorted(metrics.items()))


def _print_summary(metrics: dict[str, float], run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Final metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        if key.startswith(("test/", "val/")):
            table.add_row(key, f"{value:.4f}")
    console = Console()
    console.print(table)
    console.print(f"Outputs: {run_dir}", soft_wrap=True, highlight=False)


class _DropAdvertisement(logging.Filter):
    """Lightning logs tips advertising its cloud products, says that it adds no model summary
    of its own to a trainer that has one, at every run, and that each process received a
    SIGTERM, before the run's own line says so: not ours to show."""

    NOISE = (
        "litlogger",
        "litmodels",
        "Skipping setting a default `ModelSummary`",
        "Received SIGTERM",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self.NOISE)


def quiet_noise() -> None:
    """Hide messages a user can do nothing about: a deprecation inside Lightning, its
    advertisement, its hint to log less often than every batch on small data sets, its
    advice to sync values across processes that torchmetrics has already gathered, its note
    that an epoch without a batch logged no monitored value, and, on a
    machine without a GPU, torch's note that a CUDA toolkit has no runtime."""
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=r"The number of training batches .* logging")
    warnings.filterwarnings("ignore", message=r"Precision .* is not supported by the model summary")
    # under DDP, at every epoch-level self.log: the tasks log torchmetrics values, which
    # compute() has already gathered across processes
    warnings.filterwarnings("ignore", message=r"It is recommended to use `self\.log\(.*sync_dist")
    # when a resumed run first finishes an epoch that `trainer.max_steps` had ended on its
    # last batch: nothing is logged in that empty epoch, the checkpoints of it were written
    warnings.filterwarnings(
        "ignore", message=r".*could not find the monitored key in the returned metrics: \['epoch'"
    )
    for name in (
        "lightning.pytorch.utilities.rank_zero",
        "lightning.fabric.utilities.rank_zero",
        # "[rank: 0] Received SIGTERM: 15" from each process: the run ends with its own line
        "lightning.pytorch.trainer.connectors.signal_connector",
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropAdvertisement) for f in logger.filters):
            logger.addFilter(_DropAdvertisement())
    if not torch.cuda.is_available():
        # compile=true on a machine without a GPU: torch's C++ builder says it found a CUDA
        # toolkit but no CUDA runtime, and compiles for the CPU as asked
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)


def _callbacks_with_work(callbacks: list[Any], model: nn.Module, loggers: list[Any]) -> list[Any]:
    """The configured callbacks less those with nothing to do in this run: Lightning calls
    every hook of every callback at every step (~1 ms per callback per LeNet-5 epoch)."""

    def has_work(callback: Any) -> bool:
        if isinstance(callback, LearningRateMonitor):
            return bool(loggers)  # it writes to loggers, and refuses to run without one
        if isinstance(callback, AttentionMapLogger):
            return AttentionMapLogger.has_work(model)
        return True

    return [callback for callback in callbacks if has_work(callback)]


def _displays_left_out(cfg: DictConfig, callbacks: list[Any]) -> dict[str, bool]:
    """Trainer flags that keep Lightning from adding its own progress bar or model summary
    when the config left the zoo's out (``callbacks.rich_progress_bar=null``,
    ``callbacks=none``), unless the trainer config sets them itself."""
    flags = {}
    for flag, kind in [
        ("enable_progress_bar", ProgressBarCallback),
        ("enable_model_summary", ModelSummary),
    ]:
        if flag not in cfg.trainer and not any(isinstance(c, kind) for c in callbacks):
            flags[flag] = False
    return flags


def _max_time_as_timedelta(cfg: DictConfig) -> dict[str, timedelta]:
    """``trainer.max_time`` given as a mapping (``{minutes: 3}``) as a ``timedelta``: Lightning's
    ``Timer`` reads a plain dict but not the config node Hydra would pass it."""
    max_time = cfg.trainer.get("max_time")
    if isinstance(max_time, DictConfig):
        return {"max_time": timedelta(**to_container(max_time))}
    return {}


def train(cfg: DictConfig) -> dict[str, float]:
    """Train and test as ``cfg`` says; returns the final metrics. The run folder is held
    for the whole run (a second run into it is refused), with the checkpoint and logger
    folders set outside it, and Hydra's record of the config is written into it once the
    config is accepted (:mod:`zoo.training.run_folder`)."""
    with contextlib.ExitStack() as held:
        held.enter_context(hold_run_folder(output_dir(cfg)))
        return _train(cfg, held)


def _folders_outside(run_dir: Path, callbacks: list[Any], loggers: list[Any]) -> list[Path]:
    """The folders the checkpoint callbacks and loggers write that lie outside ``run_dir``."""
    folders = [Path(c.dirpath) for c in callbacks if getattr(c, "dirpath", None)]
    for logger in loggers:
        log_dir = getattr(logger, "log_dir", None)  # not every logger writes a local folder
        if isinstance(log_dir, str) and "://" not in log_dir:
            folders.append(Path(log_dir))
    inside = run_dir.resolve()
    return [f for f in folders if not f.resolve().is_relative_to(inside)]


def load_data_before_trainer(cfg: DictConfig, datamodule: Any) -> None:
    """Download (in the process that starts the run) and load the data before the trainer is
    built: a mistake found in the data (an unreadable image, a folder of one class) is then
    one line before Lightning prints the devices it found, and trainer settings the data
    bounds are checked against it; the trainer's own calls find the data loaded."""
    launched = os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0"
    if not launched:  # under DDP, the processes Lightning starts find the files downloaded
        datamodule.prepare_data()
    datamodule.setup("fit")
    check_trainer_fits_data(cfg, datamodule)


def _train(cfg: DictConfig, held: contextlib.ExitStack) -> dict[str, float]:
    started = time.perf_counter()
    quiet_noise()
    check_config(cfg)
    check_sweep_jobs(check_config)  # job #0 of a sweep: every later job's config too
    write_hydra_record(output_dir(cfg), cfg)
    # before seeding (which prints a line): a bad callback or data argument is refused in
    # one line (data modules draw with generators of their own, never the global one)
    callbacks = _instantiate_all(cfg.get("callbacks"), "callbacks")
    datamodule = instantiate_config(cfg.data)
    # quietly: the model's arguments are checked as it is built, and a refusal is one line
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    run_dir = output_dir(cfg)

    model = build_model(cfg)
    if cfg.get("channels_last"):
        model = model.to(memory_format=torch.channels_last)
    if cfg.get("compile"):
        model.compile()
    task = build_task(cfg, model)
    check_monitored_metrics(cfg, task)  # the metrics this model and these options log
    resolved_config = task.run_config

    loggers = _instantiate_all(cfg.get("logger"), "logger")
    callbacks = _callbacks_with_work(callbacks, model, loggers)
    outside = _folders_outside(run_dir, callbacks, loggers)
    if outside:  # two runs writing one checkpoint or log folder would overwrite each other
        held.enter_context(hold_run_folder(*outside, main=False))
    load_data_before_trainer(cfg, datamodule)
    trainer: L.Trainer = instantiate_config(
        cfg.trainer,
        label="trainer",
        callbacks=callbacks,
        logger=loggers or False,
        plugins=[AtomicCheckpointIO()],
        **_displays_left_out(cfg, callbacks),
        **_max_time_as_timedelta(cfg),
    )
    resume_epochs_whole(trainer)  # with trainer.max_steps too (zoo/training/resume.py)
    rank_zero_info(f"Seed set to {cfg.seed}")

    if cfg.get("train", True):
        with warnings.catch_warnings():
            if cfg.get("ckpt_path"):  # a resumed run's checkpoint folder holds its checkpoints
                warnings.filterwarnings("ignore", message=r"Checkpoint directory .* not empty")
            trainer.fit(
                task, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"), weights_only=True
            )
        interruptible_again()
        if task.validated_step != trainer.global_step:
            # Stopped by max_steps inside an epoch (after its last validation), or resumed
            # from the end of training (a run killed while testing or exporting): validate
            # the final weights, so the results report what the finished run did, and the
            # same whether it was resumed or not (the validations before were of earlier
            # weights, and only an uninterrupted run's process had them to report).
            _validate_final_weights(trainer, task, datamodule)
        # Rank 0 writes the checkpoints in the background and has waited for them when fit
        # returns; the other ranks wait for it before they look for or load the best one.
        trainer.strategy.barrier("zoo: checkpoints written")
    try:
        return _test_and_export(
            cfg, trainer, task, model, datamodule, run_dir, resolved_config, started
        )
    except (SystemExit, KeyboardInterrupt) as stop:
        stop.zoo_stage = "testing and exporting"  # for interruption()'s message
        raise


def _test_and_export(
    cfg: DictConfig,
    trainer: L.Trainer,
    task: ZooTask,
    model: nn.Module,
    datamodule: Any,
    run_dir: Path,
    resolved_config: dict[str, Any],
    started: float,
) -> dict[str, float]:
    """After training: test the best weights, export them and write results.json."""
    fit_metrics = _scalar_metrics(trainer)
    best_path = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best_path and not Path(best_path).is_file():
        raise ZooError(
            f"the best checkpoint {best_path} is gone (deleted after it was written), so the "
            "run cannot test or export it; to test and export the last weights instead: "
            f"python train.py train=false ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}"
        )
    # The weights to test and export: the best checkpoint, else the one given to test alone.
    evaluated = best_path or (cfg.get("ckpt_path") if not cfg.get("train", True) else None)
    test_results: list[dict[str, float]] = []
    if cfg.get("test", True):
        if not evaluated and not trainer.fast_dev_run:  # fast_dev_run saves no checkpoints
            log.warning(
                "no best checkpoint to test (none was saved, or the resumed run's is gone); "
                "testing the current weights"
            )
        test_results = trainer.test(  # not verbose: the final table shows them
            task,
            datamodule=datamodule,
            ckpt_path=evaluated or None,
            weights_only=True,
            verbose=False,
        )
        interruptible_again()
    metrics = _final_metrics(fit_metrics, test_results)

    if trainer.is_global_zero:
        if evaluated and not test_results:  # trainer.test already loaded them otherwise
            load_checkpoint_weights(model, evaluated)
        datamodule.setup("test")
        data_description = datamodule.describe()
        command = command_line()
        model_dir = save_pretrained(
            model,
            run_dir / "model",
            data=data_description,
            metrics={k: v for k, v in metrics.items() if k.startswith(("val/", "test/"))},
            num_params=sum(p.numel() for p in model.parameters()),
            command=command,
        )
        write_json(
            run_dir / "results.json",
            {
                "metrics": metrics,
                "optimized_metric": cfg.get("optimized_metric"),
                "best_checkpoint": evaluated or None,
                "resumed_from": cfg.get("ckpt_path") if cfg.get("train", True) else None,
                "model_dir": str(model_dir),
                "model": model_spec(model),
                "data": data_description,
                "command": command,
                "config": resolved_config,
                "versions": versions(),
                "wall_time_s": round(time.perf_counter() - started, 2),
            },
        )
        _print_summary(metrics, run_dir)
    return metrics
