"""Benchmark: ``python train.py`` against a plain script doing the same training.

    python scripts/benchmark_train_py.py     # prints the table and writes it into README

Wall time, imports and start-up included, of the default ``python train.py`` (LeNet-5 on
the digits for 30 epochs, with checkpoints, logging, testing and export) and of a plain
PyTorch script that trains the same model for the same epochs on the same split, with the
same augmentation, optimizer and schedule, keeps the best epoch on the validation split and
tests it. Alternating runs, median of three each.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import write_table  # noqa: E402

RUNS = 3
PLAIN_SCRIPT = """
import copy, math, os
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch, torch.nn.functional as F
import kornia.augmentation as K
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from zoo.models.lenet import LeNet5

torch.manual_seed(42)
digits = load_digits()
x = F.interpolate(torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0,
                  size=(32, 32), mode="bilinear", align_corners=False).clamp_(0, 1)
y = torch.tensor(digits.target)
index = torch.arange(len(x)).numpy()
rest, test = train_test_split(index, test_size=0.2, random_state=0, stratify=y[index])
train, val = train_test_split(rest, test_size=0.125, random_state=0, stratify=y[rest])
mean, std = x[train].mean(), x[train].std(unbiased=False)
model = LeNet5()
augment = K.RandomAffine(degrees=15.0, translate=(0.125, 0.125), p=1.0)
optimizer = torch.optim.Adam(model.parameters(), lr=0.002)
epochs, batch = 30, 64
steps = epochs * math.ceil(len(train) / batch)
schedule = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(1.0, step / steps))))

def accuracy(indices):
    model.eval()
    with torch.no_grad():
        return (model((x[indices] - mean) / std).argmax(1) == y[indices]).float().mean().item()

best, best_state = -1.0, None
for epoch in range(epochs):
    model.train()
    for chunk in torch.randperm(len(train)).split(batch):
        i = train[chunk.numpy()]
        loss = F.cross_entropy(model((augment(x[i]) - mean) / std), y[i])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    val_acc = accuracy(val)
    if val_acc > best:
        best, best_state = val_acc, copy.deepcopy(model.state_dict())
model.load_state_dict(best_state)
print(f"test accuracy {accuracy(test):.4f}")
"""


def wall_seconds(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        plain = work / "plain.py"
        plain.write_text(PLAIN_SCRIPT)
        zoo_times, plain_times = [], []
        for _ in range(RUNS):
            zoo_times.append(wall_seconds([sys.executable, str(REPO_ROOT / "train.py")], cwd=work))
            plain_times.append(wall_seconds([sys.executable, str(plain)], cwd=work))
            print(f"train.py {zoo_times[-1]:.1f} s, plain {plain_times[-1]:.1f} s", flush=True)
    zoo, base = statistics.median(zoo_times), statistics.median(plain_times)
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    body = (
        "| command | wall time (s) | ratio |\n|---|---:|---:|\n"
        f"| plain PyTorch script (same model, split, epochs, augmentation) | {base:.1f} | 1.00 |\n"
        f"| `python train.py` | {zoo:.1f} | {zoo / base:.2f} |\n\n"
        f"Median of {RUNS} alternating runs each, imports included, {machine}.\n"
    )
    write_table("trainpy", body)


if __name__ == "__main__":
    main()
