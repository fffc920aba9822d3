"""Train a zoo model: ``python train.py model=resnet18 data=cifar10 optimizer=sgd``.

A thin Hydra entry point; the work happens in :func:`zoo.training.run.train`. A mistake in the
config is reported in one line, with a non-zero exit and no traceback (set
``HYDRA_FULL_ERROR=1`` for one).
"""

from __future__ import annotations

import os
import signal
import sys

from zoo.resources import choose_cpu_settings, exit_without_teardown

# Before torch is imported: OpenMP's idle threads spin (its default) on a quiet machine and
# sleep (PASSIVE) on a busy one, where spinning threads make each small parallel operation
# wait for a core (zoo.resources.choose_cpu_settings; a value set in the environment is kept).
choose_cpu_settings()

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from zoo.errors import ZooError  # noqa: E402


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from zoo.training.run import train
    from zoo.training.stopping import run_reporting_stops

    metrics = run_reporting_stops(cfg, train)  # each way a run stops: one line, its exit code
    return metrics.get(cfg.get("optimized_metric"))


def run_command_line() -> None:
    """Check the command line, then run it through Hydra."""
    from pathlib import Path

    from zoo.config.command_line import start_command_line_check
    from zoo.training.stopping import exit_before_training

    signal.signal(signal.SIGINT, exit_before_training)
    signal.signal(signal.SIGTERM, exit_before_training)
    try:  # before Hydra, whose errors for a misspelled option or key run to 6-55 lines
        checked = start_command_line_check(
            sys.argv[1:], Path(__file__).resolve().parent / "configs", report_refusal
        )
        if not {"--help", "-h", "--hydra-help"} & set(sys.argv[1:]):  # help resolves nothing
            from zoo.config.checks import register_resolvers  # imports torch and Lightning

            register_resolvers()
        checked()  # the check ran beside the imports (a refusal ends this process sooner)
    except ZooError as error:
        report_refusal(error)
        sys.exit(2)
    try:
        main()
    except BrokenPipeError:  # the help printed into `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)


def report_refusal(error: ZooError) -> None:
    """A refused command line: one line on stderr."""
    print(f"error: {error}", file=sys.stderr)


def started_as_this_script() -> bool:
    """Whether the interpreter was started as ``python train.py ...`` (not train.py run by
    other code, as the tests do, which goes on after it)."""
    scripts = [arg for arg in getattr(sys, "orig_argv", [])[1:] if arg.endswith(".py")]
    return bool(scripts) and os.path.realpath(scripts[0]) == os.path.realpath(__file__)


if __name__ == "__main__":
    if not started_as_this_script():
        run_command_line()
    else:
        try:
            run_command_line()
        except SystemExit as stop:  # every stop train.py reports: its message and status
            exit_without_teardown(stop.code)
        exit_without_teardown(0)
