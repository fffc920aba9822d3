"""Forecasting against level shifts: each window normalization (``data.window_norm``) on a
trending, seasonal series and on the sunspots, beside the naive and classical baselines.

    python scripts/forecast_table.py            # every mode, seeds 42-44; writes the README table
    python scripts/forecast_table.py --seeds 1  # one seed; prints

The trending series is generated (:func:`trend_season_series`: 526 monthly values, a linear
trend, a 12-month sine and Gaussian noise, seeded) and written to a CSV, then trained with the
default recipe a user types, ``python train.py data=series_csv data.path=... model=lstm
task=regression data.season=12``; the sunspots with ``experiment=lstm_sunspots``. Each run
goes through ``zoo.training.run.train`` on the config Hydra composes from those overrides plus
``data.window_norm=<mode>`` and a seed. The scaling of every run is fitted on the training part
alone, so the trending series' test values lie above anything the network saw in training.
The README's ``forecasting`` table gets the mean test MSE of each mode (in the series' units)
and the raw numbers go to results/measurements/forecasting.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as train.py, before torch is imported

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import RESULTS_DIR, machine, write_table  # noqa: E402
from run_config import compose_run  # noqa: E402

RESULTS_FILE = RESULTS_DIR / "measurements" / "forecasting.json"
MODES = ("none", "last", "revin", "revin_last")
# 42: the seed of experiment=lstm_sunspots, whose record the "none" row of seed 42 repeats
SEEDS = (42, 43, 44)
QUIET = ["callbacks.rich_progress_bar=null", "callbacks.model_summary=null", "logger=none"]


def trend_season_series(
    length: int = 526,
    *,
    slope: float = 0.05,
    amplitude: float = 2.0,
    period: int = 12,
    noise: float = 0.3,
    seed: int = 0,
) -> np.ndarray:
    """``10 + slope * t + amplitude * sin(2 pi t / period) + noise * e_t``, ``e_t ~ N(0, 1)``,
    for t = 0 .. length - 1: a monthly series whose level keeps rising (its test part lies
    above its training part) with a yearly season. Seeded with numpy's default generator."""
    t = np.arange(length)
    rng = np.random.default_rng(seed)
    season = amplitude * np.sin(2 * np.pi * t / period)
    return 10.0 + slope * t + season + noise * rng.standard_normal(length)


def write_series_csv(path: Path, values: np.ndarray, column: str = "value") -> Path:
    """``values`` as one column of a CSV file with a header row."""
    path.write_text(f"{column}\n" + "".join(f"{v!r}\n" for v in values.tolist()))
    return path


def series_overrides(csv_path: Path) -> list[str]:
    """The default recipe on the trending series: what a user types."""
    return [
        "data=series_csv",
        f"data.path={csv_path}",
        "data.column=value",
        "data.season=12",
        "model=lstm",
        "task=regression",
    ]


SUNSPOTS = ["experiment=lstm_sunspots"]


def measure(overrides: list[str], mode: str, seed: int, folder: Path) -> dict[str, Any]:
    """Train with ``data.window_norm=mode`` and ``seed``: the test metrics."""
    from zoo.training.run import train

    run_dir = folder / f"{mode}_{seed}"
    started = time.perf_counter()
    metrics = train(
        compose_run([*overrides, f"data.window_norm={mode}", f"seed={seed}", *QUIET], run_dir)
    )
    return {
        "mode": mode,
        "seed": seed,
        **{k: metrics[k] for k in sorted(metrics) if k.startswith("test/")},
        "wall_time_s": round(time.perf_counter() - started, 1),
    }


def default_mode() -> str:
    """The window normalization forecasting data use unless told otherwise."""
    import inspect

    from zoo.data import ForecastDataModule

    return inspect.signature(ForecastDataModule).parameters["window_norm"].default


def table(results: dict[str, list[dict[str, Any]]], seeds: int) -> str:
    """The README table: the mean (± std over seeds) test MSE of each mode and series, then
    the baselines' (the same for every run of a series)."""
    names = {
        "trend_season": "trend + season (default recipe)",
        "sunspots": "sunspots (`experiment=lstm_sunspots`)",
    }
    header = "| test MSE | " + " | ".join(names[k] for k in results) + " |"
    lines = [header, "|---|" + "---:|" * len(results)]
    default = default_mode()
    for mode in MODES:
        cells = []
        for entries in results.values():
            values = [e["test/mse"] for e in entries if e["mode"] == mode]
            spread = f" ± {statistics.stdev(values):.3g}" if len(values) > 1 else ""
            cells.append(f"{statistics.fmean(values):.4g}{spread}")
        label = f"`data.window_norm={mode}`" + (" (default)" if mode == default else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    baselines = {"trend_season": "Holt-Winters", "sunspots": "AR(p)"}
    naive = [f"{entries[0]['test/naive_mse']:.4g}" for entries in results.values()]
    classical = [
        f"{entries[0]['test/classical_mse']:.4g} ({baselines[name]})"
        for name, entries in results.items()
    ]
    lines.append("| naive forecast (the last value) | " + " | ".join(naive) + " |")
    lines.append(
        "| classical (statsmodels, `test/classical_mse`) | " + " | ".join(classical) + " |"
    )
    return "\n".join(lines) + f"\n\nTest MSE in the series' units, mean ± std over {seeds} seeds.\n"


def note(total: float, where: str) -> str:
    return (
        "`python scripts/forecast_table.py`: the trending series is 526 monthly values "
        "(linear trend, 12-month sine, noise; `trend_season_series` in the script) trained "
        "with `python train.py data=series_csv data.path=<its csv> data.column=value "
        "data.season=12 model=lstm task=regression`; the sunspots with `python train.py "
        "experiment=lstm_sunspots`; each with `data.window_norm=<mode>` and `seed=42, 43, 44`. "
        f"{total:.0f} s in all, {where}.\n"
    )


def rewrite() -> None:
    """The README table again from results/measurements/forecasting.json (no training)."""
    recorded = json.loads(RESULTS_FILE.read_text())
    seeds = len({e["seed"] for e in recorded["runs"]["sunspots"]})
    body = table(recorded["runs"], seeds)
    write_table(
        "forecasting", body + "\n" + note(recorded["total_wall_time_s"], recorded["machine"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds per mode (3)")
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=MODES)
    parser.add_argument(
        "--rewrite", action="store_true", help="only rewrite the README table from the JSON"
    )
    args = parser.parse_args()
    if args.rewrite:
        rewrite()
        return
    if not 1 <= args.seeds <= len(SEEDS):
        parser.error(f"--seeds is 1 to {len(SEEDS)}")
    full = args.seeds == len(SEEDS) and tuple(args.modes) == MODES
    started = time.perf_counter()
    results: dict[str, list[dict[str, Any]]] = {"trend_season": [], "sunspots": []}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        csv_path = write_series_csv(folder / "trend_season.csv", trend_season_series())
        recipes = {"trend_season": series_overrides(csv_path), "sunspots": SUNSPOTS}
        for name, overrides in recipes.items():
            for mode in args.modes:
                for seed in SEEDS[: args.seeds]:
                    entry = measure(overrides, mode, seed, folder / name)
                    results[name].append(entry)
                    print(name, json.dumps(entry), flush=True)
    total = time.perf_counter() - started
    body = table(results, args.seeds)
    command = "python scripts/forecast_table.py"
    if not full:
        print(body + "\n" + note(total, machine()))
        return
    write_table("forecasting", body + "\n" + note(total, machine()))
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(
        json.dumps(
            {
                "command": command,
                "machine": machine(),
                "total_wall_time_s": round(total, 1),
                "runs": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
