"""The primer's ResNet claim, measured as He et al. (2016) Fig. 6 shows it: without
shortcuts the deeper plain network trains worse than the shallower one (the degradation
problem); with identity shortcuts depth does not hurt training.

    python scripts/claim_depth_shortcuts.py           # ~10 minutes on 2 CPU cores
    python scripts/claim_depth_shortcuts.py --quick   # a smoke test (README untouched)

The CIFAR ResNets of 20 and 56 layers (``model=resnet20``, ``resnet56``) with the paper's
parameter-free shortcuts (option A) and as plain networks (``model.shortcut=false``: the
same layers, batch norm included, no shortcut), on the 8x8 digits (``data.image_size=8``,
1,257 training images, no augmentation), with the paper's recipe scaled down: SGD with
momentum 0.9 from 0.1 with a cosine decay, weight decay 1e-4, batches of 64, 20 epochs, no
early stopping, trained as ``python train.py`` trains (in this process). The figure is the
training error per epoch (1 - the accuracy on the epoch's batches, in training mode); the
table the last epoch's training error and the test error of the model train.py keeps (the
best on val/loss). Writes results/measurements/depth_shortcuts.json,
docs/figures/depth_shortcuts.png and the README's table.
"""

from __future__ import annotations

from claims import figure, fmt, run_claim

BASE = (
    "data=digits",
    "data.image_size=8",
    "augmentation=[none]",
    "optimizer=momentum",
    "optimizer.lr=0.1",
    "scheduler=cosine",
    "regularization=[l2]",
    "regularization.weight_decay=1e-4",
    "callbacks.early_stopping=null",
    "seed=0",
)
NETWORKS = {
    "plain-20": ("model=resnet20", "model.shortcut=false"),
    "plain-56": ("model=resnet56", "model.shortcut=false"),
    "ResNet-20": ("model=resnet20",),
    "ResNet-56": ("model=resnet56",),
}
EPOCHS = 20


def measure(claim) -> dict:
    epochs = 1 if claim.quick else EPOCHS
    rows = {}
    for name, overrides in NETWORKS.items():
        run = claim.train(*BASE, *overrides, f"trainer.max_epochs={epochs}")
        rows[name] = {
            "train_error": [1 - acc for acc in run.curve("train/acc")],
            "test_error": 1 - run.metrics["test/acc"],
            "seconds": run.seconds,
            "command": run.command(),
        }
    return {"epochs": epochs, "rows": rows}


def draw(claim, record: dict) -> None:
    epochs, rows = record["epochs"], record["rows"]
    fig, axes = figure(1, height=3.2)
    ax = axes[0, 0]
    for name, row in rows.items():
        style = "--" if name.startswith("plain") else "-"
        width = 1.6 if name.endswith("56") else 1.0
        errors = [100 * error for error in row["train_error"]]
        ax.plot(range(1, epochs + 1), errors, style, lw=width, label=name)
    # linear, as He et al.'s Fig. 6: the residual networks reach 0
    ax.set(xlabel="epoch", ylabel="training error (%)", title="plain (dashed) and residual")
    ax.legend()
    claim.save_figure(fig)


def tabulate(claim, record: dict) -> None:
    epochs, rows = record["epochs"], record["rows"]
    lines = [
        "| network | layers | shortcuts | training error, last epoch | test error |",
        "|---|---:|---|---:|---:|",
    ]
    for name, row in rows.items():
        shortcuts = "none (plain)" if name.startswith("plain") else "identity (option A)"
        lines.append(
            f"| {name} | {name[-2:]} | {shortcuts} | {fmt(row['train_error'][-1], 4)} "
            f"| {fmt(row['test_error'], 4)} |"
        )
    claim.write_table(
        lines,
        f"`python scripts/claim_depth_shortcuts.py`: {epochs} epochs on the 1,257 training "
        "digits at 8x8, SGD momentum 0.9 from 0.1, cosine decay, weight decay 1e-4; test error "
        "on the 360 test digits;",
    )


if __name__ == "__main__":
    run_claim("depth_shortcuts", __doc__, measure, draw, tabulate)
