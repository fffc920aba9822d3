"""Benchmark: zoo's batched augmentation against torchvision.transforms.v2 image by image.

    python scripts/benchmark_augmentation.py      # prints the table and writes it into README

For each option of configs/augmentation/ (composed through Hydra exactly as train.py does,
on the digits' 1x32x32 images), images per second through zoo's pipeline (zoo.augment.image,
zoo's own batched torch code: parameters drawn per image, the whole batch transformed at once
by a few tensor operations) and through the same transforms of torchvision.transforms.v2
applied to one image at a time (the usual per-sample Dataset transform), measured in the same
run, batch by batch in turn (so both see the same load on a shared machine). Median of 15
batches of 256.
"""

from __future__ import annotations

import os

# The same OpenMP setting as train.py (set before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import statistics
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from torchvision.transforms import v2

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import machine, write_table  # noqa: E402

from zoo.augment import PerImage, build_augmentation  # noqa: E402
from zoo.config.checks import register_resolvers  # noqa: E402

BATCH_SIZE = 256
REPEATS = 15
SHAPE = (1, 32, 32)

# torchvision's transforms with the same ranges as configs/augmentation/<option>.yaml
TORCHVISION = {
    "digits": [v2.RandomAffine(degrees=15, translate=(0.125, 0.125))],
    "rotate": [v2.RandomRotation(degrees=15)],
    "crop": [v2.RandomCrop(32, padding=4)],
    "flip": [v2.RandomHorizontalFlip(p=0.5)],
    "cifar": [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(p=0.5)],
    "color": [v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)],
    "erasing": [v2.RandomErasing(p=0.5, scale=(0.02, 0.2))],
}


def images_per_second(transforms: list[torch.nn.Module], batch: torch.Tensor) -> list[float]:
    """Images per second of each transform, median of REPEATS batches. The transforms take
    turns batch by batch, so that all of them see the same load on a shared machine."""
    for transform in transforms:
        transform(batch)  # warm up
    seconds: list[list[float]] = [[] for _ in transforms]
    for _ in range(REPEATS):
        for transform, times in zip(transforms, seconds, strict=True):
            started = time.perf_counter()
            transform(batch)
            times.append(time.perf_counter() - started)
    return [len(batch) / statistics.median(times) for times in seconds]


def zoo_pipeline(option: str):
    register_resolvers()
    with initialize_config_dir(config_dir=str(REPO_ROOT / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=[f"augmentation=[{option}]", "data=digits"])
    return build_augmentation(cfg.augmentation, input_kind="image")


def main() -> None:
    torch.manual_seed(0)
    batch = torch.rand(BATCH_SIZE, *SHAPE)
    lines = [
        "| augmentation | torchvision v2, per image (images/s) | zoo, batched (images/s) "
        "| speed-up |",
        "|---|---:|---:|---:|",
    ]
    for option, transforms in TORCHVISION.items():
        baseline, ours = images_per_second(
            [PerImage(v2.Compose(transforms)), zoo_pipeline(option)], batch
        )
        lines.append(f"| `{option}` | {baseline:,.0f} | {ours:,.0f} | {ours / baseline:.1f}x |")
        print(lines[-1], flush=True)
    body = (
        "\n".join(lines)
        + f"\n\nBatches of {BATCH_SIZE} {'x'.join(map(str, SHAPE))} float images on the CPU, "
        f"median of {REPEATS}, {machine()}.\n"
    )
    write_table("augmentation", body)


if __name__ == "__main__":
    main()
