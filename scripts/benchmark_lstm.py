"""Benchmark: a character-level LSTM's training epoch through zoo against a plain PyTorch loop.

    python scripts/benchmark_lstm.py        # prints the table and writes it into README

In one process, on the same text, windows, batch size, optimizer and gradient clipping:

- plain: a hand-written loop over ``torch.nn.Embedding`` → ``torch.nn.LSTM`` →
  ``torch.nn.Linear``, truncated backpropagation through time with the state carried from
  one window to the next, and the same validation pass;
- zoo: ``zoo.training.run.train`` on ``experiment=char_lstm`` (its callbacks and CSV logger), the
  epoch being the time between the starts of two training epochs;
- zoo with ``model.impl=reference``: the same through the literal, one-line-per-equation
  LSTM written in Python, step by step (the readable one, not the fast one).

Each figure is the median of the epochs after the first.

The plain loop runs inside the zoo's process, so both get the same settings: the default
environment (this script sets no OpenMP variable, and runs itself again without any that the
zoo's scripts set: ``readme_tables.ZOO_VARIABLES``). So the zoo's side here runs without the
``OMP_WAIT_POLICY=PASSIVE`` that train.py sets, and the ratio measures the training loop, not
the settings.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import in_default_environment, machine, write_table  # noqa: E402

in_default_environment()  # before torch is imported

import lightning as L  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from benchmark_loop import configure, epoch_seconds, stamp, zoo_epoch  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from torch import nn  # noqa: E402

from zoo.tasks.language_model import detach_state  # noqa: E402

EPOCHS = {"fast": 6, "reference": 3}
# A 200,000-character slice of the default corpus keeps an epoch to seconds.
DATA = ["data.max_chars=200000"]
# A constant learning rate (the plain loop has no schedule) and no progress bar.
FIXED = ["scheduler=none", "callbacks.rich_progress_bar=null"]


class PlainLSTM(nn.Module):
    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embedding(x), state)
        return self.head(out), state


def plain_epoch(cfg, epochs: int) -> float:
    """The same work in a hand-written loop."""
    L.seed_everything(cfg.seed)
    data = instantiate(cfg.data)
    data.setup("fit")
    model = PlainLSTM(data.vocab_size, cfg.model.embedding_dim, cfg.model.hidden_size)
    optimizer = instantiate(cfg.optimizer)(model.parameters())
    clip = cfg.regularization.grad_clip
    starts = []
    for _ in range(epochs + 1):
        starts.append(stamp())
        model.train()
        state = None
        for x, y in data.train_dataloader():
            logits, state = model(x, state)
            state = detach_state(state)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
        model.eval()
        state = None
        with torch.no_grad():
            for x, y in data.val_dataloader():
                logits, state = model(x, state)
                F.cross_entropy(logits.flatten(0, 1), y.flatten())
    return epoch_seconds(starts)[0]  # wall time


def main() -> None:
    lines = [
        "| implementation | plain loop epoch (s) | zoo epoch (s) | zoo / plain |",
        "|---|---:|---:|---:|",
    ]
    plain = None
    for impl in ("fast", "reference"):
        epochs = EPOCHS[impl]
        with tempfile.TemporaryDirectory() as folder:
            overrides = ["experiment=char_lstm", *DATA, f"model.impl={impl}", *FIXED]
            cfg = configure(overrides, Path(folder) / "run", epochs)
            plain = plain or plain_epoch(cfg, EPOCHS["fast"])  # torch.nn.LSTM for both rows
            ours = zoo_epoch(cfg)[0]  # wall time
        lines.append(f"| `{impl}` | {plain:.2f} | {ours:.2f} | {ours / plain:.2f} |")
        print(lines[-1], flush=True)
    body = (
        "\n".join(lines)
        + f"\n\nMedian of {EPOCHS['fast'] - 1} (plain, fast) and {EPOCHS['reference'] - 1} "
        "(reference) epochs after the first: `experiment=char_lstm` (256 hidden units, "
        "64-dimensional embeddings, 128-character windows, batch 32, Adam, clipping at 1) on "
        f"the first 200,000 characters of the default corpus, {machine()}.\n"
    )
    write_table("lstm", body)


if __name__ == "__main__":
    main()
