"""Run recorded experiments and write their measured results into the README.

    python scripts/reproduce.py                       # every configs/experiment/*.yaml
    python scripts/reproduce.py lenet5_digits resnet20_digits

Each experiment runs as ``python train.py experiment=NAME``; its ``results.json`` is copied
to ``results/NAME.json`` (with the machine it ran on) and the README's results table
is regenerated from those files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import README, RESULTS_DIR, replace_between_markers, results_table  # noqa: E402


def newest_run(after: float) -> Path:
    runs = [p for p in (REPO_ROOT / "outputs" / "runs").iterdir() if (p / "results.json").is_file()]
    runs = [p for p in runs if (p / "results.json").stat().st_mtime >= after]
    if not runs:
        raise SystemExit("the experiment wrote no results.json")
    return max(runs, key=lambda p: (p / "results.json").stat().st_mtime)


def epochs_trained(run_dir: Path) -> int | None:
    metrics = run_dir / "csv" / "metrics.csv"
    if not metrics.is_file():
        return None
    import csv

    epochs = [int(row["epoch"]) for row in csv.DictReader(metrics.open()) if row.get("epoch")]
    return max(epochs) + 1 if epochs else None


def reproduce(name: str) -> Path:
    import time

    started = time.time()
    command = [sys.executable, "train.py", f"experiment={name}", "callbacks.rich_progress_bar=null"]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO_ROOT, check=True, env=os.environ.copy())
    run_dir = newest_run(started)
    result = json.loads((run_dir / "results.json").read_text())
    result["command"] = f"python train.py experiment={name}"
    result["epochs_trained"] = epochs_trained(run_dir)
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    target = RESULTS_DIR / f"{name}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "experiments", nargs="*", help="names under configs/experiment (default: all)"
    )
    names = parser.parse_args().experiments or sorted(
        p.stem for p in (REPO_ROOT / "configs" / "experiment").glob("*.yaml")
    )
    for name in names:
        reproduce(name)
    README.write_text(replace_between_markers(README.read_text(), "results", results_table()))
    print(results_table())


if __name__ == "__main__":
    main()
