"""Benchmark: ``python train.py`` against the plain PyTorch script a user would write instead.

    python scripts/benchmark_train_py.py                  # prints the table
    python scripts/benchmark_train_py.py --write          # ... and writes it into README
    python scripts/benchmark_train_py.py --load --write   # with a CPU-bound process beside both
    python scripts/benchmark_train_py.py --runs 1 --epochs 2   # a smoke test

Wall time, imports and start-up included, of two commands, each a process of its own:

- zoo: the default ``python train.py`` as a user runs it (LeNet-5 on the digits for 30 epochs,
  with checkpoints, logging, testing and export), less early stopping, so that it trains
  every epoch the plain script trains; train.py chooses its OpenMP wait policy
  itself from the machine's load, before torch is imported (README, Threads);
- plain: a standalone PyTorch script (:data:`PLAIN_SCRIPT`, nothing imported from zoo) doing
  the same work: the same LeNet-5 written out, the same split of scikit-learn's digits
  (bilinear upsampling to 32x32, stratified 70/10/20), the same standardization, batched
  random rotation (up to 15 degrees) and translation (up to 1/8 of the image) drawn per image,
  Adam at 2e-3 with a cosine schedule per step, batches of 64, a validation pass after each
  epoch, and the epoch with the lowest validation loss tested on the test split.

Both run in the default environment: this script's own environment less every variable the
zoo's scripts set (``readme_tables.ZOO_VARIABLES``), so the plain side pays no setting of the
zoo's and the zoo side gets only what train.py sets. The two alternate, run by run (the
order swapping each time); each time is the median, with the range, of ``--runs`` runs
each, and the ratio the median of the runs' own ratios (a run's two sides ran back to back,
so its ratio is the least touched by the machine's speed drifting between runs), with their
range.

``--load`` starts one CPU-bound process beside both for the whole measurement: a PyTorch
matrix-multiply loop with torch's default threads, in the default environment (another user's
training job on the same machine). The table goes between the README's ``trainpy`` markers,
or ``trainpy-load`` with ``--load``, only with ``--write``.
"""

from __future__ import annotations

import argparse
import json
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

from readme_tables import default_environment, timed_run, write_table  # noqa: E402

EPOCHS = 30  # the default run's trainer.max_epochs

# The plain script, as a user would write it: python plain.py EPOCHS [MODEL LR], MODEL a
# zoo model name (scripts/benchmark_epochs.py: a user's own loop around the zoo's model).
PLAIN_SCRIPT = '''\
import copy
import math
import sys
import time

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

epochs = int(sys.argv[1])
torch.manual_seed(42)


class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.head(self.features(x))


def augment(x, degrees=15.0, shift=0.125):
    """Rotate and translate each image by its own random draws, the whole batch at once."""
    n = len(x)
    angle = (torch.rand(n) * 2 - 1) * math.radians(degrees)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([cos, -sin, (torch.rand(n) * 2 - 1) * 2 * shift,
                         sin, cos, (torch.rand(n) * 2 - 1) * 2 * shift], 1).view(n, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


digits = load_digits()
images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
x = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False).clamp_(0, 1)
y = torch.tensor(digits.target)
labels = digits.target
rest, test = train_test_split(range(len(x)), test_size=0.2, random_state=0, stratify=labels)
train, val = train_test_split(rest, test_size=0.125, random_state=0, stratify=labels[rest])
train, val, test = torch.tensor(train), torch.tensor(val), torch.tensor(test)
mean, std = x[train].mean(), x[train].std(correction=0)

if len(sys.argv) > 2:
    from zoo import create_model

    model = create_model(sys.argv[2], num_classes=10, in_channels=1)
    lr = float(sys.argv[3])
else:
    model, lr = LeNet5(), 0.002
optimizer = torch.optim.Adam(model.parameters(), lr=lr)
batch_size = 64
steps = epochs * math.ceil(len(train) / batch_size)
schedule = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(1.0, step / steps)))
)


def evaluate(indices):
    model.eval()
    with torch.no_grad():
        logits = model((x[indices] - mean) / std)
    loss = F.cross_entropy(logits, y[indices]).item()
    return loss, (logits.argmax(1) == y[indices]).float().mean().item()


best_loss, best_state = math.inf, None
print(f"first step at {time.time()}")  # for the benchmark's start-up column
started = time.perf_counter()
for epoch in range(epochs):
    model.train()
    for batch in train[torch.randperm(len(train))].split(batch_size):
        loss = F.cross_entropy(model((augment(x[batch]) - mean) / std), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    val_loss, val_acc = evaluate(val)
    print(f"epoch {epoch}: val loss {val_loss:.4f}, val acc {val_acc:.4f}")
    if val_loss < best_loss:
        best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
print(f"training seconds {time.perf_counter() - started}")
model.load_state_dict(best_state)
print(f"test accuracy {evaluate(test)[1]:.4f}")
'''

# One CPU-bound process beside both sides (--load): another PyTorch job, default threads.
LOAD_SCRIPT = """\
import torch
a = torch.randn(512, 512)
while True:
    a = torch.tanh(a @ a)
"""


def summary(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.1f} | {min(seconds):.1f}-{max(seconds):.1f}"


def newest_results(work: Path) -> dict:
    """The results.json of the newest zoo run under ``work``."""
    newest = max(work.glob("outputs/**/results.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(newest.read_text())


def startup(side: str, launched: float, stdout: str, work: Path) -> float:
    """Seconds from launching a side's process to its first training step: the zoo records
    its own (results.json's ``startup_s``, from the process's start); the plain script prints
    the time of its first step."""
    if side == "zoo":
        return float(newest_results(work)["startup_s"])
    line = next(line for line in stdout.splitlines() if line.startswith("first step at "))
    return float(line.removeprefix("first step at ")) - launched


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="runs of each side (default 7)")
    parser.add_argument(
        "--epochs", type=int, default=EPOCHS, help=f"epochs of each run (default {EPOCHS})"
    )
    parser.add_argument("--load", action="store_true", help="a CPU-bound process beside both")
    parser.add_argument("--write", action="store_true", help="write the table into README.md")
    args = parser.parse_args()

    # every epoch, as the plain script trains: the default early stopping (patience a fifth
    # of the run) would otherwise end the zoo's run sooner, doing less work
    zoo_command = [sys.executable, str(REPO_ROOT / "train.py"), "callbacks.early_stopping=null"]
    if args.epochs != EPOCHS:
        zoo_command.append(f"trainer.max_epochs={args.epochs}")
    load = None
    if args.load:
        load = subprocess.Popen(
            [sys.executable, "-c", LOAD_SCRIPT], env=default_environment(), stdin=subprocess.DEVNULL
        )
        time.sleep(2.0)  # past its imports: loading from the first run on
    zoo_times: list[float] = []
    plain_times: list[float] = []
    startups: dict[str, list[float]] = {"zoo": [], "plain": []}
    try:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            plain = work / "plain.py"
            plain.write_text(PLAIN_SCRIPT)
            plain_command = [sys.executable, str(plain), str(args.epochs)]
            for run in range(args.runs):
                sides = [("zoo", zoo_command), ("plain", plain_command)]
                for side, command in sides if run % 2 == 0 else sides[::-1]:
                    launched = time.time()
                    seconds, stdout = timed_run(command, work)
                    (zoo_times if side == "zoo" else plain_times).append(seconds)
                    startups[side].append(startup(side, launched, stdout, work))
                print(
                    f"train.py {zoo_times[-1]:.1f} s (first step at {startups['zoo'][-1]:.1f} s), "
                    f"plain {plain_times[-1]:.1f} s (at {startups['plain'][-1]:.1f} s)",
                    flush=True,
                )
    finally:
        if load is not None:
            load.kill()
            load.wait()
    # each run's two sides ran back to back: the ratio of a run is the least touched by
    # this machine's drift between runs (scripts/benchmark_epochs.py does the same)
    ratios = [zoo / plain for zoo, plain in zip(zoo_times, plain_times, strict=True)]
    ratio = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    beside = (
        ", with one CPU-bound process (a PyTorch matrix-multiply loop, default threads) "
        "running beside both"
        if args.load
        else ""
    )
    body = (
        "| command | wall time (s), median | range | zoo / plain | start-up (s), median | range |\n"
        "|---|---:|---:|---:|---:|---:|\n"
        f"| plain PyTorch script (same model, split, epochs, augmentation, validation, "
        f"best epoch tested) | {summary(plain_times)} | 1.00 | {summary(startups['plain'])} |\n"
        f"| `python train.py callbacks.early_stopping=null` | {summary(zoo_times)} | "
        f"{ratio} | "
        f"{summary(startups['zoo'])} |\n\n"
        f"{args.runs} alternating runs each, {args.epochs} epochs, imports included (start-up: "
        f"from the process's launch to its first training step), each a "
        f"process of its own in the default environment (train.py chooses its OpenMP wait "
        f"policy from the load itself; the plain script sets nothing){beside}; zoo / plain: "
        f"the median of the runs' ratios, each run's two sides back to back (their range in "
        f"brackets); {machine}.\n"
    )
    if args.write:
        write_table("trainpy-load" if args.load else "trainpy", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
