"""Input corruption for denoising autoencoders (Vincent et al. 2008, "Extracting and
composing robust features with denoising autoencoders"): the network sees a corrupted image
and is trained to give back the clean one.

Kinds, on images in [0, 1]:

- ``gaussian``: additive N(0, level²) noise, clipped to [0, 1];
- ``masking``: each pixel set to 0 with probability ``level`` (the paper's masking noise);
- ``salt_and_pepper``: each pixel set to 0 or 1 (with equal odds) with probability ``level``.
"""

from __future__ import annotations

import torch

from zoo.config.values import is_int_or_float
from zoo.errors import ZooError

NOISE_KINDS = ("none", "gaussian", "masking", "salt_and_pepper")
#: the largest standard deviation of added noise (task.noise_level, the series' jitter and
#: scaling sigma): 10 times the spread of standardized data, or of [0, 1] images, drowns them
MAX_SIGMA = 10.0


def check_noise(kind: str, level: float) -> None:
    """Refuse an unknown kind or a level outside what the kind allows."""
    if kind not in NOISE_KINDS:
        raise ZooError(f"task.noise must be one of {', '.join(NOISE_KINDS)}, got {kind!r}.")
    if not is_int_or_float(level):
        raise ZooError(f"task.noise_level must be a number, got {level!r}.")
    if kind == "none" and level != 0:
        raise ZooError(
            f"task.noise_level={level} with task.noise=none corrupts nothing; choose a noise "
            f"({', '.join(NOISE_KINDS[1:])}) for a denoising autoencoder, or leave the level 0."
        )
    if kind == "gaussian" and not 0 <= level <= MAX_SIGMA:
        raise ZooError(
            f"task.noise_level (a standard deviation) must be >= 0 and <= {MAX_SIGMA:g}, got "
            f"{level}."
        )
    if kind in ("masking", "salt_and_pepper") and not 0 <= level <= 1:
        raise ZooError(f"task.noise_level (a probability) must be in [0, 1], got {level}.")


def corrupt(
    images: torch.Tensor, kind: str, level: float, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A corrupted copy of ``images`` (any shape, values in [0, 1]); ``generator`` draws the
    noise (on the images' device) when given, else the global random state does."""
    check_noise(kind, level)
    if kind == "none" or level == 0:
        return images.clone()

    def uniform() -> torch.Tensor:
        return torch.rand(
            images.shape, generator=generator, device=images.device, dtype=images.dtype
        )

    if kind == "gaussian":
        noise = torch.randn(
            images.shape, generator=generator, device=images.device, dtype=images.dtype
        )
        return (images + level * noise).clamp(0.0, 1.0)
    hit = uniform() < level
    if kind == "masking":
        return images.masked_fill(hit, 0.0)
    salt = (uniform() < 0.5).to(images.dtype)  # salt_and_pepper: 1 or 0 with equal odds
    return torch.where(hit, salt, images)
