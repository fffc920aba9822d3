"""MNIST-1D beside its paper: the paper's four models over three seeds.

    python scripts/mnist1d_table.py            # 12 runs, writes the README table
    python scripts/mnist1d_table.py --jobs 4   # 4 runs at a time (one thread each)

Runs ``python train.py experiment=mnist1d_{logistic,mlp,cnn,gru} seed=S`` for S = 0, 1, 2 and
sets each model's test accuracy beside the paper's (Greydanus 2020, "Scaling down deep
learning", the MNIST-1D row of its table). Writes results/measurements/mnist1d.json (every
seed's accuracy, the mean and range, the versions and the commit) and the README table
between ``<!-- mnist1d:start -->`` and ``<!-- mnist1d:end -->``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import RESULTS_DIR, default_environment, write_table  # noqa: E402

# experiment -> (the row's label, the paper's test accuracy)
PAPER = {
    "mnist1d_logistic": ("logistic regression", 0.32),
    "mnist1d_mlp": ("MLP", 0.68),
    "mnist1d_cnn": ("CNN", 0.94),
    "mnist1d_gru": ("GRU", 0.91),
}
SEEDS = (0, 1, 2)
OPTIONS = ("logger=none", "callbacks.rich_progress_bar=null", "threads=1")
STORE = RESULTS_DIR / "measurements" / "mnist1d.json"


def run(experiment: str, seed: int, folder: Path) -> dict:
    """Train one experiment with one seed; its test accuracy, parameters and wall time."""
    out = folder / f"{experiment}_{seed}"
    command = [
        sys.executable,
        str(REPO_ROOT / "train.py"),
        f"experiment={experiment}",
        f"seed={seed}",
        *OPTIONS,
        f"hydra.run.dir={out}",
    ]
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=default_environment(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    recorded = json.loads((out / "results.json").read_text())
    return {
        "seed": seed,
        "test_acc": recorded["metrics"]["test/acc"],
        "wall_time_s": round(time.perf_counter() - started, 1),
        "versions": recorded.get("versions"),
    }


def commit() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or "unknown"


def table(rows: dict[str, dict]) -> str:
    lines = [
        "| model | parameters | paper | zoo, mean of 3 seeds | zoo, range | command |",
        "|---|---:|---:|---:|---|---|",
    ]
    for experiment, row in rows.items():
        lines.append(
            f"| {row['model']} | {row['parameters']:,} | {row['paper_test_acc']:.0%} "
            f"| {row['mean_test_acc']:.1%} "
            f"| {row['min_test_acc']:.1%} to {row['max_test_acc']:.1%} "
            f"| `python train.py experiment={experiment}` |"
        )
    return "\n".join(lines) + "\n"


def parameters(experiment: str) -> int:
    """The parameters of the experiment's model, as train.py builds it."""
    sys.path.insert(0, str(REPO_ROOT))
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from zoo.config.checks import register_resolvers

    register_resolvers()
    with initialize_config_dir(str(REPO_ROOT / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={experiment}"])
    return sum(p.numel() for p in instantiate(cfg.model).parameters())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
    jobs = parser.parse_args().jobs
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(jobs) as pool:
        futures = {
            (experiment, seed): pool.submit(run, experiment, seed, Path(folder))
            for experiment in PAPER
            for seed in SEEDS
        }
        runs = {key: future.result() for key, future in futures.items()}
    rows = {}
    for experiment, (model, paper) in PAPER.items():
        accuracies = [runs[experiment, seed]["test_acc"] for seed in SEEDS]
        rows[experiment] = {
            "model": model,
            "parameters": parameters(experiment),
            "paper_test_acc": paper,
            "test_acc": dict(zip(map(str, SEEDS), accuracies)),
            "mean_test_acc": sum(accuracies) / len(accuracies),
            "min_test_acc": min(accuracies),
            "max_test_acc": max(accuracies),
            "wall_time_s": [runs[experiment, seed]["wall_time_s"] for seed in SEEDS],
            "command": f"python train.py experiment={experiment} seed=S ({', '.join(OPTIONS)})",
        }
    STORE.write_text(
        json.dumps(
            {
                "command": "python scripts/mnist1d_table.py" + (f" --jobs {jobs}" * (jobs > 1)),
                "commit": commit(),
                "versions": runs["mnist1d_cnn", 0]["versions"],
                "seeds": list(SEEDS),
                "total_wall_time_s": round(time.perf_counter() - started, 1),
                "rows": rows,
            },
            indent=1,
        )
        + "\n"
    )
    write_table("mnist1d", table(rows))


if __name__ == "__main__":
    main()
