"""What the primer's claims scripts share (``scripts/claim_*.py``): training as
``python train.py`` trains, reading what a run wrote, keeping a measurement with the versions and
commit it came from, and drawing its figure in one small style.

Each claim script runs real training and writes three things: its numbers to
``results/measurements/<name>.json``, its figure to ``docs/figures/<name>.png`` and its table
into README.md between ``<!-- <name>:start -->`` and ``<!-- <name>:end -->``. ``--quick``
runs a tiny version (a smoke test) that writes its files under ``--out`` (default
``outputs/claims/``) instead and leaves the README alone. The runs' folders go under
``--out`` either way. ``--replot`` redraws the figure and rewrites the table from the kept
measurement without training.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as train.py, before torch is imported

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "scripts")]  # this checkout's zoo

from readme_tables import RESULTS_DIR, machine, write_table  # noqa: E402
from run_config import compose_run  # noqa: E402

FIGURES_DIR = REPO_ROOT / "docs" / "figures"
QUICK_DIR = REPO_ROOT / "outputs" / "claims"
# The README shows the figures: keep each small.
MAX_FIGURE_BYTES = 150_000
# No progress bar or model summary in the runs' output, which the script reads only on failure.
QUIET = ("callbacks.rich_progress_bar=null", "callbacks.model_summary=null")


@dataclass
class Run:
    """What one ``train.py`` run wrote: results.json and its per-epoch metrics."""

    overrides: list[str]
    folder: Path
    results: dict[str, Any]
    epochs: list[dict[str, float]]  # one row per epoch: the epoch-level metrics logged in it
    seconds: float

    @property
    def metrics(self) -> dict[str, float]:
        return self.results["metrics"]

    def curve(self, key: str) -> list[float]:
        """``key`` (``train/loss``, ``val/acc``) per epoch, for the epochs that logged it."""
        return [row[key] for row in self.epochs if key in row]

    @property
    def epochs_trained(self) -> int:
        return len(self.curve("train/loss"))

    def command(self) -> str:
        return "python train.py " + " ".join(self.overrides)


def per_epoch(metrics_csv: Path) -> list[dict[str, float]]:
    """Lightning's CSV log folded into one row per epoch (step-level columns, ``*_step``,
    and the test metrics left out)."""
    rows: dict[int, dict[str, float]] = {}
    for row in csv.DictReader(metrics_csv.open()):
        if not row.get("epoch"):
            continue
        epoch = rows.setdefault(int(row["epoch"]), {})
        for key, value in row.items():
            skipped = key in ("epoch", "step") or key.endswith("_step") or key.startswith("test/")
            if value and not skipped:
                epoch[key] = float(value)
    return [rows[e] for e in sorted(rows)]


class Trainer:
    """Trains as ``python train.py OVERRIDES`` does (the config composed the same way, then
    :func:`zoo.training.run.train`, train.py's own function), in this process: on 2 busy
    cores a new process costs 10 to 30 s of imports per run. Each run writes its own folder
    under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def __call__(self, *overrides: str) -> Run:
        self.count += 1
        import logging

        from zoo.training.run import train

        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # the script reports
        run_dir = self.folder / f"run_{self.count:03d}"
        started = time.perf_counter()
        train(compose_run([*overrides, *QUIET, "logger=csv"], run_dir))
        seconds = time.perf_counter() - started
        run = Run(
            list(overrides),
            run_dir,
            json.loads((run_dir / "results.json").read_text()),
            per_epoch(run_dir / "csv" / "metrics.csv"),
            seconds,
        )
        print(f"  {run.command()}: {run.epochs_trained} epochs, {seconds:.0f} s", flush=True)
        return run


@dataclass
class Claim:
    """One claim script's run: its name, whether it is the ``--quick`` smoke version, and
    where its runs and outputs go."""

    name: str
    quick: bool
    train: Trainer
    out: Path  # where --quick writes its measurement and figure
    replot: bool = False  # draw and tabulate the kept measurement, without training

    def measurement_path(self) -> Path:
        folder = (self.out / "measurements") if self.quick else (RESULTS_DIR / "measurements")
        return folder / f"{self.name}.json"

    def measured(self, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The claim's measurement: ``measure()``'s, kept with :meth:`write_measurement`, or
        with ``--replot`` the one kept before (no training)."""
        if self.replot:
            return json.loads(self.measurement_path().read_text())
        payload = measure()
        self.write_measurement(payload)
        return payload

    def write_measurement(self, payload: dict[str, Any]) -> Path:
        """``payload`` with the versions, commit and machine it was measured with, as
        ``results/measurements/<name>.json``."""
        import lightning
        import torch

        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        record = {
            "claim": self.name,
            "command": f"python scripts/claim_{self.name}.py",
            "commit": commit,
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "lightning": lightning.__version__,
            },
            "machine": machine(),
            **payload,
        }
        path = self.measurement_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2) + "\n")
        return path

    def save_figure(self, figure: Any) -> Path:
        """``figure`` as ``docs/figures/<name>.png`` (checked to stay small)."""
        import matplotlib.pyplot as plt

        folder = (self.out / "figures") if self.quick else FIGURES_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.png"
        figure.tight_layout()
        figure.savefig(path, dpi=90)
        plt.close(figure)
        if path.stat().st_size > MAX_FIGURE_BYTES:
            raise SystemExit(f"{path} is {path.stat().st_size:,} bytes: make the figure smaller")
        return path

    def write_table(self, lines: Sequence[str], note: str) -> None:
        """The README's table between the claim's markers (printed only with ``--quick``)."""
        body = "\n".join([*lines, "", note + f" {machine()}."]) + "\n"
        if self.quick:
            print(body)
        else:
            write_table(self.name.replace("_", "-"), body)


def figure(columns: int = 1, *, height: float = 3.0) -> tuple[Any, Any]:
    """A small figure (``columns`` panels side by side) in the claims' one style."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.grid": True, "grid.alpha": 0.3})
    return plt.subplots(1, columns, figsize=(3.6 * columns, height), squeeze=False)


Step = Callable[[Claim, dict[str, Any]], None]


def run_claim(
    name: str,
    doc: str,
    measure: Callable[[Claim], dict[str, Any]],
    draw: Step,
    tabulate: Step,
) -> None:
    """A claim script's main: its command line, then ``measure`` (kept as the measurement;
    skipped with ``--replot``), ``draw`` (the figure) and ``tabulate`` (the README table)."""
    claim, _ = start(name, doc.split("\n\n")[0])
    record = claim.measured(lambda: measure(claim))
    draw(claim, record)
    tabulate(claim, record)


def start(name: str, description: str) -> tuple[Claim, argparse.Namespace]:
    """Parse the claim script's command line (``--quick``) and make its :class:`Claim`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="a tiny version: a smoke test, README untouched"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=QUICK_DIR,
        help="the runs' folders, and --quick's files (default: outputs/claims)",
    )
    parser.add_argument(
        "--replot",
        action="store_true",
        help="redraw the figure and rewrite the table from the kept measurement (no training)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{name}_", dir=args.out))
    return Claim(name, args.quick, Trainer(folder), args.out, args.replot), args


def fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"
