"""The primer's claim on recurrent networks, measured: the gradient through a tanh RNN
vanishes with the distance between an input and the loss, so it fails at long-range
dependencies that the gated LSTM and GRU learn.

    python scripts/claim_vanishing_gradients.py           # ~10 minutes on 2 CPU cores
    python scripts/claim_vanishing_gradients.py --quick   # a smoke test (README untouched)

Two parts. (1) Training: the copy task at T = 20, 50 and 100 blank steps and the adding
problem at T = 50, 100 and 200 steps, for the tanh RNN, the LSTM and the GRU, each with the
recipe of configs/experiment/copy_*.yaml and adding_*.yaml (Adam 3e-3, gradient norm clipped
to 1, no schedule) at a smaller size: 3,000 sequences (2,100 for training), 64 hidden units,
10 epochs, trained as ``python train.py`` trains (in this process). Each test metric stands
beside the data's memoryless baseline (the copy task: blanks, then a uniform guess over the
8 symbols; the adding problem: always predicting 1, MSE 1/6). (2) The gradient of the loss
with respect to each time step's input (autograd on the input tensor), on a batch of 256
adding-problem sequences whose loss reads the last step: its norm per step (log scale), for
freshly initialized networks (create_model, the same sizes; 200 steps, the mean of 5
initializations) and for the networks trained on the longest adding problem. Writes
results/measurements/vanishing_gradients.json, docs/figures/vanishing_gradients.png and the
README's table.
"""

from __future__ import annotations

from claims import figure, fmt, run_claim

MODELS = ("rnn", "lstm", "gru")
LENGTHS = {"copy": (20, 50, 100), "adding": (50, 100, 200)}
HIDDEN = 64
SAMPLES = 3000
EPOCHS = 10
GRADIENT_LENGTH = 200
GRADIENT_SEEDS = 5


def recipe(task: str, model: str, length: int, *, samples: int, epochs: int) -> list[str]:
    return [
        f"experiment={task}_{model}",
        f"data.length={length}",
        f"data.num_samples={samples}",
        f"model.hidden_size={HIDDEN}",
        f"trainer.max_epochs={epochs}",
        # the whole budget, as the recorded copy experiments train
        "callbacks.early_stopping=null",
    ]


def adding_batch(length: int) -> tuple:
    """256 adding-problem sequences of ``length`` steps, (B, T, 2), and their sums, (B, 1)."""
    from zoo.data import AddingProblemDataModule

    data = AddingProblemDataModule(
        length=length, num_samples=256, val_fraction=0.0, test_fraction=0.0, seed=1
    )
    data.setup("fit")
    return data.splits["train"]


def gradient_per_step(model, inputs, targets) -> list[float]:
    """‖∂L/∂x_t‖ for each step t: the gradient of the batch's MSE with respect to the input
    at step t, its norm over the batch and the two features."""
    import torch

    inputs = inputs.clone().requires_grad_(True)
    loss = torch.nn.functional.mse_loss(model(inputs), targets)  # output: (B, 1)
    loss.backward()
    return inputs.grad.norm(dim=(0, 2)).tolist()  # (T,)


def at_initialization(model_name: str, length: int) -> list[float]:
    """The gradient per step of fresh ``model_name`` networks, averaged over
    GRADIENT_SEEDS initializations."""
    import torch

    from zoo import create_model

    inputs, targets = adding_batch(length)
    norms = []
    for seed in range(GRADIENT_SEEDS):
        torch.manual_seed(seed)
        model = create_model(model_name, input_size=2, num_classes=1, hidden_size=HIDDEN)
        norms.append(gradient_per_step(model, inputs, targets))
    return [sum(step) / GRADIENT_SEEDS for step in zip(*norms)]


def after_training(checkpoint, length: int) -> list[float]:
    """The gradient per step of the network a run trained (its last epoch's weights)."""
    from zoo import load_checkpoint

    inputs, targets = adding_batch(length)
    return gradient_per_step(load_checkpoint(checkpoint), inputs, targets)


def measure(claim) -> dict:
    """Train every model at every length, then measure the gradients per step."""
    samples, epochs = (600, 2) if claim.quick else (SAMPLES, EPOCHS)
    lengths = {task: values[:1] for task, values in LENGTHS.items()} if claim.quick else LENGTHS
    rows, trained = [], {}
    for task, values in lengths.items():
        for length in values:
            for model in MODELS:
                run = claim.train(*recipe(task, model, length, samples=samples, epochs=epochs))
                baseline = run.results["data"]["baseline"]
                if task == "adding":  # the longest one's network is kept for the figure
                    trained[model] = (run.folder / "checkpoints" / "last.ckpt", length)
                metric = "acc" if task == "copy" else "mse"
                rows.append(
                    {
                        "task": task,
                        "length": length,
                        "model": model,
                        "metric": metric,
                        "test": run.metrics[f"test/{metric}"],
                        "test_loss": run.metrics["test/loss"],
                        "baseline": baseline["acc"] if task == "copy" else baseline["value"],
                        "baseline_loss": baseline["value"],
                        "epochs_trained": run.epochs_trained,
                        "seconds": run.seconds,
                        "command": run.command(),
                    }
                )
    return {
        "samples": samples,
        "epochs": epochs,
        "hidden_size": HIDDEN,
        "rows": rows,
        "gradient_norm_per_step": {
            "at_initialization": {
                "length": GRADIENT_LENGTH,
                **{model: at_initialization(model, GRADIENT_LENGTH) for model in MODELS},
            },
            "after_training": {
                "length": trained["rnn"][1],
                **{model: after_training(*trained[model]) for model in MODELS},
            },
        },
    }


def draw(claim, record: dict) -> None:
    fig, axes = figure(2)
    gradients = record["gradient_norm_per_step"]
    titles = {
        "at_initialization": "at initialization (mean of 5 seeds)",
        "after_training": f"after {record['epochs']} epochs of training",
    }
    for ax, (when, title) in zip(axes[0], titles.items()):
        length = gradients[when]["length"]
        for model in MODELS:
            ax.plot(range(1, length + 1), gradients[when][model], label=model.upper(), lw=1)
        ax.set(
            yscale="log",
            xlabel=f"time step t (the loss reads step {length})",
            ylabel="‖∂L/∂x_t‖, adding problem",
            title=title,
        )
        ax.legend()
    claim.save_figure(fig)


def tabulate(claim, record: dict) -> None:
    rows = record["rows"]
    lines = [
        "| task | T | RNN | LSTM | GRU | memoryless baseline |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for task in LENGTHS:
        for length in sorted({r["length"] for r in rows if r["task"] == task}):
            shown = {r["model"]: r for r in rows if r["task"] == task and r["length"] == length}
            # the copy task: its accuracy and its cross-entropy (nats per step)
            columns = [("test", shown["rnn"]["metric"])]
            if task == "copy":
                columns.append(("test_loss", "loss"))
            for key, metric in columns:
                cells = " | ".join(fmt(shown[m][key], 4) for m in MODELS)
                baseline = shown["rnn"]["baseline" if key == "test" else "baseline_loss"]
                lines.append(
                    f"| {task} (test {metric}) | {length} | {cells} | {fmt(baseline, 4)} |"
                )
    samples = record["samples"]
    claim.write_table(
        lines,
        f"`python scripts/claim_vanishing_gradients.py`: {samples:,} sequences "
        f"({int(samples * 0.7):,} for training), {record['hidden_size']} hidden units, Adam "
        f"3e-3, gradient norm clipped to 1, {record['epochs']} epochs; copy: per-step accuracy "
        "and cross-entropy over all T + 20 steps, adding: MSE;",
    )


if __name__ == "__main__":
    run_claim("vanishing_gradients", __doc__, measure, draw, tabulate)
