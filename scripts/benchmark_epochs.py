"""Benchmark: a training epoch of ``python train.py`` against a plain script's, each a process.

    python scripts/benchmark_epochs.py            # prints the table
    python scripts/benchmark_epochs.py --write    # ... and writes it into README (``epochs``)
    python scripts/benchmark_epochs.py --runs 1 --epochs 1   # a smoke test

Two larger steps than the default run's LeNet-5, where an epoch's time is the model's work and
the training loop's overhead shows as a ratio:

- **ResNet-20 on the digits**: ``python train.py model=resnet20`` against the plain script of
  ``scripts/benchmark_train_py.py`` (the same split, standardization, batched rotation and
  translation, Adam with a cosine schedule per step, a validation pass each epoch) training
  the zoo's ResNet-20 (``zoo.create_model``: a user's own loop around the zoo's model) at the
  learning rate ``python train.py model=resnet20`` uses;
- **the character LSTM**: ``python train.py experiment=char_lstm`` against a plain script over
  ``torch.nn.Embedding`` → ``torch.nn.LSTM`` → ``torch.nn.Linear`` (:data:`LSTM_SCRIPT`, nothing
  from zoo): the same 200,000 characters of the default corpus (written to a file both read),
  the same 90/5/5 split, 32 streams of 128-character windows with the state carried from
  window to window (truncated backpropagation through time), Adam at 3e-3 with a cosine
  schedule per step, clipping at 1, and a validation pass each epoch.

An epoch's time is the training time over the epochs: the zoo's ``training_s`` in
results.json (from its first training step to the end of its last epoch: every epoch's
training, validation, checkpoints and logging), the plain script's from its first step to the
end of its last validation. Start-up and testing are left out on both sides (the whole
command is ``scripts/benchmark_train_py.py``). Each side is a process of its own in the default
environment (the script's own, less any variable the zoo's scripts set): train.py chooses its
OpenMP wait policy from the machine's load, the plain scripts set nothing. The two alternate
run by run, the order swapping; each figure is the median, with the range, of ``--runs`` runs
each, and the ratio the median of the runs' pairwise ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT / "scripts"), str(REPO_ROOT)]

from benchmark_train_py import PLAIN_SCRIPT, newest_results  # noqa: E402
from readme_tables import timed_run, write_table  # noqa: E402

LSTM_CHARS = 200_000  # the first characters of the default corpus: an epoch of seconds

# The plain character LSTM, as a user would write it: python lstm.py TEXT_FILE EPOCHS
LSTM_SCRIPT = '''\
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

path, epochs = sys.argv[1], int(sys.argv[2])
window, streams, eval_streams = 128, 32, 128
torch.manual_seed(42)

text = open(path, encoding="utf-8").read()
chars = sorted(set(text))
index = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([index[c] for c in text])
val_size, test_size = round(len(ids) * 0.05), round(len(ids) * 0.05)
train_ids = ids[: len(ids) - val_size - test_size]
val_ids = ids[len(ids) - val_size - test_size : len(ids) - test_size]


def rows(ids, count):
    """count contiguous streams of the text, one row each (targets one further)."""
    length = (len(ids) - 1) // count
    return torch.stack([ids[i * length : (i + 1) * length + 1] for i in range(count)]), length


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, embedding_dim=64, hidden_size=256):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embedding(x), state)
        return self.head(out), state


model = CharLSTM(len(chars))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
train_rows, train_length = rows(train_ids, streams)
steps_per_epoch = train_length // window
steps = epochs * steps_per_epoch
schedule = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(1.0, step / steps)))
)
val_rows, val_length = rows(val_ids, max(1, min(eval_streams, (len(val_ids) - 1) // window)))

print(f"first step at {time.time()}")
started = time.perf_counter()
for epoch in range(epochs):
    model.train()
    state = None
    for k in range(steps_per_epoch):
        x = train_rows[:, k * window : (k + 1) * window]
        y = train_rows[:, k * window + 1 : (k + 1) * window + 1]
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    model.eval()
    state, total, count = None, 0.0, 0
    with torch.no_grad():
        for start in range(0, val_length, window):
            end = min(start + window, val_length)
            logits, state = model(val_rows[:, start:end], state)
            y = val_rows[:, start + 1 : end + 1]
            total += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
            count += y.numel()
    print(f"epoch {epoch}: val loss {total / count:.4f}")
print(f"training seconds {time.perf_counter() - started}")
'''


def resnet20_lr() -> float:
    """The Adam learning rate ``python train.py model=resnet20`` trains at (the optimizer
    configs' ``${adam_lr:...}`` resolver, at their default 2e-3)."""
    from zoo.config.checks import model_adam_lr

    return model_adam_lr("resnet20", 0.002)


def write_corpus(path: Path) -> None:
    from zoo.data.text import read_default_corpus

    path.write_text(read_default_corpus()[:LSTM_CHARS], encoding="utf-8")


def training_seconds(side: str, stdout: str, work: Path) -> float:
    if side == "zoo":
        return float(newest_results(work)["training_s"])
    line = next(line for line in stdout.splitlines() if line.startswith("training seconds "))
    return float(line.removeprefix("training seconds "))


def measure(zoo: list[str], plain: list[str], runs: int, epochs: int, work: Path) -> dict:
    """Each side's seconds per epoch in ``runs`` alternating runs."""
    per_epoch: dict[str, list[float]] = {"zoo": [], "plain": []}
    for run in range(runs):
        sides = [("zoo", zoo), ("plain", plain)]
        for side, command in sides if run % 2 == 0 else sides[::-1]:
            _, stdout = timed_run(command, work)
            per_epoch[side].append(training_seconds(side, stdout, work) / epochs)
        zoo_seconds, plain_seconds = per_epoch["zoo"][-1], per_epoch["plain"][-1]
        print(f"  zoo {zoo_seconds:.2f} s, plain {plain_seconds:.2f} s an epoch", flush=True)
    return per_epoch


def summary(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.2f} | {min(seconds):.2f}-{max(seconds):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each run (default 3)")
    parser.add_argument("--write", action="store_true", help="write the table into README.md")
    args = parser.parse_args()

    train_py = [sys.executable, str(REPO_ROOT / "train.py"), "callbacks.early_stopping=null"]
    epochs = f"trainer.max_epochs={args.epochs}"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "plain.py").write_text(PLAIN_SCRIPT)
        (work / "lstm.py").write_text(LSTM_SCRIPT)
        corpus = work / "corpus.txt"
        write_corpus(corpus)
        cases = [
            (
                "ResNet-20 on the digits",
                "`python train.py model=resnet20`",
                [*train_py, "model=resnet20", epochs],
                [sys.executable, "plain.py", str(args.epochs), "resnet20", str(resnet20_lr())],
            ),
            (
                f"character LSTM ({LSTM_CHARS:,} characters)",
                "`python train.py experiment=char_lstm`",
                [*train_py, "experiment=char_lstm", f"data.path={corpus}", epochs],
                [sys.executable, "lstm.py", str(corpus), str(args.epochs)],
            ),
        ]
        for name, command, zoo, plain in cases:
            print(name, flush=True)
            seconds = measure(zoo, plain, args.runs, args.epochs, work)
            ratios = [z / p for z, p in zip(seconds["zoo"], seconds["plain"], strict=True)]
            rows.append(
                f"| {name} | {command} | {summary(seconds['plain'])} | {summary(seconds['zoo'])} "
                f"| {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |"
            )
    body = (
        "| model | zoo command | plain script epoch (s), median | range | zoo epoch (s), "
        "median | range | zoo / plain |\n|---|---|---:|---:|---:|---:|---:|\n"
        + "\n".join(rows)
        + f"\n\n{args.runs} alternating runs of {args.epochs} epochs each side, each a process "
        "of its own in the default environment (train.py chooses its OpenMP wait policy from "
        "the load itself; the plain scripts set nothing); an epoch: the training time over the "
        "epochs (training, a validation pass, and for the zoo its checkpoints and logging; "
        "start-up and testing left out); the ratio: the median of the runs' ratios (their "
        f"range in brackets); {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}.\n"
    )
    if args.write:
        write_table("epochs", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
