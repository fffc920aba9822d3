"""What every ``python -m zoo.<command>`` entry point shares."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose mistakes (a missing argument, an unknown option, ``--n x``)
    are one line, ``error: <command>: <what>``, and exit code 2, as every other mistake of
    the zoo's commands; argparse printed its usage first. ``--help`` shows the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} ({self.prog} --help lists the options).\n")


def run_command(main: Callable[[], int]) -> NoReturn:
    """Run a command-line entry point and exit with the code it returns. Output piped into a
    reader that stops early (``| head``) ends the command quietly, as Unix tools end, instead
    of with Python's BrokenPipeError traceback (and a second one when stdout is flushed at
    exit)."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the flush at exit then writes nowhere
        code = 1
    sys.exit(code)
