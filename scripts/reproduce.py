"""Run recorded experiments and write their measured results into the README.

    python scripts/reproduce.py                       # every configs/experiment/*.yaml
    python scripts/reproduce.py lenet5_digits resnet20_digits   # only these
    python scripts/reproduce.py --export lenet5_digits  # also ship the model in the package

Each experiment runs as ``python train.py experiment=NAME``; its ``results.json`` is copied
to ``results/NAME.json`` (with the machine it ran on) and the README's results table
is regenerated from those files. ``--export`` copies the trained model folder into
``zoo/pretrained/<model>.<data>`` as a named weights entry (keep those under 5 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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


def run_of_process(pid: int, after: float) -> Path:
    """The run folder written by the train.py process ``pid``: run folders end in the pid
    (configs/hydra/default.yaml), so runs other processes write meanwhile are never taken;
    the newest run since ``after`` if none does."""
    runs = [
        p
        for p in (REPO_ROOT / "outputs" / "runs").glob(f"*_{pid}")
        if (p / "results.json").is_file() and (p / "results.json").stat().st_mtime >= after
    ]
    return runs[0] if len(runs) == 1 else newest_run(after)


def epochs_trained(run_dir: Path) -> int | None:
    """Epochs that logged an epoch-level training metric: ``train/loss``, or for a GAN
    (which has two losses) ``train/d_loss``."""
    metrics = run_dir / "csv" / "metrics.csv"
    if not metrics.is_file():
        return None
    import csv

    rows = csv.DictReader(metrics.open())
    epochs = [
        int(row["epoch"])
        for row in rows
        if row.get("epoch") and (row.get("train/loss") or row.get("train/d_loss"))
    ]
    return max(epochs) + 1 if epochs else None


def export(run_dir: Path, result: dict) -> Path:
    """Copy the run's model folder into the package's shipped weights."""
    target = (
        REPO_ROOT / "zoo" / "pretrained" / f"{result['model']['name']}.{result['data']['name']}"
    )
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(run_dir / "model", target)
    config = json.loads((target / "config.json").read_text())
    config["command"] = result["command"]
    (target / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"exported {target} ({(target / 'model.safetensors').stat().st_size / 1e6:.2f} MB)")
    return target


def reproduce(name: str, *, export_model: bool = False) -> Path:
    import time

    started = time.time()
    command = [sys.executable, "train.py", f"experiment={name}", "callbacks.rich_progress_bar=null"]
    print("$", " ".join(command), flush=True)
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=os.environ.copy())
    if process.wait() != 0:
        raise SystemExit(f"experiment {name} failed (exit code {process.returncode})")
    run_dir = run_of_process(process.pid, started)
    result = json.loads((run_dir / "results.json").read_text())
    result["command"] = f"python train.py experiment={name}"
    result["epochs_trained"] = epochs_trained(run_dir)
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    target = RESULTS_DIR / f"{name}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    if export_model:
        export(run_dir, result)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "experiments", nargs="*", help="names under configs/experiment (default: all)"
    )
    parser.add_argument(
        "--export", action="store_true", help="ship the trained models in zoo/pretrained"
    )
    args = parser.parse_args()
    names = args.experiments or sorted(
        p.stem for p in (REPO_ROOT / "configs" / "experiment").glob("*.yaml")
    )
    for name in names:
        reproduce(name, export_model=args.export)
    README.write_text(replace_between_markers(README.read_text(), "results", results_table()))
    print(results_table())


if __name__ == "__main__":
    main()
