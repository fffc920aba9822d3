"""What every ``python -m zoo.<command>`` entry point shares."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from zoo.errors import ZooError


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


#: the seeds a ``torch.Generator`` takes
MAX_SEED = 2**64 - 1


def check_seed(seed: Any, flag: str = "--seed") -> None:
    """Refuse a seed a ``torch.Generator`` does not take (a negative one, or past 2**64 - 1),
    naming the flag: the one check of every tool's seed."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ZooError(f"{flag} must be an integer from 0 to {MAX_SEED}, got {seed!r}.")


def check_writable_output(path: str | os.PathLike, flag: str = "--out") -> None:
    """Refuse an output file whose folder cannot be written, before any work."""
    from zoo.resources import check_writable_folder

    check_writable_folder(Path(path).absolute().parent, f"{flag}'s folder")
