"""Score the DCGAN's digits between a floor and a ceiling, and write the README's table.

    python scripts/gan_quality.py                         # trains experiment=dcgan_digits first
    python scripts/gan_quality.py --run outputs/runs/<run of experiment=dcgan_digits>
    python scripts/gan_quality.py --run <dcgan run> --vae-run <run of experiment=vae_digits>

A generative adversarial network (primer: "Generative Adversarial Networks"; Goodfellow et
al. 2014; the DCGAN of Radford et al. 2016) is judged by how its samples compare with real
images. :mod:`zoo.tasks.quality` gives the scores (a Fréchet distance, Heusel et al. 2017, on the
penultimate features of zoo's own digits classifier ``lenet5.digits``, and the Inception
Score's formula, Salimans et al. 2016, with that classifier's probabilities), which mean
something only beside reference points measured the same way. Each row scores as many images
as the digits test split holds against the training digits, with
:func:`zoo.tasks.quality.score_images`:

- the floor: the real held-out test digits (what a perfect generator would score, sampling
  noise and all);
- the ceiling: the untrained generator of the same configuration (random initialization
  under seed 0), in eval mode as a trained one samples;
- the trained DCGAN of ``python train.py experiment=dcgan_digits`` (its exported model, the
  best epoch on the validation FID);
- with ``--vae-run``, the variational autoencoder's samples (primer: "Autoencoders"; Kingma &
  Welling 2014) decoded from the prior, for comparison.

Generated images are drawn with ``sample(n, generator=...)`` from a ``torch.Generator`` seeded
by ``--seed`` (0). Writes ``results/measurements/gan_quality.json`` and the table between the
README's ``gan-quality`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from zoo.weights import model_spec

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import RESULTS_DIR, machine, write_table  # noqa: E402

EXPERIMENT = "dcgan_digits"
OUTPUT = RESULTS_DIR / "measurements" / "gan_quality.json"


def train_dcgan() -> Path:
    """Run ``python train.py experiment=dcgan_digits`` and return its run folder."""
    from reproduce import run_of_process

    started = time.time()
    command = [sys.executable, "train.py", f"experiment={EXPERIMENT}"]
    print("$", " ".join(command), "callbacks.rich_progress_bar=null", flush=True)
    process = subprocess.Popen(
        [*command, "callbacks.rich_progress_bar=null"], cwd=REPO_ROOT, env=os.environ.copy()
    )
    if process.wait() != 0:
        raise SystemExit(f"python train.py experiment={EXPERIMENT} failed")
    return run_of_process(process.pid, started)


def run_config(run: Path) -> dict[str, Any]:
    """The resolved config of a training run (from its results.json)."""
    results = run / "results.json"
    if not results.is_file():
        raise SystemExit(f"{run} is not a finished training run (no results.json)")
    return json.loads(results.read_text())["config"]


def digits_splits(config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The images (N, C, H, W) in [0, 1] of each split of the run's digits data, split as
    the run split them."""
    from zoo.config.recorded import build_recorded  # a shared run's config runs no code
    from zoo.data import DigitsDataModule

    data_config = config["data"]
    if data_config.get("_target_") != "zoo.data.DigitsDataModule" or data_config.get("flatten"):
        raise SystemExit(
            "the quality scores use the digits classifier: the run must train on data=digits, "
            f"not {data_config.get('_target_')}"
        )
    data = build_recorded(data_config, base=DigitsDataModule, where="results.json config.data")
    data.setup("fit")
    data.setup("test")
    return {split: images.cpu() for split, (images, *_) in data.splits.items()}


def load_model(run: Path, expected: tuple[str, ...]) -> torch.nn.Module:
    """The exported model of a run (its ``model/`` folder), checked to be one of ``expected``."""
    from zoo.apps.sample import load_for_sampling

    model = load_for_sampling(run)
    if model_spec(model)["name"] not in expected:
        raise SystemExit(
            f"{run} holds {model_spec(model)['name']!r}; expected {' or '.join(expected)}"
        )
    return model


def untrained_like(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """A model of the same builder and arguments as ``model``, randomly initialized under
    ``seed`` (DCGAN's own N(0, 0.02) initialization), in eval mode."""
    from zoo import create_model

    torch.manual_seed(seed)
    return create_model(model_spec(model)["name"], **model_spec(model)["kwargs"]).eval()


def scored(
    what: str, images: torch.Tensor, reference: torch.Tensor, **extra: Any
) -> dict[str, Any]:
    """The zoo.tasks.quality scores of ``images`` against ``reference``, as plain numbers."""
    from zoo.tasks.quality import score_images

    scores = score_images(images, reference)
    row = {
        "what": what,
        "images": len(images),
        "fid": float(scores["fid"]),
        "classifier_score": float(scores["classifier_score"]),
        "confidence": float(scores["confidence"]),
        "class_histogram": [int(c) for c in scores["class_histogram"]],
        **extra,
    }
    print(
        f"{what}: fid {row['fid']:.1f}, classifier score {row['classifier_score']:.2f}, "
        f"confidence {row['confidence']:.3f}, histogram {row['class_histogram']}",
        flush=True,
    )
    return row


def table(payload: dict[str, Any]) -> str:
    """The README table and the line under it."""
    lines = [
        "| images scored | fid (lower is better) | classifier score (1 to 10) | confidence "
        "| most likely digit, 0 to 9 |",
        "|---|---:|---:|---:|---|",
    ]
    for row in payload["rows"]:
        histogram = " ".join(str(c) for c in row["class_histogram"])
        lines.append(
            f"| {row['what']} | {row['fid']:.1f} | {row['classifier_score']:.2f} "
            f"| {row['confidence']:.3f} | {histogram} |"
        )
    n, reference = payload["images_per_row"], payload["reference_images"]
    lines += [
        "",
        f"`{payload['command']}` on {payload['machine']}. Each row is {n} images (the digits "
        f"test split's size) scored against the {reference:,} training digits by "
        "`zoo.tasks.quality.score_images`; generated images are drawn with seed "
        f"{payload['seed']}, the untrained generator (initialized under seed 0) in eval mode "
        f"as the trained one. fid is the Fréchet distance between Gaussians fitted to the "
        "120 penultimate features of zoo's digits classifier (`lenet5.digits`, which was "
        "trained on those training digits), not Inception-v3's: it ranks the rows of this "
        "table (same classifier, same number of images; it is biased upward for few images, "
        "so the real digits do not score 0) and is not comparable to published FIDs. "
        "classifier score is the Inception Score's formula, exp E KL(p(y|x) ‖ p(y)), with "
        "that classifier's probabilities: 10 when every image is confidently one digit and "
        "the ten are equally frequent, 1 at least; it does not see variety within a digit or "
        "compare with real images. confidence is the mean probability of each image's most "
        "likely digit, and the last column counts those digits.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--run", type=Path, help=f"a run folder of experiment={EXPERIMENT} (default: train one)"
    )
    parser.add_argument("--vae-run", type=Path, help="a run folder of experiment=vae_digits")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated images (0)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    run = args.run if args.run is not None else train_dcgan()
    config = run_config(run)
    splits = digits_splits(config)
    train, test = splits["train"], splits["test"]
    n = len(test)
    trained = load_model(run, ("dcgan", "gan"))
    name = model_spec(trained)["name"]

    def draw(model: torch.nn.Module) -> torch.Tensor:
        from zoo.apps.sample import draw_samples

        return draw_samples(model, n, seed=args.seed)

    rows = [
        scored("real test digits (floor)", test, train),
        scored(
            f"untrained `{name}` generator, seed 0 (ceiling)",
            draw(untrained_like(trained, seed=0)),
            train,
        ),
        scored(f"trained `{name}`, `experiment={EXPERIMENT}`", draw(trained), train),
    ]
    if args.vae_run is not None:
        vae = load_model(args.vae_run, ("vae", "conv_vae"))
        rows.append(
            scored(
                f"trained `{model_spec(vae)['name']}`, `experiment=vae_digits`", draw(vae), train
            )
        )
    command = "python scripts/gan_quality.py"
    if args.run is not None:
        command += f" --run <run of experiment={EXPERIMENT}>"
    if args.vae_run is not None:
        command += " --vae-run <run of experiment=vae_digits>"
    if args.seed != 0:
        command += f" --seed {args.seed}"
    payload = {
        "command": command,
        "machine": machine(),
        "seed": args.seed,
        "images_per_row": n,
        "reference_images": len(train),
        "reference": "the training digits",
        "quality_classifier": "lenet5.digits",
        "trained_run": run.name,
        "trained_model": model_spec(trained),
        "vae_run": args.vae_run.name if args.vae_run is not None else None,
        "rows": rows,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    write_table("gan-quality", table(payload))


if __name__ == "__main__":
    main()
