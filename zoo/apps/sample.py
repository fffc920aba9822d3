"""Draw images from a trained generative model: ``python -m zoo.sample SOURCE --n 64 --seed 0``.

SOURCE is a run folder of ``python train.py task=gan model=dcgan ...`` or
``task=autoencoder model=vae ...`` (its ``model/`` folder is used) or an exported model folder
(``config.json`` + ``model.safetensors``). The model must be able to draw new images from its
prior, which two kinds of model in the zoo can:

- a generative adversarial network (primer: "Generative Adversarial Networks"; ``gan``,
  Goodfellow et al. 2014, and ``dcgan``, Radford et al. 2016): its generator maps codes
  z ~ N(0, I) to images;
- a variational autoencoder (primer: "Autoencoders"; ``vae`` and ``conv_vae``, Kingma & Welling
  2014): its decoder maps codes drawn from the prior N(0, I) to images.

Both expose ``sample(n, generator=...)``, images in [0, 1]; a classifier or a plain
autoencoder has no prior to draw codes from and is refused in one line. The codes are drawn
on the CPU from a ``torch.Generator`` seeded by ``--seed``, so the same seed writes the same
file on any device::

    python -m zoo.sample outputs/runs/<run> --n 64 --seed 0 --out samples.png --nrow 8
    python -m zoo.sample outputs/runs/<run> --n 16 --individual samples/   # one PNG each
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from zoo.apps.command import (
    ArgumentParser,
    check_seed,
    check_writable_output,
    run_command,
    say,
    writing,
)
from zoo.config.values import is_positive_int
from zoo.errors import ZooError
from zoo.models.pretrained import load_pretrained
from zoo.resources import check_writable_folder
from zoo.weights import CONFIG_NAME, model_spec, read_pretrained_config, run_model_folder

# How the error message names each family of models that can draw images.
FAMILY_NAMES = {"gan": "a GAN", "autoencoder": "a VAE"}


def samplable_models() -> dict[str, list[str]]:
    """The registered models that draw images, by family: those whose builder returns a
    class with a ``sample`` method (``{"gan": ["dcgan", "gan"], "autoencoder": ["conv_vae",
    "vae"]}``)."""
    from zoo.models import get_model_info, list_models

    families: dict[str, list[str]] = {}
    for name in list_models():
        info = get_model_info(name)
        try:
            returned = typing.get_type_hints(info.raw_builder).get("return")
        except Exception:  # an annotation that does not resolve: not a sampler we know
            continue
        if isinstance(returned, type) and callable(getattr(returned, "sample", None)):
            families.setdefault(info.family, []).append(name)
    return families


def what_samples() -> str:
    """The models that draw images, for an error message: "a GAN (dcgan, gan) or a VAE
    (conv_vae, vae)"."""
    parts = [
        f"{FAMILY_NAMES.get(family, family)} ({', '.join(sorted(names))})"
        for family, names in sorted(samplable_models().items(), key=lambda kv: kv[0] != "gan")
    ]
    return " or ".join(parts)


def load_for_sampling(source: str | Path) -> nn.Module:
    """The generative model at ``source`` (a run folder or a model folder), in eval mode.

    The folder's model is checked against the models that draw images before its weights are
    read; anything else (a classifier, a plain autoencoder) is a :class:`ZooError`."""
    path = run_model_folder(source)
    if path.is_file():
        read_pretrained_config(path)  # a training checkpoint: names the run's model/ folder
    if not path.is_dir():
        raise ZooError(
            f"{str(source)!r} is not a folder; expected a run folder or a model folder "
            f"(with {CONFIG_NAME} and model.safetensors) of a GAN or a VAE."
        )
    name = read_pretrained_config(path)["model"]["name"]
    if not any(name in names for names in samplable_models().values()):
        raise ZooError(
            f"{str(source)!r} holds model {name!r}, which cannot draw new images (it has no "
            f"sample method); zoo.apps.sample takes {what_samples()}."
        )
    return load_pretrained(path).eval()


#: the most images one command draws: all at once, into one grid (and sample_NNNN.png names)
MAX_SAMPLES = 10_000


@torch.no_grad()
def draw_samples(model: nn.Module, n: int, *, seed: int = 0) -> torch.Tensor:
    """``n`` images (n, C, H, W) in [0, 1] from ``model.sample``, their codes drawn from a CPU
    ``torch.Generator`` seeded by ``seed`` (the same images for the same seed)."""
    if not is_positive_int(n):
        raise ZooError(f"the number of samples must be an integer >= 1, got {n!r}.")
    check_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    images = model.sample(n, generator=generator)
    return images.detach().float().cpu().clamp(0, 1)  # a VAE without a sigmoid can overshoot


def write_grid(images: torch.Tensor, path: str | Path, *, nrow: int = 8) -> Path:
    """Write ``images`` (N, C, H, W) in [0, 1] as one grid, ``nrow`` images a row (the last
    row may be shorter), as PNG or the format ``path``'s suffix names."""
    from zoo.figures.grids import image_grid, save_grid

    if not is_positive_int(nrow):
        raise ZooError(f"--nrow must be an integer >= 1, got {nrow!r}.")
    return save_grid(image_grid(images.split(nrow)), path)


def write_individual(images: torch.Tensor, folder: str | Path) -> list[Path]:
    """Write each image (C, H, W) of ``images`` as its own PNG, ``sample_NNNN.png``, in
    ``folder`` (:func:`check_output_folder` refuses one that is a file)."""
    from zoo.figures.grids import save_grid

    folder = Path(folder)
    return [save_grid(image, folder / f"sample_{i:04d}.png") for i, image in enumerate(images)]


def check_output_file(path: str | Path) -> None:
    """Refuse an ``--out`` that cannot become an image file: what
    :func:`~zoo.apps.command.check_writable_output` refuses, and a suffix no image format
    has."""
    from zoo.figures.grids import image_format

    check_writable_output(path, example="samples.png", check_name=image_format)


def check_output_folder(folder: str | Path) -> None:
    """Refuse an ``--individual`` folder that is a file or cannot be written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ZooError(f"--individual {str(folder)!r} is a file; give a folder.")
    check_writable_folder(folder, "--individual")


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m zoo.sample",
        description="Draw images from a trained GAN or VAE and write them as an image grid.",
    )
    parser.add_argument("source", help="a run folder or an exported model folder")
    parser.add_argument("--n", type=int, default=64, help="how many images to draw (64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the codes drawn (0)")
    parser.add_argument(
        "--out", default="samples.png", help="the grid's file, its format by suffix (samples.png)"
    )
    parser.add_argument("--nrow", type=int, default=8, help="images per row of the grid (8)")
    parser.add_argument(
        "--individual", default=None, metavar="DIR", help="also write each image to DIR"
    )
    args = parser.parse_args(argv)
    try:
        if args.nrow < 1:
            raise ZooError(f"--nrow must be an integer >= 1, got {args.nrow}.")
        if not 1 <= args.n <= MAX_SAMPLES:
            raise ZooError(
                f"--n must be an integer from 1 to {MAX_SAMPLES}, got {args.n} (they are drawn "
                "at once and written as one grid); for more, run again with another --seed."
            )
        check_output_file(args.out)  # before any work
        if args.individual is not None:
            check_output_folder(args.individual)
        check_seed(args.seed)
        model = load_for_sampling(args.source)
        images = draw_samples(model, args.n, seed=args.seed)
        with writing(args.out):
            path = write_grid(images, args.out, nrow=args.nrow)
        if args.individual is not None:
            with writing(args.individual, "--individual"):
                write_individual(images, args.individual)
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shape = "x".join(str(s) for s in images.shape[1:])
    say(
        f"wrote {path}: {len(images)} {shape} samples of {model_spec(model)['name']}, "
        f"seed {args.seed}"
        + (f"; each in {args.individual}/" if args.individual is not None else "")
    )
    return 0


if __name__ == "__main__":
    run_command(main)
