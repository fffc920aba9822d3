"""Run recorded experiments and write their measured results into the README, or check them.

    python scripts/reproduce.py                       # every configs/experiment/*.yaml
    python scripts/reproduce.py lenet5_digits resnet20_digits   # only these
    python scripts/reproduce.py --export lenet5_digits  # also ship the model in the package
    python scripts/reproduce.py --check               # re-run each, compare with its promise
    python scripts/reproduce.py --check mlp_digits lstm_sunspots

Each experiment runs as ``python train.py experiment=NAME``; its ``results.json`` is copied
to ``results/NAME.json`` (with the machine it ran on, the commit it was measured at and the
whole command's wall time), the ``promise`` block of ``configs/experiment/NAME.yaml`` takes
the measured values, and the README's results table is regenerated from those files.
``--export`` copies the trained model folder into ``zoo/pretrained/<model>.<data>`` as a
named weights entry (keep those under 5 MB).

``--check`` records nothing: it runs each experiment, prints the promised value, the measured
value and their difference for every metric the experiment's ``promise`` names, and exits 1
if any differs from its promise by more than the promise's tolerance (or if an experiment
promises nothing or fails to run). A tolerance covers the float differences between machines
(other CPUs' kernels, other thread counts), not changes to the code: a change that moves a
recorded number fails the check until the row is re-measured on purpose.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# this checkout's zoo (the promise check), not another one installed in the environment
sys.path[:0] = [str(REPO_ROOT / "scripts"), str(REPO_ROOT)]

from readme_tables import (  # noqa: E402
    README,
    RESULTS_DIR,
    replace_between_markers,
    results_table,
    shown_metrics,
)

EXPERIMENTS = REPO_ROOT / "configs" / "experiment"
RUNS = REPO_ROOT / "outputs" / "runs"


def newest_run(after: float, runs: Path = RUNS) -> Path:
    found = [p for p in runs.iterdir() if (p / "results.json").is_file()] if runs.is_dir() else []
    found = [p for p in found if (p / "results.json").stat().st_mtime >= after]
    if not found:
        raise SystemExit("the experiment wrote no results.json")
    return max(found, key=lambda p: (p / "results.json").stat().st_mtime)


def run_of_process(pid: int, after: float, runs: Path = RUNS) -> Path:
    """The run folder written by the train.py process ``pid``: run folders end in the pid
    (configs/hydra/default.yaml), so runs other processes write meanwhile are never taken;
    the newest run since ``after`` if none does."""
    found = [
        p
        for p in runs.glob(f"*_{pid}")
        if (p / "results.json").is_file() and (p / "results.json").stat().st_mtime >= after
    ]
    return found[0] if len(found) == 1 else newest_run(after, runs)


def epochs_trained(run_dir: Path) -> int | None:
    """Epochs that logged an epoch-level training metric: ``train/loss``, or for a GAN
    (which has two losses) ``train/d_loss``."""
    metrics = run_dir / "csv" / "metrics.csv"
    if not metrics.is_file():
        return None
    rows = csv.DictReader(metrics.open())
    epochs = [
        int(row["epoch"])
        for row in rows
        if row.get("epoch") and (row.get("train/loss") or row.get("train/d_loss"))
    ]
    return max(epochs) + 1 if epochs else None


def commit() -> dict[str, Any]:
    """The commit the working tree is at and whether the tree differs from it (a modified,
    staged or untracked file that git does not ignore): a dirty tree's numbers were measured
    on code no commit holds."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return {"sha": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.CalledProcessError):
        return {"sha": None, "dirty": None}  # not a git checkout


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


def run_experiment(name: str, log_dir: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Run ``python train.py experiment=NAME`` (its runs under ``log_dir``/runs, else
    outputs/runs) and return its run folder and results, with the whole command's wall time
    (start-up, data, training, test and export) as ``command_wall_time_s``."""
    started = time.time()
    command = [sys.executable, "train.py", f"experiment={name}", "callbacks.rich_progress_bar=null"]
    if log_dir is not None:
        command.append(f"paths.log_dir={log_dir}")
    print("$", " ".join(command), flush=True)
    clock = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=os.environ.copy())
    if process.wait() != 0:
        raise SystemExit(f"experiment {name} failed (exit code {process.returncode})")
    seconds = time.perf_counter() - clock
    run_dir = run_of_process(process.pid, started, RUNS if log_dir is None else log_dir / "runs")
    result = json.loads((run_dir / "results.json").read_text())
    result["command_wall_time_s"] = round(seconds, 2)
    return run_dir, result


# -- the promise: what configs/experiment/NAME.yaml says a run of it measures -----------------
@dataclass(frozen=True)
class Comparison:
    """One promised metric of one experiment against its measured value."""

    experiment: str
    metric: str
    promised: float
    tolerance: float
    measured: float | None  # None: the run did not log the metric, or failed
    failed: bool = False  # the run exited with an error

    @property
    def difference(self) -> float | None:
        return None if self.measured is None else self.measured - self.promised

    @property
    def kept(self) -> bool:
        # a NaN measured value keeps no promise
        return self.difference is not None and abs(self.difference) <= self.tolerance


def promise(name: str) -> dict[str, tuple[float, float]]:
    """``metric: (value, tolerance)`` from the ``promise`` block of
    configs/experiment/NAME.yaml, checked as train.py checks it (zoo.config.sections)."""
    from omegaconf import OmegaConf

    from zoo.config.sections import check_values
    from zoo.errors import ZooError

    path = EXPERIMENTS / f"{name}.yaml"
    if not path.is_file():
        raise SystemExit(f"no experiment {name!r}: {path} does not exist")
    block = OmegaConf.load(path).get("promise")
    try:
        check_values(OmegaConf.create({"promise": block}))
    except ZooError as error:
        raise SystemExit(f"{path}: {error}") from None
    block = OmegaConf.to_container(block) if block is not None else {}
    return {metric: (entry["value"], entry["tolerance"]) for metric, entry in block.items()}


def compare(name: str, metrics: dict[str, float]) -> list[Comparison]:
    """Each metric experiment ``name`` promises against the run's ``metrics``."""
    promised = promise(name)
    if not promised:
        raise SystemExit(f"configs/experiment/{name}.yaml has no promise block to check")
    return [
        Comparison(name, metric, value, tolerance, metrics.get(metric))
        for metric, (value, tolerance) in promised.items()
    ]


def check_table(comparisons: list[Comparison]) -> str:
    """Recorded against measured, one row per promised metric."""

    def number(value: float | None, sign: str = "") -> str:
        return "-" if value is None else f"{value:{sign}.6g}"

    lines = [
        "| experiment | metric | promised | tolerance | measured | difference | |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for c in comparisons:
        verdict = "ok" if c.kept else "OUTSIDE"
        if c.measured is None:
            verdict = "RUN FAILED" if c.failed else "NOT LOGGED"
        lines.append(
            f"| `{c.experiment}` | {c.metric} | {number(c.promised)} | {number(c.tolerance)} "
            f"| {number(c.measured)} | {number(c.difference, '+')} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def check(names: list[str], log_dir: Path | None = None) -> int:
    """Re-run each experiment, print the table, and return the exit status: 0 if every
    promise is kept, 1 if not."""
    for name in names:  # a missing or empty promise is found before anything trains
        compare(name, {})
    comparisons: list[Comparison] = []
    for name in names:
        try:
            _, result = run_experiment(name, log_dir)
        except SystemExit as failure:  # the other experiments are still checked
            print(failure, flush=True)
            comparisons += [replace(c, failed=True) for c in compare(name, {})]
            continue
        comparisons += compare(name, result["metrics"])
        print(check_table([c for c in comparisons if c.experiment == name]), flush=True)
    print(check_table(comparisons))
    broken = [c for c in comparisons if not c.kept]
    if broken:
        print(
            f"{len(broken)} of {len(comparisons)} promised metrics are outside their tolerance: "
            + ", ".join(f"{c.experiment} {c.metric}" for c in broken)
            + ". Find what moved them; re-measure a row on purpose with "
            "python scripts/reproduce.py NAME."
        )
        return 1
    print(f"all {len(comparisons)} promised metrics within their tolerance")
    return 0


def format_value(value: float) -> str:
    """A promised value as the YAML flow mapping takes it: always a float literal with a
    dot (YAML 1.1 reads ``1e-05`` as a string), six decimals."""
    return f"{value:.6f}"


def write_promise(name: str, metrics: dict[str, float]) -> None:
    """Set the values of configs/experiment/NAME.yaml's promise block to ``metrics`` (its
    tolerances and the rest of the file are kept), or say that it has none."""
    path = EXPERIMENTS / f"{name}.yaml"
    text = path.read_text()
    block = re.search(r"^promise:\n((?:[ \t]+.*\n)+)", text, re.MULTILINE)
    if block is None:
        print(f"note: {path.name} has no promise block; add one for the metrics to check")
        return
    body = block.group(1)
    for metric in promise(name):
        if metric not in metrics:
            raise SystemExit(f"{name} promises {metric}, which the run did not log")
        line = re.compile(rf"^(\s+{re.escape(metric)}:\s*\{{\s*value:\s*)[^,}}]+", re.MULTILINE)
        value = format_value(metrics[metric])
        body, found = line.subn(lambda m, value=value: m.group(1) + value, body)
        if found != 1:
            raise SystemExit(
                f"{path}: write promise.{metric} as one line, "
                f"'  {metric}: {{value: ..., tolerance: ...}}', for reproduce.py to update it"
            )
    path.write_text(text[: block.start(1)] + body + text[block.end(1) :])


def record(
    name: str, *, at: dict[str, Any], export_model: bool = False, log_dir: Path | None = None
) -> Path:
    """Run experiment ``name``, write results/NAME.json and its promise's values."""
    run_dir, result = run_experiment(name, log_dir)
    result["command"] = f"python train.py experiment={name}"
    result["epochs_trained"] = epochs_trained(run_dir)
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}"
    result["commit"] = at
    # the promise the run was held to is the config file's, not part of the measurement
    result["config"].pop("promise", None)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    target = RESULTS_DIR / f"{name}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    write_promise(name, result["metrics"])
    missing = set(shown_metrics(result)) - set(promise(name))
    if missing:
        print(f"note: {name}'s promise leaves out {', '.join(sorted(missing))}")
    if export_model:
        export(run_dir, result)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "experiments", nargs="*", help="names under configs/experiment (default: all)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--export", action="store_true", help="ship the trained models in zoo/pretrained"
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="record nothing: compare each run with its config's promise, exit 1 if outside",
    )
    args = parser.parse_args(argv)
    names = args.experiments or sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))
    if args.check:
        return check(names)
    at = commit()  # before this script writes results/ and the configs
    for name in names:
        record(name, at=at, export_model=args.export)
    README.write_text(replace_between_markers(README.read_text(), "results", results_table()))
    print(results_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
