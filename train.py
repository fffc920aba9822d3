"""Train a zoo model: ``python train.py model=resnet18 data=cifar10 optimizer=sgd``.

A thin Hydra entry point; the work happens in :func:`zoo.training.run.train`. A mistake in the
config is reported in one line, with a non-zero exit and no traceback (set
``HYDRA_FULL_ERROR=1`` for one).
"""

from __future__ import annotations

import os
import signal
import sys

# Idle OpenMP threads sleep instead of spinning (unless OMP_WAIT_POLICY is set): on CPUs
# shared with other work, spinning threads make each small parallel op wait for a core;
# measured on 2 virtual cores, the default run takes 17 s instead of 60 s. It must be set
# before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hydra
from omegaconf import DictConfig
from omegaconf.errors import InterpolationResolutionError

from zoo.errors import ZooError, one_line, printable


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from zoo.training.run import (
        SigtermWatch,
        interruption,
        is_rank_zero,
        output_dir,
        train,
        write_failure,
    )
    from zoo.training.run_folder import discard_if_unused, existing_entries

    existed = existing_entries(output_dir(cfg))  # what a refused run must leave in place
    # From here a Ctrl-C is a KeyboardInterrupt, which Lightning's loops and the handler
    # below turn into the resume line; while Hydra composed the config it ended the process.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    SigtermWatch.install()
    try:
        metrics = train(cfg)
    # SystemExit: how Lightning ends a run stopped by Ctrl-C or SIGTERM; KeyboardInterrupt:
    # Ctrl-C outside Lightning's loops (building the model, exporting)
    except (SystemExit, KeyboardInterrupt) as stop:
        # the run is stopping: a Ctrl-C pressed again must not cut its line or its exit code
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_and_say(*interruption(cfg, stop), is_rank_zero())
    except (ZooError, InterpolationResolutionError) as error:
        discard_if_unused(output_dir(cfg), existed)
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {one_line(error)}", file=sys.stderr)
        sys.exit(2)
    except Exception as error:
        # a file that could not be written (a full disk): one line, what is kept, the resume
        failed = write_failure(cfg, error)
        if failed is not None and os.environ.get("HYDRA_FULL_ERROR") != "1":
            stop_and_say(*failed, is_rank_zero())
        # under DDP, a process whose peer stopped on the SIGTERM first fails inside a
        # collective operation (gloo's "Connection closed by peer"): the SIGTERM is the news
        if not SigtermWatch.received or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        stop_and_say(*interruption(cfg, SIGTERMException(143)), is_rank_zero())
    return metrics.get(cfg.get("optimized_metric"))


def stop_and_say(message: str, code: int, reporting: bool) -> None:
    """Exit with ``code``, saying ``message`` in the reporting process only (under DDP every
    process stops, and rank 0 speaks for the run)."""
    if reporting:
        print(f"error: {printable(message)}", file=sys.stderr)
    sys.exit(code)


def _exit_before_training(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM while train.py imports torch and Lightning and Hydra composes the
    config: nothing is trained yet, so exit at once (a KeyboardInterrupt in the middle of an
    import can leave numpy half-imported and end in an unrelated traceback; the system's
    SIGTERM ended the process without a word). Under DDP the first process speaks for all."""
    if os.environ.get("LOCAL_RANK", "0") == "0":
        how = "interrupted (Ctrl-C)" if signum == signal.SIGINT else "stopped (SIGTERM)"
        print(f"error: {how} before training started.", file=sys.stderr, flush=True)
    os._exit(128 + signum)


def run_command_line() -> None:
    """Check the command line, then run it through Hydra."""
    from pathlib import Path

    from zoo.config.command_line import check_command_line

    signal.signal(signal.SIGINT, _exit_before_training)
    signal.signal(signal.SIGTERM, _exit_before_training)
    try:  # before Hydra, whose errors for a misspelled option or key run to 6-55 lines
        check_command_line(sys.argv[1:], Path(__file__).resolve().parent / "configs")
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    if not {"--help", "-h", "--hydra-help"} & set(sys.argv[1:]):  # help resolves nothing
        from zoo.config.checks import register_resolvers  # imports torch and Lightning

        register_resolvers()
    try:
        main()
    except BrokenPipeError:  # the help printed into `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)


if __name__ == "__main__":
    run_command_line()
