"""The primer's Regularization claim, measured: a network trained on a tenth of the digits
overfits, and dropout, L2, augmentation, early stopping and batch normalization, each added
alone, narrow the gap between its training and test accuracy.

    python scripts/claim_regularization.py           # ~3 minutes on 2 CPU cores
    python scripts/claim_regularization.py --quick   # a smoke test (README untouched)

An MLP (64-256-128-10, ReLU) on the 8x8 digits (``data.image_size=8``), trained on a
stratified tenth of the training split (``data.train_fraction=0.1``: 125 images) with Adam
2e-3 and a cosine decay, batches of 32, for 100 epochs through ``python train.py``. The
validation (180 images) and test (360) splits are the full ones. Each run's model at the end
of training (``last.ckpt``) is scored on its own training images and on the test split, in
eval mode, without augmentation; the early-stopping run's model is the one train.py keeps
(the best on val/loss before early stopping stopped it, its default patience: a fifth of the
run). Writes results/measurements/regularization.json, docs/figures/regularization.png and
the README's table.
"""

from __future__ import annotations

from pathlib import Path

from claims import Run, figure, fmt, run_claim

BASE = (
    "model=mlp",
    "data=digits",
    "data.image_size=8",
    "data.train_fraction=0.1",
    "data.batch_size=32",
    "augmentation=[none]",
    "optimizer=adam",
    "scheduler=cosine",
    "seed=0",
)
NO_EARLY_STOPPING = "callbacks.early_stopping=null"
# Each variant adds one thing to the baseline (the weight decay is L2 through Adam's
# gradient: 5e-4, the config's default, barely moves a network this small, so 1e-2).
VARIANTS = {
    "none (overfits)": (NO_EARLY_STOPPING,),
    "dropout 0.5": ("regularization=[dropout]", NO_EARLY_STOPPING),
    "L2 (weight decay 1e-2)": (
        "regularization=[l2]",
        "regularization.weight_decay=0.01",
        NO_EARLY_STOPPING,
    ),
    "augmentation (rotations, shifts)": ("augmentation=[digits]", NO_EARLY_STOPPING),
    "early stopping": (),  # the default callbacks: early stopping on val/loss
    "batch norm": ("regularization=[batchnorm]", NO_EARLY_STOPPING),
}


def accuracy(checkpoint: Path, split: str) -> float:
    """The accuracy of the model in ``checkpoint`` on ``split`` of the digits the runs used
    (eval mode, the data's standardization, no augmentation)."""
    import torch

    from zoo import load_checkpoint
    from zoo.data import DigitsDataModule

    data = DigitsDataModule(image_size=8, train_fraction=0.1)
    data.setup("fit")
    inputs, targets = data.splits[split]
    model = load_checkpoint(checkpoint).eval()
    with torch.no_grad():
        predicted = model(data.normalization(inputs)).argmax(-1)  # (N,)
    return float((predicted == targets).float().mean())


def scored(run: Run, early_stopping: bool) -> dict:
    kept = run.results["best_checkpoint"] if early_stopping else "checkpoints/last.ckpt"
    checkpoint = run.folder / kept
    train, test = accuracy(checkpoint, "train"), accuracy(checkpoint, "test")
    return {
        "overrides": run.overrides,
        "train_acc": train,
        "test_acc": test,
        "gap": train - test,
        "epochs_trained": run.epochs_trained,
        "scored_checkpoint": checkpoint.name,
        "train_py_test_acc": run.metrics["test/acc"],
        "val_loss": run.curve("val/loss"),
        "train_loss": run.curve("train/loss"),
        "seconds": run.seconds,
    }


def measure(claim) -> dict:
    epochs = 10 if claim.quick else 100
    rows, runs = {}, {}
    for name, overrides in VARIANTS.items():
        runs[name] = claim.train(*BASE, f"trainer.max_epochs={epochs}", *overrides)
        rows[name] = scored(runs[name], early_stopping=name == "early stopping")
    config = runs["early stopping"].results["config"]
    return {
        "max_epochs": epochs,
        "patience": config["callbacks"]["early_stopping"]["patience"],
        "train_images": runs["early stopping"].results["data"]["split_sizes"]["train"],
        "base_overrides": list(BASE),
        "rows": rows,
    }


def draw(claim, record: dict) -> None:
    rows = record["rows"]
    fig, axes = figure(2)
    for name, row in rows.items():
        axes[0, 0].plot(range(1, len(row["val_loss"]) + 1), row["val_loss"], label=name, lw=1)
        axes[0, 1].bar(name.split(" (")[0], row["gap"])
    axes[0, 0].axvline(rows["early stopping"]["epochs_trained"], color="grey", ls=":", lw=1)
    axes[0, 0].set(
        xlabel="epoch",
        ylabel="validation loss",
        yscale="log",
        title="validation loss (dotted: early stopping fired)",
    )
    axes[0, 0].legend(fontsize=6)
    axes[0, 1].set(ylabel="train acc - test acc", title="generalization gap")
    axes[0, 1].tick_params(axis="x", labelrotation=35, labelsize=6)
    claim.save_figure(fig)


def tabulate(claim, record: dict) -> None:
    epochs, patience = record["max_epochs"], record["patience"]
    lines = [
        "| added to the baseline | train acc | test acc | gap | epochs trained |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in record["rows"].items():
        trained = str(row["epochs_trained"])
        if name == "early stopping":
            fired = "stopped" if row["epochs_trained"] < epochs else "did not fire"
            trained += f" of {epochs} ({fired}; patience {patience})"
        lines.append(
            f"| {name} | {fmt(row['train_acc'])} | {fmt(row['test_acc'])} "
            f"| {fmt(row['gap'])} | {trained} |"
        )
    claim.write_table(
        lines,
        f"`python scripts/claim_regularization.py`: an MLP (64-256-128-10) on "
        f"{record['train_images']} training digits (8x8), Adam 2e-3, cosine decay, {epochs} "
        "epochs; accuracies of the model at the end of training (early stopping: the one it "
        "kept) on its training images and on the 360 test images;",
    )


if __name__ == "__main__":
    run_claim("regularization", __doc__, measure, draw, tabulate)
