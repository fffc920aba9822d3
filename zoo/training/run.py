"""The orchestration behind ``train.py``: check, build, fit, test, export.

``train(cfg)`` checks the config (clear errors before any work), seeds everything, builds the
datamodule, model, task, callbacks, loggers and trainer from the config, fits, tests the best
checkpoint, and writes into the run folder ``results.json`` and the best model as
``model/config.json`` + ``model/model.safetensors``. It returns the run's metrics; the value
of ``cfg.optimized_metric`` among them is what sweeps optimize.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
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
from zoo.resources import cpu_settings
from zoo.tasks import ZooTask
from zoo.training.attention_logging import AttentionMapLogger
from zoo.training.checkpointing import (
    AtomicCheckpointIO,
)
from zoo.training.curves import write_curves
from zoo.training.loggers import check_logger_packages
from zoo.training.resume import resume_epochs_whole
from zoo.training.run_clock import RunClock
from zoo.training.run_folder import hold_run_folder, write_hydra_record
from zoo.training.stopping import StoppedWhile, interruptible_again, output_dir, task_overrides
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


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 2)


def _in_run(path: str | Path | None, run_dir: Path) -> str | None:
    """``path`` as results.json records it: relative to the run folder when inside it (a run
    folder moved or shared keeps true paths; the machine's own paths stay out of the file),
    else as given."""
    if not path:
        return None
    try:
        return Path(path).resolve().relative_to(run_dir.resolve()).as_posix()
    except ValueError:  # outside the run folder (a checkpoint resumed from another run)
        return str(path)


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
    check_logger_packages(cfg.get("logger"))  # logger=mlflow without mlflow: its extra
    write_hydra_record(output_dir(cfg), cfg)
    # before seeding (which prints a line): a bad callback or data argument is refused in
    # one line (data modules draw with generators of their own, never the global one)
    callbacks = _instantiate_all(cfg.get("callbacks"), "callbacks")
    datamodule = instantiate_config(cfg.data)
    # quietly: the model's arguments are checked as it is built, and a refusal is one line
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    if cfg.get("threads"):
        torch.set_num_threads(cfg.threads)
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
    clock = RunClock()
    outside = _folders_outside(run_dir, callbacks, loggers)
    if outside:  # two runs writing one checkpoint or log folder would overwrite each other
        held.enter_context(hold_run_folder(*outside, main=False))
    load_data_before_trainer(cfg, datamodule)
    trainer: L.Trainer = instantiate_config(
        cfg.trainer,
        label="trainer",
        callbacks=[*callbacks, clock],
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
            cfg, trainer, task, model, datamodule, run_dir, resolved_config, started, clock
        )
    except (SystemExit, KeyboardInterrupt) as stop:
        raise StoppedWhile("testing and exporting", stop) from stop


def _test_and_export(
    cfg: DictConfig,
    trainer: L.Trainer,
    task: ZooTask,
    model: nn.Module,
    datamodule: Any,
    run_dir: Path,
    resolved_config: dict[str, Any],
    started: float,
    clock: RunClock,
) -> dict[str, float]:
    """After training: test the best weights, export them and write results.json."""
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
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
    for result in test_results:
        metrics.update({k: float(v) for k, v in result.items()})
    metrics = dict(sorted(metrics.items()))

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
                "best_checkpoint": _in_run(evaluated, run_dir),
                "resumed_from": _in_run(cfg.get("ckpt_path"), run_dir)
                if cfg.get("train", True)
                else None,
                "model_dir": _in_run(model_dir, run_dir),
                "model": model_spec(model),
                "data": data_description,
                "command": command,
                "config": resolved_config,
                "versions": versions(),
                "cpu": {**cpu_settings(), "threads": torch.get_num_threads()},
                "wall_time_s": round(time.perf_counter() - started, 2),
                # from the process's start to its first training step, and from there to
                # the end of training (None: not trained)
                "startup_s": _rounded(clock.startup_seconds),
                "training_s": _rounded(clock.training_seconds),
            },
        )
        if cfg.get("curves", True):
            monitor = cfg.get("monitor") or {}
            write_curves(
                run_dir,
                trainer.loggers,
                monitor=monitor.get("metric"),
                mode=monitor.get("mode"),
                optimized=cfg.get("optimized_metric"),
                title=_curves_title(cfg, command),
            )
        _print_summary(metrics, run_dir)
    return metrics


def _curves_title(cfg: DictConfig, command: str) -> str:
    """curves.png's title: the model and the command that trained it (cut to a line)."""
    title = f"{cfg.model.get('name')}: {command}"
    return title if len(title) <= 100 else title[:99] + "…"
