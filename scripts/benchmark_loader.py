"""Benchmark: batches as index slices of resident tensors against PyTorch's DataLoader.

    python scripts/benchmark_loader.py            # prints the table and writes it into README

One epoch of shuffled batches over (a) the digits as zoo stores them and (b) a CIFAR-sized
uint8 dataset (50,000 x 3 x 32 x 32, random pixels), with ``torch.utils.data.DataLoader``
over a ``TensorDataset`` (per-sample indexing and collation, no workers) as the baseline
measured in the same run. Best of 5 epochs each.
"""

from __future__ import annotations

import os

# The same OpenMP setting as train.py (set before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import platform
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import write_table  # noqa: E402

from zoo.data import DigitsDataModule, TensorBatchLoader  # noqa: E402

BATCH_SIZE = 128
REPEATS = 5


def best_epoch_seconds(loader) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for inputs, _ in loader:
            inputs.sum()  # touch the batch
        best = min(best, time.perf_counter() - started)
    return best


def datasets() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    digits = DigitsDataModule()
    digits.setup()
    generator = torch.Generator().manual_seed(0)
    cifar_like = (
        torch.randint(0, 256, (50_000, 3, 32, 32), dtype=torch.uint8, generator=generator),
        torch.randint(0, 10, (50_000,), generator=generator),
    )
    return {
        "digits (1,257 x 1x32x32 float)": digits.splits["train"],
        "CIFAR-sized (50,000 x 3x32x32 uint8)": cifar_like,
    }


def main() -> None:
    torch.manual_seed(0)
    lines = [
        "| data | DataLoader epoch (ms) | TensorBatchLoader epoch (ms) | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for name, (inputs, targets) in datasets().items():
        baseline = DataLoader(TensorDataset(inputs, targets), batch_size=BATCH_SIZE, shuffle=True)
        ours = TensorBatchLoader(inputs, targets, batch_size=BATCH_SIZE, shuffle=True)
        base_s, ours_s = best_epoch_seconds(baseline), best_epoch_seconds(ours)
        lines.append(
            f"| {name} | {base_s * 1e3:.1f} | {ours_s * 1e3:.1f} | {base_s / ours_s:.0f}x |"
        )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    body = "\n".join(lines) + f"\n\nBatch size {BATCH_SIZE}, best of {REPEATS} epochs, {machine}.\n"
    write_table("benchmarks", body)


if __name__ == "__main__":
    main()
