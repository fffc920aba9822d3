"""The primer's claims on optimizers and activations, measured: momentum and the adaptive
methods (RMSprop, Adam) bring the training loss down faster than plain SGD; in a deep network
the sigmoid's gradient vanishes layer by layer toward the input, tanh's less, ReLU's and
leaky ReLU's least, and the deep sigmoid network trains slowest.

    python scripts/claim_optimizers_activations.py           # ~5 minutes on 2 CPU cores
    python scripts/claim_optimizers_activations.py --quick   # a smoke test (README untouched)

Optimizers: the MLP (64-256-128-10, ReLU) on the flat 8x8 digits (1,257 training images),
batches of 64, 20 epochs without a schedule, with each configs/optimizer/ choice at its
configured rate (SGD, momentum 0.9 and Nesterov at 0.05, RMSprop at 1e-3, Adam at 2e-3);
the training loss per epoch. Activations: an MLP of 10 hidden layers of 64 units with
sigmoid, tanh, ReLU or leaky ReLU. At initialization (the mean of 5 seeds), the norm of the
loss's gradient with respect to each layer's weights on a batch of 256 training digits, as
create_model builds the network (PyTorch's default initialization, which the training below
uses) and re-initialized for its activation (He for the ReLUs, Glorot for sigmoid and
tanh); then each, as built, trained for the same budget (SGD with momentum 0.9 at 0.05, 20
epochs): its test accuracy. Trained as ``python train.py``
trains (in this process). Writes results/measurements/optimizers_activations.json,
docs/figures/optimizers_activations.png and the README's tables.
"""

from __future__ import annotations

from claims import figure, fmt, run_claim

OPTIMIZERS = {
    "sgd": "SGD",
    "momentum": "momentum",
    "nesterov": "Nesterov",
    "rmsprop": "RMSprop",
    "adam": "Adam",
}
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
DEPTH, WIDTH = 10, 64
EPOCHS = 20
SEEDS = 5
BASE = (
    "model=mlp",
    "data=digits_flat",
    "scheduler=none",
    "seed=0",
    "callbacks.early_stopping=null",
)


def layer_gradients(activation: str, seed: int, *, matched: bool = False) -> list[float]:
    """The gradient norm of each Linear layer's weights (input side first, the head last) of
    a fresh deep MLP with ``activation``, for the cross-entropy of 256 training digits: as
    create_model builds it (PyTorch's default initialization), or ``matched``: re-initialized
    for its activation (He et al. 2015 for the ReLUs, Glorot & Bengio 2010 with the
    activation's gain for sigmoid and tanh; zero biases)."""
    import torch
    from torch import nn

    from zoo import create_model
    from zoo.data import DigitsDataModule

    data = DigitsDataModule(flatten=True)
    data.setup("fit")
    inputs, targets = data.splits["train"]
    inputs, targets = data.normalization(inputs[:256]), targets[:256]  # (256, 64), (256,)
    torch.manual_seed(seed)
    model = create_model(
        "mlp", in_features=64, num_classes=10, hidden_sizes=[WIDTH] * DEPTH, activation=activation
    )
    for layer in (m for m in model.modules() if isinstance(m, nn.Linear)) if matched else ():
        if activation in ("relu", "leaky_relu"):
            nn.init.kaiming_normal_(layer.weight, a=0.01 if activation == "leaky_relu" else 0)
        else:
            nn.init.xavier_normal_(layer.weight, gain=nn.init.calculate_gain(activation))
        nn.init.zeros_(layer.bias)
    nn.functional.cross_entropy(model(inputs), targets).backward()
    return [float(m.weight.grad.norm()) for m in model.modules() if isinstance(m, nn.Linear)]


def measure(claim) -> dict:
    epochs = 2 if claim.quick else EPOCHS
    optimizers = {}
    for name in OPTIMIZERS:
        run = claim.train(*BASE, f"optimizer={name}", f"trainer.max_epochs={epochs}")
        optimizers[name] = {
            "lr": run.results["config"]["optimizer"]["lr"],
            "train_loss": run.curve("train/loss"),
            "test_acc": run.metrics["test/acc"],
            "seconds": run.seconds,
            "command": run.command(),
        }
    activations = {}
    for name in ACTIVATIONS:
        per_seed = [layer_gradients(name, seed) for seed in range(SEEDS)]
        matched = [layer_gradients(name, seed, matched=True) for seed in range(SEEDS)]
        run = claim.train(
            *BASE,
            "optimizer=momentum",
            f"model.hidden_sizes=[{','.join([str(WIDTH)] * DEPTH)}]",
            f"model.activation={name}",
            f"trainer.max_epochs={epochs}",
        )
        activations[name] = {
            "gradient_norm_per_layer": [sum(layer) / SEEDS for layer in zip(*per_seed)],
            "gradient_norm_per_layer_matched_init": [sum(layer) / SEEDS for layer in zip(*matched)],
            "train_loss": run.curve("train/loss"),
            "test_acc": run.metrics["test/acc"],
            "seconds": run.seconds,
            "command": run.command(),
        }
    return {
        "epochs": epochs,
        "depth": DEPTH,
        "width": WIDTH,
        "optimizers": optimizers,
        "activations": activations,
    }


def draw(claim, record: dict) -> None:
    epochs, optimizers, activations = record["epochs"], record["optimizers"], record["activations"]
    fig, axes = figure(2)
    ax = axes[0, 0]
    for name, row in optimizers.items():
        ax.plot(range(1, epochs + 1), row["train_loss"], label=OPTIMIZERS[name], lw=1)
    ax.set(
        yscale="log", xlabel="epoch", ylabel="training loss", title="optimizers: MLP on the digits"
    )
    ax.legend()
    ax = axes[0, 1]
    for index, (name, row) in enumerate(activations.items()):
        norms = row["gradient_norm_per_layer"]
        color = f"C{index}"
        shape = "os^v"[index] + "-"  # ReLU and leaky ReLU nearly coincide
        ax.plot(range(1, len(norms) + 1), norms, shape, ms=3, color=color, label=name, lw=1)
        norms = row["gradient_norm_per_layer_matched_init"]
        ax.plot(range(1, len(norms) + 1), norms, ":", color=color, lw=1)
    ax.set(
        yscale="log",
        xlabel="layer (1: next to the input; 11: the head)",
        ylabel="‖∂L/∂W‖ at initialization",
        title=f"{DEPTH} hidden layers of {WIDTH} (dotted: He/Glorot init)",
    )
    ax.legend()
    claim.save_figure(fig)


def tabulate(claim, record: dict) -> None:
    epochs, optimizers, activations = record["epochs"], record["optimizers"], record["activations"]
    lines = [
        "| optimizer | learning rate | training loss, epoch 1 | training loss, last epoch "
        "| test acc |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in optimizers.items():
        lines.append(
            f"| {OPTIMIZERS[name]} | {row['lr']:g} | {fmt(row['train_loss'][0])} "
            f"| {fmt(row['train_loss'][-1], 4)} | {fmt(row['test_acc'])} |"
        )
    lines += [
        "",
        "| activation | gradient norm, layer 1 | gradient norm, head | ratio "
        "| ratio, He/Glorot init "
        f"| training loss, last epoch | test acc after {epochs} epochs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in activations.items():
        norms = row["gradient_norm_per_layer"]
        matched = row["gradient_norm_per_layer_matched_init"]
        lines.append(
            f"| {name} | {norms[0]:.2e} | {norms[-1]:.2e} | {norms[0] / norms[-1]:.1e} "
            f"| {matched[0] / matched[-1]:.1e} "
            f"| {fmt(row['train_loss'][-1], 4)} | {fmt(row['test_acc'])} |"
        )
    claim.write_table(
        lines,
        f"`python scripts/claim_optimizers_activations.py`: {epochs} epochs, batches of 64, "
        "no schedule; the 360 test digits; gradient norms: the mean of 5 initializations;",
    )


if __name__ == "__main__":
    run_claim("optimizers_activations", __doc__, measure, draw, tabulate)
