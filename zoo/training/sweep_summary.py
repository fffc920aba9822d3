"""A sweep's summary: one row per job (its number, overrides, status, the metric the sweep
optimizes, the monitored one and the test metrics), printed as a table when the sweep ends and
written as ``summary.csv`` in the sweep folder (``hydra.sweep.dir``).

:class:`SweepSummary` is a Hydra callback (``hydra.callbacks`` in configs/hydra/default.yaml):
Hydra calls it when a ``-m`` sweep ends. A job that stops the sweep (Ctrl-C, SIGTERM, a
mistake, a failed write) ends the process before Hydra would: :func:`zoo.training.stopping`
writes the summary then, with that job's status and, for Hydra's basic sweeper, the jobs that
did not run. The rows are read from the job folders (each job's ``.hydra/`` record and
``results.json``), so a summary is whole whichever process writes it.

This module is imported when Hydra starts (the callback), so it imports neither torch nor
Lightning.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

SUMMARY_NAME = "summary.csv"
DONE, FAILED, INTERRUPTED, NOT_RUN = "done", "failed", "interrupted", "not run"


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None


def _read_results(path: Path) -> dict[str, Any] | None:
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return results if isinstance(results, dict) else None


def job_rows(sweep_dir: Path) -> dict[int, dict[str, Any]]:
    """The jobs that ran in ``sweep_dir`` by number: the folders below it holding a job's
    ``.hydra`` record; ``done`` with its results when it holds ``results.json``, else
    ``failed`` (a job that stopped without results)."""
    rows: dict[int, dict[str, Any]] = {}
    for record in sorted(sweep_dir.glob("*/.hydra/hydra.yaml")):
        folder = record.parent.parent
        # the folder's name is the job's number (hydra.sweep.subdir); a job resumed in its
        # folder as a single run rewrote hydra.yaml without it
        num = int(folder.name) if folder.name.isdigit() else None
        if num is None:
            hydra = (_read_yaml(record) or {}).get("hydra") or {}
            num = (hydra.get("job") or {}).get("num")
        overrides = _read_yaml(record.parent / "overrides.yaml")
        if not isinstance(num, int) or not isinstance(overrides, list):
            continue
        results = _read_results(folder / "results.json")
        rows[num] = {
            "job": num,
            "overrides": [str(o) for o in overrides],
            "status": DONE if results is not None else FAILED,
            "results": results or {},
            "folder": folder.name,
        }
    return rows


def _metric_names(rows: list[dict[str, Any]]) -> list[str]:
    """The columns of metrics: the optimized metric, the monitored one, then the tests'."""
    names: list[str] = []
    for row in rows:
        results = row["results"]
        monitor = ((results.get("config") or {}).get("monitor") or {}).get("metric")
        for name in (results.get("optimized_metric"), monitor):
            if name and name not in names:
                names.append(name)
    tests = {
        k for row in rows for k in (row["results"].get("metrics") or {}) if k.startswith("test/")
    }
    return names + sorted(tests - set(names))


def _varying(rows: list[dict[str, Any]]) -> set[str]:
    """The overrides not common to every job: what tells the jobs apart."""
    if len(rows) < 2:
        return set().union(*(set(r["overrides"]) for r in rows)) if rows else set()
    common = set.intersection(*(set(row["overrides"]) for row in rows))
    return {o for row in rows for o in row["overrides"]} - common


def summarize_sweep(
    sweep_dir: Path,
    *,
    stopped: tuple[int, list[str], str] | None = None,
    not_run: list[list[str]] | None = None,
    console: Any = None,
) -> Path:
    """Print the table of the sweep in ``sweep_dir`` and write its ``summary.csv``; the
    path. ``stopped``: the job (number, overrides, status) that is stopping the sweep;
    ``not_run``: the overrides of the jobs after it, which will not run."""
    rows = job_rows(sweep_dir)
    if stopped is not None:
        num, overrides, status = stopped
        row = rows.get(num) or {"job": num, "overrides": overrides, "results": {}, "folder": ""}
        rows[num] = {**row, "status": status}
    ordered = [rows[num] for num in sorted(rows)]
    first_not_run = max(rows, default=-1) + 1
    for offset, overrides in enumerate(not_run or []):
        ordered.append(
            {
                "job": first_not_run + offset,
                "overrides": overrides,
                "status": NOT_RUN,
                "results": {},
                "folder": "",
            }
        )
    metrics = _metric_names(ordered)
    header = ["job", "overrides", "status", *metrics, "folder"]
    table = [
        [
            str(row["job"]),
            " ".join(row["overrides"]),
            row["status"],
            *[_value(row, name) for name in metrics],
            row["folder"],
        ]
        for row in ordered
    ]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(table)
    path = sweep_dir / SUMMARY_NAME
    from zoo.weights import atomic_write_bytes  # torch: only once a sweep ends

    atomic_write_bytes(path, text.getvalue().encode())
    varying = _varying(ordered)
    shown = [
        [cells[0], " ".join(o for o in row["overrides"] if o in varying) or cells[1], *cells[2:]]
        for cells, row in zip(table, ordered)
    ]
    _print_table(header, shown, path, console)
    return path


def _value(row: dict[str, Any], name: str) -> str:
    value = (row["results"].get("metrics") or {}).get(name)
    return "" if value is None else f"{value:.6g}"


def _print_table(header: list[str], table: list[list[str]], path: Path, console: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.measure import Measurement
    from rich.table import Table

    shown = Table(title="Sweep")
    for name in header[:-1]:  # the folder is the job's number (summary.csv has it)
        shown.add_column(name, justify="right" if "/" in name or name == "job" else "left")
    for cells in table:
        shown.add_row(*map(escape, cells[:-1]))  # augmentation=[none] is not rich's markup
    if console is None:
        console = Console()
        if not console.is_terminal:  # into a file or pipe: whole, not cut at 80 columns
            unbounded = console.options.update_width(10**6)
            console.width = max(console.width, Measurement.get(console, unbounded, shown).maximum)
    console.print(shown)
    console.print(f"Sweep summary: {path}", soft_wrap=True, highlight=False)


def summarize_stopped_sweep(status: str, *, unless_first: bool = False) -> Path | None:
    """In a job that stops its sweep (``status``: interrupted or failed): the summary, with
    this job's status and, for the basic sweeper, the jobs after it as not run; the path, or
    None outside a sweep. ``unless_first``: none when no other job has run (a mistake refused
    before the sweep's first job trained is its own one line). A summary that cannot be
    written or printed (a full disk, a closed output) is left out: the stop's line matters."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from zoo.config.sweep import basic_sweep_jobs

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    hydra = HydraConfig.get()
    sweep_dir, num = Path(str(hydra.sweep.dir)), hydra.job.num
    try:
        if unless_first and not set(job_rows(sweep_dir)) - {num}:
            return None
        jobs = basic_sweep_jobs()
        return summarize_sweep(
            sweep_dir,
            stopped=(num, list(hydra.overrides.task), status),
            not_run=jobs[num + 1 :] if jobs else None,
        )
    except OSError:
        return None


class SweepSummary(Callback):
    """Hydra's callback that prints and writes the summary when a ``-m`` sweep ends, or when
    a job fails with an exception (the basic sweeper then stops)."""

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        from hydra.core.utils import JobStatus

        if job_return.status == JobStatus.FAILED:
            summarize_stopped_sweep(FAILED)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if sweep_dir.is_dir():
            summarize_sweep(sweep_dir)
