"""The one exception type zoo raises for user mistakes."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZooError(ValueError):
    """A user mistake: an unknown name, a bad value, or an incompatible combination.

    The message names the bad value and what is allowed. ``train.py`` prints it as a
    single line and exits non-zero.
    """


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The up-to-``n`` entries of ``choices`` that look most like ``name``."""
    return difflib.get_close_matches(name, list(choices), n=n, cutoff=0.6)


def unknown_name_error(kind: str, name: str, choices: Iterable[str]) -> ZooError:
    """A ``ZooError`` for an unknown ``name`` of some ``kind``, suggesting close matches."""
    choices = sorted(choices)
    suggestions = closest(name, choices)
    hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    return ZooError(f"unknown {kind} {name!r}.{hint} Available: {', '.join(choices)}.")
