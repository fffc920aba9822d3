"""Train every registered model for a short, fixed budget and tabulate what it reaches.

    python scripts/train_every_model.py              # every model
    python scripts/train_every_model.py lstm vgg11   # re-measures some models
    python scripts/train_every_model.py --missing    # the models not measured yet

Each model's row is kept in results/measurements/every_model.json as soon as it is measured
(a run of hours can stop and go on with --missing), and the README table is written from
that file at the end: models not measured yet are listed as such.

Each model runs as ``python train.py model=NAME`` on the data its input kind takes, with
nothing else changed but the budget (and the few recipes in RECIPES, named in the table's
model column): at most 5 epochs, stopping at 60 seconds of training
(``trainer.max_time``) once the first epoch is done (``trainer.min_epochs`` is 1; the
ImageNet-sized VGG, ResNet-50+, Inception and ViT-B/L stop after one epoch or a few). Images
go to the digits (32x32, the default run's recipe), with their task: classifiers on
classification, autoencoders on task=autoencoder, GANs on task=gan; sequences to the digits
read row by row; token models (language models only) to the first 200,000 characters of the
default text corpus. The table gives the epochs finished, the wall time of the whole command
(imports, data, training, test, export) and the test metric beside the level a model that
learned nothing would score: chance (1/10) for the digits; the unigram model's perplexity
for text; for autoencoders the error of reconstructing every image as the mean training
image; for GANs the fid of an untrained generator of the same arguments (``zoo.tasks.quality``,
the same number of test images).
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

from readme_tables import RESULTS_DIR, machine, write_table  # noqa: E402
from reproduce import epochs_trained  # noqa: E402

EPOCHS = 5
MAX_TIME = "00:00:01:00"  # DD:HH:MM:SS of training per model
# The data (and task) each input kind trains on here.
DATA_FOR = {
    "image": ["data=digits"],
    "vector": ["data=digits_flat"],
    "sequence": ["data=digits_rows"],
    "tokens": ["data=text", "task=language_model", "data.max_chars=200000"],
}
# Models whose recipe differs from the default run's (shown in the table). The deep networks
# without normalization that Adam's default 2e-3 leaves at chance (AlexNet, VGG-16/19, the
# ViT-B/L sizes) declare their own rate in the registry (zoo.model_info(NAME)["adam_lr"]),
# which the optimizer configs use: they need nothing here.
# Deep batch-norm networks that finish one or two epochs (20-40 steps) in the budget: their
# running statistics lag the weights, so they evaluate at chance while their training loss
# falls (ResNet-34 here: 0.10 without precise_bn when this table was first measured, 0.89
# with it); zoo.training.precise_bn recomputes the statistics before each validation.
PRECISE_BN = [
    "googlenet", "inception_v3", "resnet34", "resnet50", "resnet101", "resnet152",
    "vgg16_bn", "vgg19_bn",
]  # fmt: skip
# A linear autoencoder learns its principal subspace slowly (the plateaus of deep linear
# networks' gradient descent, Saxe et al. 2014): after 5 epochs it is no better than the mean
# image (measured: 0.069 at the default rate, 0.046 at 1e-2, 0.052 at 3e-2, against 0.047);
# after 50 epochs (16 s) 0.020. scripts/autoencoder_vs_pca.py trains it 600 epochs to PCA's.
RECIPES = {
    **{name: ["callbacks=[default,precise_bn]"] for name in PRECISE_BN},
    "linear_autoencoder": ["trainer.max_epochs=50"],
}
# The task of a model that does not classify (token models: language_model, in DATA_FOR).
TASK_FOR = {"autoencoder": ["task=autoencoder"], "gan": ["task=gan"]}


def overrides_for(name: str) -> list[str]:
    from zoo import get_model_info

    info = get_model_info(name)
    data = DATA_FOR[info.input_kind]
    if "classification" in info.tasks or info.input_kind == "tokens":
        task = []
    elif info.tasks[0] in TASK_FOR:
        task = TASK_FOR[info.tasks[0]]
    else:
        raise SystemExit(f"{name}: no digits task for a model of tasks {info.tasks}")
    return [
        f"model={name}", *data, *task,
        f"trainer.max_epochs={EPOCHS}", f"trainer.max_time={MAX_TIME}", *RECIPES.get(name, []),
    ]  # fmt: skip


def mean_image_mse(run: Path) -> float:
    """Test error of reconstructing every image as the mean training image."""
    from gan_quality import digits_splits, run_config

    splits = digits_splits(run_config(run))
    mean = splits["train"].float().mean(0, keepdim=True)
    return float((splits["test"].float() - mean).pow(2).mean())


def untrained_generator_fid(run: Path) -> float:
    """The fid of an untrained generator like the run's (seed 0) against the test digits."""
    from gan_quality import digits_splits, load_model, run_config, untrained_like

    from zoo.apps.sample import draw_samples
    from zoo.tasks.quality import score_images

    test = digits_splits(run_config(run))["test"]
    untrained = untrained_like(load_model(run, ("dcgan", "gan")), seed=0)
    return float(score_images(draw_samples(untrained, len(test), seed=0), test)["fid"])


def train_one(name: str, folder: Path) -> dict:
    run = folder / name
    command = [
        sys.executable, str(REPO_ROOT / "train.py"), *overrides_for(name),
        "callbacks.rich_progress_bar=null", "callbacks.early_stopping=null",
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
    elif "test/fid" in metrics:
        shown = f"fid {metrics['test/fid']:.1f}"
        chance = f"fid {untrained_generator_fid(run):.1f} (untrained)"
    elif "test/mse" in metrics:
        shown = f"mse {metrics['test/mse']:.4f}"
        chance = f"mse {mean_image_mse(run):.4f} (mean image)"
    else:
        unigram = results["data"]["unigram_perplexity"]["test"]
        shown, chance = f"ppl {metrics['test/ppl']:.2f}", f"ppl {unigram:.2f} (unigram)"
    return {
        "name": name,
        "data": results["data"]["name"],
        "wall": wall,
        "epochs": epochs_trained(run),
        "shown": shown,
        "chance": chance,
        "recipe": RECIPES.get(name, []),
    }


def row(result: dict) -> str:
    if "error" in result:
        return f"| `{result['name']}` | - | - | - | failed: {result['error']} | - |"
    model = " ".join(f"`{item}`" for item in [result["name"], *result.get("recipe", [])])
    return (
        f"| {model} | {result['data']} | {result['epochs']} | {result['wall']:.0f} "
        f"| {result['shown']} | {result['chance']} |"
    )


HEADER = [
    "| model | data | epochs | wall time (s) | test | learned nothing |",
    "|---|---|---:|---:|---|---|",
]
STORE = RESULTS_DIR / "measurements" / "every_model.json"


def measured() -> dict[str, dict]:
    """The rows measured so far, by model name."""
    return json.loads(STORE.read_text()) if STORE.is_file() else {}


def table(rows: dict[str, dict]) -> str:
    """The README table: a row per registered model, measured or not yet."""
    from zoo import list_models

    lines = [*HEADER]
    for name in list_models():
        if name in rows:
            lines.append(row(rows[name]))
        else:
            lines.append(f"| `{name}` | - | - | - | not measured yet | - |")
    machines = sorted({result.get("machine", "") for result in rows.values()} - {""})
    return "\n".join(lines) + f"\n\n{'; '.join(machines)}.\n"


def main() -> None:
    from zoo import list_models
    from zoo.weights import write_json

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="registered names (default: all)")
    parser.add_argument("--missing", action="store_true", help="only models not measured yet")
    args = parser.parse_args()
    names = args.models or list_models()
    unknown = sorted(set(names) - set(list_models()))
    if unknown:
        raise SystemExit(f"not registered: {', '.join(unknown)}; see zoo.list_models()")
    rows = measured()
    if args.missing:
        names = [name for name in names if name not in rows]
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            rows[name] = {**train_one(name, Path(folder)), "machine": machine()}
            print(row(rows[name]), flush=True)
            write_json(STORE, rows)
    write_table("every-model", table(rows))


if __name__ == "__main__":
    main()
