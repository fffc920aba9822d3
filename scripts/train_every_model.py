"""Train every registered model for a short, fixed budget and tabulate what it reaches.

    python scripts/train_every_model.py              # every model; writes the README table
    python scripts/train_every_model.py lstm vgg11   # some models; prints their rows only

Each model runs as ``python train.py model=NAME`` on the data its input kind takes, with
nothing else changed but the epoch budget: images on the digits (32x32, the default run's
recipe), sequences on the digits read row by row, token models (language models only) on
the first 200,000 characters of the default text corpus. The table gives the epochs, the
wall time of the whole command (imports, data, training, test, export) and the test metric
beside the level a model that learned nothing would score (chance: 1/10 of the digits; the
unigram model's perplexity for text).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import machine, write_table  # noqa: E402

EPOCHS = 5
# The data (and task) each input kind trains on here.
DATA_FOR = {
    "image": ["data=digits"],
    "vector": ["data=digits_flat"],
    "sequence": ["data=digits_rows"],
    "tokens": ["data=text", "task=language_model", "data.max_chars=200000"],
}


def overrides_for(name: str) -> list[str]:
    from zoo import get_model_info

    info = get_model_info(name)
    data = DATA_FOR[info.input_kind]
    if "classification" not in info.tasks and info.input_kind != "tokens":
        raise SystemExit(f"{name}: no digits task for a model of tasks {info.tasks}")
    return [f"model={name}", *data, f"trainer.max_epochs={EPOCHS}"]


def train_one(name: str, folder: Path) -> dict:
    run = folder / name
    command = [
        sys.executable, str(REPO_ROOT / "train.py"), *overrides_for(name),
        "callbacks.rich_progress_bar=null", "callbacks.early_stopping=null", "logger=none",
        f"hydra.run.dir={run}",
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        return {"name": name, "error": result.stderr.strip().splitlines()[-1:]}
    results = json.loads((run / "results.json").read_text())
    metrics = results["metrics"]
    if "test/acc" in metrics:
        shown, chance = f"acc {metrics['test/acc']:.4f}", "acc 0.1000"
    else:
        unigram = results["data"]["unigram_perplexity"]["test"]
        shown, chance = f"ppl {metrics['test/ppl']:.2f}", f"ppl {unigram:.2f} (unigram)"
    return {
        "name": name,
        "data": results["data"]["name"],
        "params": results["model"].get("num_params") or "",
        "wall": wall,
        "shown": shown,
        "chance": chance,
    }


def row(result: dict) -> str:
    if "error" in result:
        return f"| `{result['name']}` | - | - | - | failed: {result['error']} | - |"
    return (
        f"| `{result['name']}` | {result['data']} | {EPOCHS} | {result['wall']:.0f} "
        f"| {result['shown']} | {result['chance']} |"
    )


def main() -> None:
    from zoo import list_models

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="registered names (default: all)")
    names = parser.parse_args().models or list_models()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    lines = [
        "| model | data | epochs | wall time (s) | test | learned nothing |",
        "|---|---|---:|---:|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            lines.append(row(train_one(name, Path(folder))))
            print(lines[-1], flush=True)
    body = "\n".join(lines) + f"\n\n{machine()}.\n"
    if len(names) == len(list_models()):
        write_table("every-model", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
