"""The model summary at the start of training, whole when the output is not a terminal.

Lightning's ``RichModelSummary`` prints its table on rich's console, which is 80 columns
wide when the output is redirected (``python train.py > run.log``, CI logs, a notebook's
subprocess): the names and types were cut (``LeNe…``) and the numbers wrapped over lines.
Printed into a file or a pipe, this one widens the console to the table's own width, so
every name and number is whole and on its row. On a terminal it is Lightning's, fitted to the
window (``COLUMNS`` sets a width too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from lightning.pytorch.callbacks import RichModelSummary
from rich.cells import cell_len


def table_width(summary_data: list[tuple[str, list[str]]]) -> int:
    """The width of rich's table of ``summary_data`` (``(column, cells)`` pairs) with no
    cell cut: each column's widest cell or header, one space of padding either side, and a
    border between and around the columns."""
    widths = [max(map(cell_len, [name, *cells])) for name, cells in summary_data]
    return sum(widths) + 3 * len(widths) + 1


@contextlib.contextmanager
def console_width_at_least(width: int) -> Iterator[None]:
    """Rich's global console at least ``width`` columns wide while it prints into a file or a
    pipe (a terminal keeps its own width); as it was afterwards."""
    from rich import get_console

    console = get_console()
    if console.is_terminal or console.width >= width:
        yield
        return
    previous = console.width
    console.width = width
    try:
        yield
    finally:
        console.width = previous


class WideRichModelSummary(RichModelSummary):
    """Lightning's ``RichModelSummary``, whole (not cut at 80 columns) when redirected."""

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        with console_width_at_least(table_width(summary_data)):
            RichModelSummary.summarize(
                summary_data,
                total_parameters,
                trainable_parameters,
                model_size,
                total_training_modes,
                total_flops,
                **summarize_kwargs,
            )
