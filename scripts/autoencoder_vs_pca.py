"""Autoencoders against principal component analysis on the digits, at the same code size.

    python scripts/autoencoder_vs_pca.py            # prints the table and writes it into README
    python scripts/autoencoder_vs_pca.py --k 8      # one code size

For each code size k, scikit-learn's PCA with k components is fitted on the training split
of the 32-pixel digits and reconstructs the test split; each autoencoder is trained with
``python train.py model=NAME model.latent_dim=k task=autoencoder`` (squared error) on the
same split and reconstructs the same test images. The table gives the test mean squared
error per pixel (images in [0, 1]) of each, and its ratio to PCA's. The linear autoencoder
should tie PCA (Baldi & Hornik 1989: its optimum spans the top-k principal subspace); the
non-linear ones should do better. Results are kept in
results/measurements/autoencoder_vs_pca.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import RESULTS_DIR, machine, write_table  # noqa: E402

CODE_SIZES = (2, 8, 32)
# Epochs of each model, with Adam at 2e-3 decayed by a cosine to 0. The linear autoencoder
# converges slowly (gradient descent on it crosses long plateaus before it spans the principal
# subspace, most of all at small k); the non-linear ones pass PCA within a few epochs.
EPOCHS = {"linear_autoencoder": 600, "autoencoder": 100, "conv_autoencoder": 50}
MODELS = tuple(EPOCHS)


def pca_mse(k: int) -> float:
    from sklearn.decomposition import PCA

    from zoo.data import DigitsDataModule

    data = DigitsDataModule()
    data.setup("fit")
    train = data.splits["train"][0].flatten(1).numpy()
    test = data.splits["test"][0].flatten(1).numpy()
    pca = PCA(n_components=k).fit(train)
    return float(((pca.inverse_transform(pca.transform(test)) - test) ** 2).mean())


def autoencoder_mse(model: str, k: int, folder: Path) -> tuple[float, float]:
    """The test mse of ``model`` with ``k`` codes and the run's wall time."""
    run = folder / f"{model}_{k}"
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "train.py"),
            f"model={model}",
            f"model.latent_dim={k}",
            "task=autoencoder",
            "scheduler=cosine",
            f"trainer.max_epochs={EPOCHS[model]}",
            "logger=none",
            f"hydra.run.dir={run}",
        ],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    metrics = json.loads((run / "results.json").read_text())["metrics"]
    return metrics["test/mse"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, nargs="*", default=list(CODE_SIZES))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for k in args.k:
            reference = pca_mse(k)
            rows.append(
                {"k": k, "model": "PCA (scikit-learn)", "mse": reference, "time": 0.0, "epochs": 0}
            )
            for model in MODELS:
                mse, seconds = autoencoder_mse(model, k, Path(folder))
                rows.append(
                    {"k": k, "model": model, "mse": mse, "time": seconds, "epochs": EPOCHS[model]}
                )
                print(f"k={k} {model}: {mse:.5f} (PCA {reference:.5f}) in {seconds:.0f} s")
    (RESULTS_DIR / "measurements").mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "measurements" / "autoencoder_vs_pca.json").write_text(
        json.dumps({"epochs": EPOCHS, "machine": machine(), "rows": rows}, indent=2) + "\n"
    )
    lines = [
        "| k | model | test mse per pixel | / PCA | epochs | wall time (s) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        pca = next(r["mse"] for r in rows if r["k"] == row["k"] and r["model"].startswith("PCA"))
        time_shown = f"{row['time']:.0f}" if row["time"] else "-"
        epochs = row["epochs"] or "-"
        lines.append(
            f"| {row['k']} | {row['model']} | {row['mse']:.5f} | {row['mse'] / pca:.3f} "
            f"| {epochs} | {time_shown} |"
        )
    lines += [
        "",
        "`python scripts/autoencoder_vs_pca.py`: Adam 2e-3 with cosine decay, squared error, "
        f"the 32-pixel digits' test split (360 images); {machine()}.",
    ]
    write_table("autoencoder-pca", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
