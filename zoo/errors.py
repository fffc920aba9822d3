"""The one exception type zoo raises for user mistakes."""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable


class ZooError(ValueError):
    """A user mistake: an unknown name, a bad value, or an incompatible combination.

    The message names the bad value and what is allowed. ``train.py`` prints it as a
    single line and exits non-zero. Control characters in the message (a terminal escape or
    a newline in a folder name or an override value) are shown escaped (:func:`printable`).
    """

    def __str__(self) -> str:
        return printable(super().__str__())


#: the exit code of a command that could not write a file or its output (a full disk):
#: sysexits' EX_IOERR
WRITE_FAILED_EXIT = 74


def os_error_reason(error: OSError) -> str:
    """What the system said of a failed file operation, with its errno name: "No space left
    on device, ENOSPC"."""
    reason = error.strerror or str(error) or type(error).__name__
    return f"{reason}, {errno.errorcode[error.errno]}" if error.errno in errno.errorcode else reason


def printable(text: str) -> str:
    r"""``text`` with every character that is not printable (control characters, terminal
    escapes, line and paragraph separators) written as its Python escape, as ``repr`` writes
    it (the escape character as ``\x1b``, a newline as ``\n``); printable text is unchanged."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The up-to-``n`` entries of ``choices`` that look most like ``name``."""
    return difflib.get_close_matches(name, list(choices), n=n, cutoff=0.6)


def unknown_name_error(kind: str, name: str, choices: Iterable[str]) -> ZooError:
    """A ``ZooError`` for an unknown ``name`` of some ``kind``, suggesting close matches."""
    choices = sorted(choices)
    suggestions = closest(name, choices)
    hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    return ZooError(f"unknown {kind} {name!r}.{hint} Available: {', '.join(choices)}.")


def one_line(error: Exception) -> str:
    """A ``ZooError``'s message; for an interpolation OmegaConf cannot resolve
    (``optimizer.lr='${foo}'``), the first line of its message and the key it belongs to."""
    if isinstance(error, ZooError):
        return str(error)
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    full_key = getattr(error, "full_key", None)
    if not full_key:
        return printable(first_line)
    allowed = "a value, or an interpolation of a key the config has"
    return printable(f"{full_key}: {first_line}; allowed: {allowed}.")
