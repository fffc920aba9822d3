"""Anomaly detection by reconstruction error (primer: "Autoencoders: Applications:
Dimensionality reduction, denoising, anomaly detection"), one digit held out at a time.

    python scripts/anomaly_table.py                 # digits 0-9; writes the README table
    python scripts/anomaly_table.py 3 8 --epochs 5  # some digits or another budget; prints

For each digit k, the convolutional autoencoder is trained as ``python train.py
model=conv_autoencoder task=autoencoder data.holdout_classes=[k]`` (through
``zoo.training.run.train`` on the config Hydra composes from those overrides, with a fixed
epoch budget: no early stopping), so it never sees a k in training or validation; the test
split keeps its k's. Each test image is scored by its reconstruction error
(``zoo.apps.autoencode.anomaly_scores``: MSE per pixel of the reconstruction of the clean
image), and the AUROC says how well a high error picks out the k's among the other digits (0.5:
chance, 1: every k scores above every other digit). The README's ``anomaly`` table gets one row
per digit and the raw numbers go to results/measurements/anomaly_detection.json (measurements,
unlike the experiments' records in results/)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as train.py, before torch is imported

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import RESULTS_DIR, machine, write_table  # noqa: E402
from run_config import compose_run  # noqa: E402

# 15 epochs: one held-out digit's run (training, test, export, scoring) takes about 40 s on
# 2 CPU cores, so the ten take under 10 minutes.
EPOCHS = 15
DIGITS = tuple(range(10))
RESULTS_FILE = RESULTS_DIR / "measurements" / "anomaly_detection.json"


def overrides_for(digit: int, epochs: int) -> list[str]:
    """The run's overrides: what a user types, then the fixed budget and a quiet run."""
    return [
        "model=conv_autoencoder",
        "task=autoencoder",
        f"data.holdout_classes=[{digit}]",
        f"trainer.max_epochs={epochs}",
        "callbacks.early_stopping=null",
        "callbacks.rich_progress_bar=null",
        "callbacks.model_summary=null",
        "logger=none",
    ]


def hold_out(digit: int, epochs: int, folder: Path) -> dict[str, Any]:
    """Train with ``digit`` held out, score the test split; the row's numbers."""
    from zoo.apps.autoencode import anomaly_scores, load_run
    from zoo.training.run import train

    run_dir = folder / f"holdout_{digit}"
    started = time.perf_counter()
    metrics = train(compose_run(overrides_for(digit, epochs), run_dir))
    result = anomaly_scores(load_run(run_dir))
    wall = time.perf_counter() - started
    command = json.loads((run_dir / "results.json").read_text())["command"]
    return {
        "digit": digit,
        "auroc": result.auroc,
        "mean_error_heldout": result.mean_error_heldout,
        "mean_error_others": result.mean_error_others,
        "heldout_test_images": int(result.anomalous.sum()),
        "other_test_images": int((~result.anomalous).sum()),
        "test_mse": metrics.get("test/mse"),
        "epochs": epochs,
        "wall_time_s": round(wall, 1),
        "train_command": command,
    }


def row(entry: dict[str, Any]) -> str:
    return (
        f"| {entry['digit']} | {entry['auroc']:.4f} | {entry['mean_error_heldout']:.5f} "
        f"| {entry['mean_error_others']:.5f} | {entry['epochs']} | {entry['wall_time_s']:.0f} |"
    )


HEADER = (
    "| held-out digit | AUROC | mean error, held-out digit | mean error, other digits "
    "| epochs | wall time (s) |\n"
    "|---:|---:|---:|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("digits", nargs="*", type=int, help="digits to hold out (all)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs per run ({EPOCHS})")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run folders here")
    args = parser.parse_args()
    digits = args.digits or list(DIGITS)
    if any(d not in DIGITS for d in digits) or args.epochs < 1:
        parser.error("digits are 0 to 9 and --epochs is >= 1")
    full = sorted(digits) == list(DIGITS) and args.epochs == EPOCHS

    started = time.perf_counter()
    entries = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        for digit in digits:
            entries.append(hold_out(digit, args.epochs, folder))
            print(row(entries[-1]), flush=True)
    total = time.perf_counter() - started

    command = "python scripts/anomaly_table.py" + (
        "" if full else " " + " ".join(map(str, digits)) + f" --epochs {args.epochs}"
    )
    mean_auroc = statistics.fmean(e["auroc"] for e in entries)
    tested = entries[0]["heldout_test_images"] + entries[0]["other_test_images"]
    note = (
        f"`{command}`: `python train.py model=conv_autoencoder task=autoencoder "
        f"data.holdout_classes=[k] trainer.max_epochs={args.epochs}` (no early stopping) for "
        f"each digit k, then the reconstruction error (MSE per pixel) of each of the {tested} "
        "test digits (`python -m zoo.autoencode anomaly <run>`); AUROC of the held-out digit "
        f"against the others, mean {mean_auroc:.4f}. Wall time: training, test, export and "
        f"scoring; {total:.0f} s in all, {machine()}."
    )
    body = f"{HEADER}\n" + "\n".join(row(e) for e in entries) + f"\n\n{note}\n"
    if not full:
        print(body)
        return
    write_table("anomaly", body)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(
        json.dumps(
            {
                "command": command,
                "machine": machine(),
                "epochs": args.epochs,
                "mean_auroc": mean_auroc,
                "total_wall_time_s": round(total, 1),
                "digits": entries,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
