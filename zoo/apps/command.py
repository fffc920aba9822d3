"""What every ``python -m zoo.<command>`` entry point shares."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from zoo.config.values import is_int
from zoo.errors import WRITE_FAILED_EXIT, ZooError, os_error_reason, printable


class WriteFailedError(Exception):
    """A file or the standard output that a command could not write (a full disk, a folder
    where the file should be): :func:`run_command` prints it as one line and exits with
    :data:`WRITE_FAILED_EXIT`."""


@contextlib.contextmanager
def writing(path: str | os.PathLike, flag: str = "--out") -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into a :class:`WriteFailedError` that
    names the file."""
    try:
        yield
    except OSError as error:
        if isinstance(error, BrokenPipeError):
            raise
        message = f"writing {flag} {str(path)!r} failed ({os_error_reason(error)})."
        raise WriteFailedError(message) from error


def say(text: str, *, raw: bool = False) -> None:
    """Print ``text`` on the standard output, its lines' control characters escaped unless
    ``raw`` (text a model generated is the output itself); a standard output that cannot be
    written (``> /dev/full``) is a :class:`WriteFailedError` that says so."""
    shown = text if raw else "\n".join(printable(line) for line in text.split("\n"))
    try:
        print(shown, flush=True)
    except BrokenPipeError:
        raise
    except OSError as error:
        raise _stdout_failed(error) from error


def _stdout_failed(error: OSError) -> WriteFailedError:
    return WriteFailedError(
        f"the standard output could not be written ({os_error_reason(error)}); the results "
        "were not shown."
    )


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
    exit). A file or the standard output that cannot be written (:class:`WriteFailedError`) is one
    line and exit code 74."""
    try:
        try:
            code = main()
        finally:
            _flush_stdout()
    except BrokenPipeError:
        _stdout_to_devnull()
        code = 1
    except WriteFailedError as error:
        print(f"error: {printable(str(error))}", file=sys.stderr)
        code = WRITE_FAILED_EXIT
    sys.exit(code)


def _flush_stdout() -> None:
    """Flush the standard output; one that cannot be written is a :class:`WriteFailedError`."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        _stdout_to_devnull()
        raise _stdout_failed(error) from error


def _stdout_to_devnull() -> None:
    """Point the standard output at the null device: the flush at exit then writes nowhere
    (instead of failing again with a second traceback)."""
    with contextlib.suppress(OSError, ValueError):  # no file behind it (a test's capture)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


#: the seeds a ``torch.Generator`` takes
MAX_SEED = 2**64 - 1


def check_seed(seed: Any, flag: str = "--seed") -> None:
    """Refuse a seed a ``torch.Generator`` does not take (a negative one, or past 2**64 - 1),
    naming the flag: the one check of every tool's seed."""
    if not (is_int(seed) and 0 <= seed <= MAX_SEED):
        raise ZooError(f"{flag} must be an integer from 0 to {MAX_SEED}, got {seed!r}.")


def check_writable_output(
    path: str | os.PathLike,
    flag: str = "--out",
    *,
    example: str = "",
    check_name: Callable[[Path], object] | None = None,
) -> None:
    """Refuse an output file before any work: a folder, a path under a file, a name
    ``check_name`` refuses (an image file's suffix), a folder that cannot be written. The one
    place that decides whether a tool may write an output file (``example``: a file name the
    folder message suggests)."""
    from zoo.resources import check_writable_folder

    path = Path(path)
    if path.is_dir():
        hint = f", e.g. {example}" if example else ""
        raise ZooError(f"{flag} {str(path)!r} is a folder; give a file name{hint}.")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ZooError(f"{flag} {str(path)!r} is under {str(parent)!r}, which is a file.")
    if check_name is not None:
        check_name(path)
    check_writable_folder(path.absolute().parent, f"{flag}'s folder")
