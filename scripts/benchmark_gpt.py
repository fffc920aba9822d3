"""Benchmark: a training iteration of the character-level GPT through zoo against a plain loop.

    python scripts/benchmark_gpt.py        # prints the table and writes it into README

``zoo.training.run.train`` runs ``experiment=char_gpt`` (its task, metrics, callbacks and CSV
logger);
at the start of each of its training batches, a callback runs one iteration of a plain,
hand-written loop on the same batch around a second copy of the same GPT (built from the
same config and seed): cross-entropy, backward, gradient clipping at 1, AdamW with weight
decay on the weight matrices, the warm-up + cosine schedule. The two alternate iteration by
iteration, so both see the same load on a shared machine:

- plain: from the start to the end of the callback's iteration;
- zoo: from the end of the callback's iteration to the start of the next batch (zoo's
  training step, Lightning's hooks, logging, fetching the next batch).

Both for ``model.impl=fast`` (torch's fused attention) and ``model.impl=reference`` (the
attention formula written out). Each figure is the median of the iterations after the first
few.

The plain loop runs inside the zoo's process, for the iteration-by-iteration alternation, so
both get the same settings: the default environment (this script sets no OpenMP variable,
and runs itself again without any that the zoo's scripts set: ``readme_tables.ZOO_VARIABLES``).
So the zoo's side here runs without the ``OMP_WAIT_POLICY=PASSIVE`` that train.py sets, and
the ratio measures the training loop, not the settings. The whole
``python train.py experiment=char_gpt`` against nanoGPT's own train.py, each in a process of
its own, is ``scripts/benchmark_nanogpt.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import in_default_environment, machine, write_table  # noqa: E402

in_default_environment()  # before torch is imported

import lightning as L  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from benchmark_loop import compose_run  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from torch import nn  # noqa: E402

from zoo.config.checks import check_config  # noqa: E402
from zoo.tasks.optim import parameter_groups  # noqa: E402
from zoo.training.run import build_model, train  # noqa: E402

ITERATIONS = 300  # measured
SKIPPED = 20  # first iterations left out (first calls, allocator warm-up)


class PlainLoop:
    """The hand-written training loop, one iteration per call of :meth:`step`."""

    def __init__(self, cfg) -> None:
        check_config(cfg)  # fills the text's vocabulary into cfg.data, as train does
        L.seed_everything(cfg.seed)
        self.model = build_model(cfg).train()
        self.optimizer = instantiate(cfg.optimizer)(
            parameter_groups(self.model, cfg.regularization.weight_decay)
        )
        steps = SKIPPED + ITERATIONS + 1
        schedule = instantiate(cfg.scheduler)(
            self.optimizer, total_steps=steps, steps_per_epoch=steps
        )
        self.scheduler = schedule["scheduler"]
        self.clip = cfg.regularization.grad_clip

    def step(self, x, y) -> None:
        logits = self.model(x)  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        self.scheduler.step()


class InterleavedPlainLoop(L.Callback):
    """At the start of each training batch of the zoo run, one plain iteration on the same
    batch; records when each plain iteration starts and ends."""

    plain: PlainLoop | None = None
    starts: list[float] = []
    ends: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        x, y = batch
        InterleavedPlainLoop.starts.append(time.perf_counter())
        InterleavedPlainLoop.plain.step(x, y)
        InterleavedPlainLoop.ends.append(time.perf_counter())


def configure(overrides: list[str], run_dir: Path):
    """experiment=char_gpt, cut to one epoch of ``SKIPPED + ITERATIONS + 1`` iterations."""
    steps = SKIPPED + ITERATIONS + 1
    return compose_run(
        [
            "experiment=char_gpt",
            *overrides,
            "trainer.max_epochs=1",
            f"trainer.limit_train_batches={steps}",
            f"trainer.max_steps={steps}",
            "callbacks.rich_progress_bar=null",
        ],
        run_dir,
        {"plain_loop": InterleavedPlainLoop},
    )


def measure(cfg) -> tuple[float, float]:
    """The median plain and zoo iterations (seconds), the first ``SKIPPED`` left out."""
    InterleavedPlainLoop.plain = PlainLoop(cfg)
    InterleavedPlainLoop.starts, InterleavedPlainLoop.ends = [], []
    train(cfg)
    starts = InterleavedPlainLoop.starts[SKIPPED:]
    ends = InterleavedPlainLoop.ends[SKIPPED:]
    plain = statistics.median(e - s for s, e in zip(starts, ends, strict=True))
    ours = statistics.median(s - e for e, s in zip(ends, starts[1:], strict=False))
    return plain, ours


def main() -> None:
    lines = [
        "| attention | plain loop iteration (ms) | zoo iteration (ms) | zoo / plain |",
        "|---|---:|---:|---:|",
    ]
    for impl in ("fast", "reference"):
        with tempfile.TemporaryDirectory() as folder:
            plain, ours = measure(configure([f"model.impl={impl}"], Path(folder) / "run"))
        lines.append(f"| `{impl}` | {plain * 1e3:.1f} | {ours * 1e3:.1f} | {ours / plain:.2f} |")
        print(lines[-1], flush=True)
    body = (
        "\n".join(lines)
        + f"\n\nMedian of {ITERATIONS} iterations after the first {SKIPPED}, the plain loop's "
        "interleaved with zoo's: "
        "`experiment=char_gpt` (4 layers, 4 heads, 128-dimensional embeddings, 64-character "
        "windows at random places, batch 12, AdamW, clipping at 1, warm-up + cosine schedule) "
        f"on the default corpus, {machine()}.\n"
    )
    write_table("gpt", body)


if __name__ == "__main__":
    main()
