"""Predicates of plain values, the one set every check shares: a config's values, a model
builder's arguments, a recorded file's entries, a tool's flags.

A bool is never a number here (``True`` is an ``int`` to Python, but ``num_classes=true`` is a
mistake). Nothing of zoo, torch or omegaconf is imported, so that any module may use them:
a model file, the registry, the command-line check that runs before Hydra.
"""

from __future__ import annotations

import math
from typing import Any


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (a bool is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_positive_int(value: Any) -> bool:
    """Whether ``value`` is an integer >= 1 (a bool is not)."""
    return is_int(value) and value >= 1


def is_int_or_float(value: Any) -> bool:
    """Whether ``value`` is an int or a float, infinite and NaN included (a bool is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (a bool is not)."""
    return is_int_or_float(value) and math.isfinite(value)
