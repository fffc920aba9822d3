"""``curves.png``: a finished run's learning curves, drawn from its CSV logger's metrics.csv.

Two panels over epochs: the training and validation losses, and the metric the run is judged
by (the task's ``optimized_metric`` without its ``_best`` suffix, ``val/acc`` for
classification, beside its training counterpart when logged, and the monitored metric when it
is not a loss), with a dashed line at the epoch whose monitored value was best (the checkpoint
the run tested and exported). A loss that falls while the validation loss rises is the
overfitting of the primer's regularization chapter; the gap between the curves is what
regularization narrows.

matplotlib is imported only here, when a run ends (a second of start-up otherwise), and drawn
on its Agg canvas without pyplot (no display, no global figure state). The PNG is written
atomically, like every file of a run folder.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_info

from zoo.weights import atomic_write_bytes

CURVES_NAME = "curves.png"

# One curve: x (epochs, fractional for validations inside an epoch) and y.
Curve = tuple[list[float], list[float]]


def read_curves(metrics_csv: Path) -> dict[str, Curve]:
    """Every per-epoch series of a Lightning metrics.csv (``train/loss``, ``val/acc``, ...):
    the columns logged at validations and epoch ends, not the per-step ones (``*_step``), the
    learning rates or the test metrics. x is in epochs: the number of training steps done at
    the row over the steps of one epoch, so an epoch-end value sits at its epoch's number (1,
    2, ...) and a validation inside an epoch (``trainer.val_check_interval`` < 1) between."""
    with open(metrics_csv, newline="") as file:
        rows = [row for row in csv.DictReader(file) if row.get("epoch") and row.get("step")]
    if not rows:
        return {}
    first_epoch = min(int(row["epoch"]) for row in rows)
    last_step = max(int(row["step"]) for row in rows if int(row["epoch"]) == first_epoch)
    steps_per_epoch = (last_step + 1) / (first_epoch + 1)

    def x_of(row: dict[str, str]) -> float:
        if steps_per_epoch <= 0:  # a run that never stepped (fast_dev_run's checks)
            return float(row["epoch"]) + 1
        return (int(row["step"]) + 1) / steps_per_epoch

    curves: dict[str, Curve] = {}
    for row in rows:
        for key, value in row.items():
            if not value or not key.startswith(("train/", "val/")) or key.endswith("_step"):
                continue
            number = float(value)
            if math.isfinite(number):
                xs, ys = curves.setdefault(key, ([], []))
                xs.append(x_of(row))
                ys.append(number)
    return curves


def _judged_metrics(monitor: str | None, optimized: str | None) -> list[str]:
    """The validation metrics of the second panel: the optimized one without ``_best`` and
    the monitored one unless it is a loss (the first panel has the losses)."""
    names = []
    for name in (optimized, monitor):
        if not name:
            continue
        name = name.removesuffix("_best")
        if "loss" not in name and name not in names:
            names.append(name)
    return names


def _best_x(curves: dict[str, Curve], monitor: str | None, mode: str | None) -> float | None:
    """The epoch at which the monitored metric was best (min or max by ``mode``)."""
    if not monitor or monitor not in curves or mode not in ("min", "max"):
        return None
    xs, ys = curves[monitor]
    pick = min if mode == "min" else max
    return xs[ys.index(pick(ys))]


def draw_curves(
    curves: dict[str, Curve],
    *,
    monitor: str | None = None,
    mode: str | None = None,
    optimized: str | None = None,
    title: str | None = None,
) -> bytes | None:
    """The PNG of ``curves`` (:func:`read_curves`): losses left, the judged metric right;
    None when there is nothing to draw (no epoch ended). Needs matplotlib."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    losses = sorted(k for k in curves if "loss" in k)
    metrics = [
        key
        for name in _judged_metrics(monitor, optimized)
        for key in (name.replace("val/", "train/", 1), name)
        if key in curves
    ]
    panels = [keys for keys in (losses, metrics) if keys]
    if not panels:
        return None
    best = _best_x(curves, monitor, mode)
    figure = Figure(figsize=(4.2 * len(panels), 3.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    for index, keys in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        quantities = list(dict.fromkeys(key.split("/", 1)[1] for key in keys))
        for key in keys:
            xs, ys = curves[key]
            split, quantity = key.split("/", 1)
            axes.plot(
                xs,
                ys,
                "--" if split == "train" else "-",
                color=f"C{quantities.index(quantity)}",  # a quantity's train and val alike
                marker="o" if len(xs) < 30 else None,
                ms=3,
                label=key,
            )
        if best is not None:
            axes.axvline(best, color="gray", ls=":", lw=1, label=f"best {monitor}")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_xlabel("epoch")
        axes.set_ylabel(", ".join(quantities))
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    if title:
        figure.suptitle(title, fontsize="medium")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def csv_metrics_file(loggers: Iterable[object]) -> Path | None:
    """The metrics.csv of the run's CSV logger (``logger=csv``, the default), if it has one."""
    for logger in loggers:
        if isinstance(logger, CSVLogger):
            path = Path(logger.log_dir) / "metrics.csv"
            return path if path.is_file() else None
    return None


def write_curves(
    run_dir: Path,
    loggers: Iterable[object],
    *,
    monitor: str | None,
    mode: str | None,
    optimized: str | None,
    title: str | None = None,
) -> Path | None:
    """Draw ``run_dir/curves.png`` from the run's metrics.csv; the path, or None when the
    run logged no CSV, ended no epoch, or matplotlib is not installed (said in one line)."""
    metrics_csv = csv_metrics_file(loggers)
    if metrics_csv is None:
        return None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        rank_zero_info(f"no {CURVES_NAME}: matplotlib is not installed (pip install matplotlib)")
        return None
    png = draw_curves(
        read_curves(metrics_csv), monitor=monitor, mode=mode, optimized=optimized, title=title
    )
    if png is None:
        return None
    path = run_dir / CURVES_NAME
    atomic_write_bytes(path, png)
    return path
