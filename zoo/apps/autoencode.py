"""What a trained autoencoder is for (primer: "Autoencoders: Applications: Dimensionality
reduction, denoising, anomaly detection"), on a run folder of ``python train.py
task=autoencoder ...``::

    python -m zoo.autoencode latents outputs/runs/<run> --out latents.csv --scatter codes.png
    python -m zoo.autoencode denoise outputs/runs/<run> --n 8 --noise gaussian --level 0.3
    python -m zoo.autoencode anomaly outputs/runs/<run> --out scores.csv

- ``latents`` (dimensionality reduction): the code ``model.encode(x)`` of every image of a
  split, written as ``.npy`` (N, k), ``.npz`` (``codes`` and ``labels``) or ``.csv`` (a
  ``label`` column, then ``z0`` ... ``z{k-1}``), and drawn as a 2-D scatter coloured by class
  (codes of more than 2 dimensions projected on their first two principal components).
- ``denoise`` (denoising, Vincent et al. 2008): the first test images corrupted
  (:mod:`zoo.augment.noise`, by default as the run was trained), what the model gives back, and the
  clean images, one row each of a PNG grid.
- ``anomaly`` (anomaly detection): each test image scored by its reconstruction error; the
  classes the run held out of training (``data.holdout_classes``) are the anomalies, and the
  AUROC says how well the score separates them from the classes the model learned.

SOURCE is the run folder (``outputs/runs/<run>``) or its ``model/`` folder: the model comes
from ``model/`` (``config.json`` + ``model.safetensors``), the data are rebuilt from the
resolved config in the run's ``results.json``, with the same split. The model takes images as
it was trained on them: scaled to [0, 1], then standardized with the normalization its
``config.json`` records (:meth:`AutoencoderRun.model_input`, as ``ZooTask.preprocess`` does
without augmentation). Every mistake is one line and exit code 2.

The same from Python::

    from zoo.apps.autoencode import anomaly_scores, denoise_rows, encode_split, load_run

    run = load_run("outputs/runs/<run>")
    codes, labels = encode_split(run, "test")  # (N, k), (N,)
    print(anomaly_scores(run).auroc)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
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
from zoo.augment.noise import NOISE_KINDS, check_noise, corrupt
from zoo.config.values import is_int
from zoo.errors import ZooError
from zoo.models.pretrained import load_pretrained
from zoo.weights import CONFIG_NAME, model_spec, read_pretrained_config, run_model_folder

SPLITS = ("train", "val", "test")
LATENT_SUFFIXES = (".npy", ".npz", ".csv")
SCATTER_SUFFIXES = (".png", ".pdf", ".svg")
# The corruption ``denoise`` shows for a run trained without noise.
DEFAULT_NOISE = ("gaussian", 0.3)
BATCH_SIZE = 512


@dataclass
class AutoencoderRun:
    """A trained autoencoder (in eval mode, on the CPU) and the data it was trained on.

    ``config`` is the run's resolved config (``results.json``'s ``config``), ``data`` the
    data module rebuilt from it (set up: the same splits), ``mean``/``std`` the normalization
    the model folder records (None when the run did not standardize)."""

    folder: Path
    model_folder: Path
    model: nn.Module
    data: Any
    config: dict[str, Any]
    mean: torch.Tensor | None
    std: torch.Tensor | None

    @property
    def model_name(self) -> str:
        """The registry name of the model (``autoencoder``, ``conv_vae``, ...)."""
        return str(model_spec(self.model)["name"])

    @property
    def class_names(self) -> list[str] | None:
        """The data's class names, when its targets are classes."""
        return list(self.data.class_names) if self.data.class_names else None

    def split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The (inputs, targets) of ``split`` ("train", "val" or "test"), on the CPU; inputs
        as the data holds them (floats in [0, 1] or uint8 images)."""
        if split not in SPLITS:
            raise ZooError(f"the split must be one of {', '.join(SPLITS)}, got {split!r}.")
        inputs, targets = self.data.splits[split]
        if len(inputs) == 0:
            raise ZooError(
                f"the {split} split of {str(self.folder)!r} is empty "
                f"(data.{'val' if split == 'val' else 'test'}_fraction=0?)."
            )
        return inputs.cpu(), targets.cpu()

    @staticmethod
    def scale(inputs: torch.Tensor) -> torch.Tensor:
        """Inputs in their own units, as the task scales them: uint8 images to [0, 1] floats
        (what an autoencoder reconstructs; ``ZooTask.scale`` without augmentation)."""
        return inputs.float().div(255.0) if inputs.dtype == torch.uint8 else inputs.float()

    def normalize(self, scaled: torch.Tensor) -> torch.Tensor:
        """Scaled inputs standardized with the recorded normalization (``ZooTask.normalize``)."""
        return scaled if self.mean is None else (scaled - self.mean) / self.std

    def model_input(self, inputs: torch.Tensor) -> torch.Tensor:
        """The batch the model takes from inputs as the data holds them: scaled, then
        standardized (``ZooTask.preprocess`` in evaluation)."""
        return self.normalize(self.scale(inputs))


def _read_results(path: Path) -> dict[str, Any]:
    try:
        results = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ZooError(f"cannot read {str(path)!r} ({error}).") from None
    config = results.get("config") if isinstance(results, dict) else None
    if not isinstance(config, dict) or not isinstance(config.get("data"), dict):
        raise ZooError(
            f"{str(path)!r} holds no resolved config with a data entry (config.data), "
            "so the run's data cannot be rebuilt."
        )
    return config


def _check_autoencoder(source: str | os.PathLike, model_config: dict[str, Any]) -> None:
    """Refuse a folder whose model is not an autoencoder (a classifier, a GAN, ...)."""
    from zoo.models import get_model_info

    name = model_config["model"]["name"]
    try:
        info = get_model_info(name)
    except (KeyError, ZooError):
        raise ZooError(f"{str(source)!r} holds a model {name!r} this zoo does not know.") from None
    if "autoencoder" not in info.tasks:
        raise ZooError(
            f"{str(source)!r} holds a {name!r} model ({info.family}, trained for "
            f"{', '.join(info.tasks)}), not an autoencoder; zoo.apps.autoencode needs a run of "
            "python train.py task=autoencoder model=autoencoder|conv_autoencoder|vae|..."
        )


def _recorded_normalization(
    model_config: dict[str, Any], data: Any, folder: Path
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The model folder's normalization, checked against the rebuilt data's."""
    recorded = (model_config.get("data") or {}).get("normalization")
    rebuilt = data.describe().get("normalization")
    if (recorded is None) != (rebuilt is None) or (
        recorded is not None
        and not all(
            np.allclose(recorded[key], rebuilt[key], rtol=1e-5, atol=1e-7)
            for key in ("mean", "std")
        )
    ):
        raise ZooError(
            f"the data rebuilt from {str(folder / 'results.json')!r} are not the ones the model "
            f"was trained on: normalization {rebuilt} against the recorded {recorded} (did the "
            "data files change?)."
        )
    if recorded is None:
        return None, None
    shape = (-1, 1, 1) if data.input_kind == "image" else (-1,)
    mean = torch.tensor(recorded["mean"], dtype=torch.float32).reshape(shape)
    std = torch.tensor(recorded["std"], dtype=torch.float32).reshape(shape)
    return mean, std


def load_run(source: str | os.PathLike) -> AutoencoderRun:
    """The autoencoder of a run folder (or of its ``model/`` folder) and the data it was
    trained on, rebuilt from ``results.json``'s config with the same split.

    A ``ZooError`` when ``source`` is missing, is not a run or model folder, holds another
    kind of model, or lacks the run's ``results.json``."""
    path = Path(source)
    if not path.is_dir():
        problem = "is not a folder" if path.exists() else "does not exist"
        raise ZooError(
            f"{str(source)!r} {problem}; expected a training run's folder "
            "(outputs/runs/<run>) or its model/ folder."
        )
    model_folder = run_model_folder(path)
    model_config = read_pretrained_config(model_folder)
    _check_autoencoder(source, model_config)
    run_folder = path if model_folder != path else path.parent  # a run's model/ folder
    results = run_folder / "results.json"
    if model_folder == path and not results.is_file():
        raise ZooError(
            f"{str(source)!r} is a model folder outside a training run (no results.json beside "
            "it): the data are rebuilt from the run's config; give the run's folder."
        )
    if not results.is_file():
        raise ZooError(
            f"{str(run_folder)!r} has no results.json: the run did not finish (or this is not a "
            "training run's folder)."
        )
    config = _read_results(results)
    from lightning import LightningDataModule

    from zoo.config.recorded import build_recorded  # a shared folder's config runs no code

    data = build_recorded(
        config["data"], base=LightningDataModule, where=f"{str(results)!r} config.data"
    )
    if not hasattr(data, "splits") or not hasattr(data, "describe"):
        raise ZooError(f"{str(results)!r}: config.data does not build a zoo data module.")
    data.setup("test")
    recorded_shape = (model_config.get("data") or {}).get("input_shape")
    if recorded_shape is not None and list(data.input_shape) != list(recorded_shape):
        raise ZooError(
            f"the data rebuilt from {str(results)!r} have inputs of shape "
            f"{list(data.input_shape)}, but the model was trained on {list(recorded_shape)}."
        )
    mean, std = _recorded_normalization(model_config, data, run_folder)
    model = load_pretrained(model_folder).eval()
    return AutoencoderRun(run_folder, model_folder, model, data, config, mean, std)


# -- dimensionality reduction ----------------------------------------------------------------
@torch.no_grad()
def encode_split(
    run: AutoencoderRun, split: str = "test", *, batch_size: int = BATCH_SIZE
) -> tuple[np.ndarray, np.ndarray | None]:
    """The codes ``model.encode(x)`` of every input of ``split`` (N, k), float32 (a VAE's
    posterior means), and the inputs' class labels (N,), or None when the targets are not
    classes. Primer: "Autoencoders: Applications: Dimensionality reduction"."""
    inputs, targets = run.split(split)
    codes = torch.cat([run.model.encode(run.model_input(x)) for x in inputs.split(batch_size)])
    labels = targets.numpy().astype(np.int64) if run.data.target_kind == "class" else None
    return codes.float().numpy(), labels


def write_latents(codes: np.ndarray, labels: np.ndarray | None, path: str | os.PathLike) -> Path:
    """Write codes (N, k) by the file's suffix: ``.npy`` the codes alone, ``.npz`` arrays
    ``codes`` and ``labels``, ``.csv`` a ``label`` column (when there are labels) then
    ``z0`` ... ``z{k-1}``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in LATENT_SUFFIXES:
        raise ZooError(
            f"the latents file must end in {', '.join(LATENT_SUFFIXES)}, got {str(path)!r}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(path, codes)
    elif suffix == ".npz":
        arrays = {"codes": codes} | ({"labels": labels} if labels is not None else {})
        np.savez(path, **arrays)
    else:
        header = (["label"] if labels is not None else []) + [
            f"z{j}" for j in range(codes.shape[1])
        ]
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for i, row in enumerate(codes.tolist()):
                writer.writerow(([int(labels[i])] if labels is not None else []) + row)
    return path


def project_2d(codes: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    """Codes (N, k) as points (N, 2) and the axis labels: the codes themselves for k = 2,
    their first two principal components (scikit-learn's PCA) for k > 2, the code against
    nothing (a strip) for k = 1."""
    k = codes.shape[1]
    if k == 2:
        return codes, ("z0", "z1")
    if k == 1:
        return np.column_stack([codes[:, 0], np.zeros(len(codes))]), ("z0", "")
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2).fit(codes)
    share = pca.explained_variance_ratio_ * 100
    labels = tuple(
        f"PC{i + 1} of the {k}-D codes (PCA, {share[i]:.0f}% of variance)" for i in range(2)
    )
    return pca.transform(codes), labels  # type: ignore[return-value]


def plot_latents(
    codes: np.ndarray,
    labels: np.ndarray | None,
    path: str | os.PathLike,
    *,
    class_names: Sequence[str] | None = None,
    holdout_classes: Sequence[int] = (),
    title: str = "",
) -> Path:
    """An image file (PNG, or by its suffix PDF or SVG) of the codes in 2-D
    (:func:`project_2d`), one colour per class with a legend of the class names, the classes
    held out of training marked so."""
    try:
        from matplotlib import colormaps
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is a declared optional dependency
        raise ZooError(
            "the scatter plot needs matplotlib: pip install matplotlib (or zoo[notebooks])."
        ) from None
    points, (xlabel, ylabel) = project_2d(codes)
    figure = Figure(figsize=(7, 6), layout="constrained")
    axes = figure.add_subplot()
    if labels is None:
        axes.scatter(points[:, 0], points[:, 1], s=8, alpha=0.7)
    else:
        classes = np.unique(labels)
        cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
        for i, c in enumerate(classes):
            chosen = labels == c
            name = class_names[c] if class_names and 0 <= c < len(class_names) else str(c)
            name += " (held out)" if c in holdout_classes else ""
            axes.scatter(
                points[chosen, 0],
                points[chosen, 1],
                s=8,
                alpha=0.7,
                color=cmap(i % cmap.N),
                label=name,
            )
        axes.legend(title="class", markerscale=2, fontsize="small", loc="best")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    if title:
        axes.set_title(title)
    path = Path(path)
    if path.suffix.lower() not in SCATTER_SUFFIXES:
        raise ZooError(
            f"the scatter file must end in {', '.join(SCATTER_SUFFIXES)}, got {str(path)!r}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


# -- denoising -------------------------------------------------------------------------------
def default_noise(run: AutoencoderRun) -> tuple[str, float]:
    """The corruption the run was trained with (``task.noise``, ``task.noise_level``), or
    Gaussian noise of standard deviation 0.3 for a run trained without noise."""
    task = run.config.get("task") or {}
    kind, level = task.get("noise", "none"), task.get("noise_level", 0.0)
    if kind in (None, "none") or not level:
        return DEFAULT_NOISE
    return str(kind), float(level)


def check_corruption(kind: str, level: float) -> None:
    """Refuse an unknown noise kind or a level the kind does not allow, naming the options."""
    if kind not in NOISE_KINDS:
        raise ZooError(f"--noise must be one of {', '.join(NOISE_KINDS)}, got {kind!r}.")
    if isinstance(level, float) and not math.isfinite(level):
        raise ZooError(f"--level must be a finite number, got {level}.")
    try:
        check_noise(kind, level)
    except ZooError as error:
        raise ZooError(
            str(error).replace("task.noise_level", "--level").replace("task.noise", "--noise")
        ) from None


@torch.no_grad()
def denoise_rows(
    run: AutoencoderRun,
    n: int = 8,
    *,
    noise: str | None = None,
    level: float | None = None,
    seed: int = 0,
) -> tuple[list[torch.Tensor], str, float]:
    """The first ``n`` test images corrupted (``noise`` at ``level``, by default as the run
    was trained: :func:`default_noise`; drawn by a ``torch.Generator`` seeded with ``seed``),
    the model's reconstructions of them, and the clean images: three (n, C, H, W) rows in
    [0, 1] (the outputs as the model gives them), with the kind and level used. A ``noise``
    other than the run's without a ``level`` takes 0.3. Primer:
    "Autoencoders: Applications: Denoising"."""
    default_kind, default_level = default_noise(run)
    kind = default_kind if noise is None else noise
    if level is None:
        level = default_level if noise is None or noise == default_kind else DEFAULT_NOISE[1]
    check_corruption(kind, level)
    inputs, _ = run.split("test")
    if inputs.ndim != 4:
        raise ZooError(
            f"denoise draws images, but {str(run.folder)!r} was trained on inputs of shape "
            f"{list(inputs.shape[1:])}."
        )
    if not (is_int(n) and 1 <= n <= len(inputs)):
        raise ZooError(
            f"--n must be an integer from 1 to {len(inputs)} (the test images), got {n!r}."
        )
    clean = run.scale(inputs[:n])  # (n, C, H, W) in [0, 1]
    generator = torch.Generator().manual_seed(seed)
    noisy = corrupt(clean, kind, float(level), generator=generator)
    outputs = run.model.reconstruct(run.normalize(noisy))
    return [noisy, outputs, clean], kind, float(level)


def save_denoise_grid(rows: Sequence[torch.Tensor], path: str | os.PathLike) -> Path:
    """The rows (noisy, outputs, clean) as one PNG grid, one row each (make_grid with a
    2-pixel white padding: (3·(H+2)+2) × (n·(W+2)+2) pixels)."""
    from zoo.figures.grids import image_grid, save_grid

    return save_grid(image_grid(rows), path)


# -- anomaly detection ---------------------------------------------------------------------
@dataclass
class AnomalyScores:
    """Reconstruction errors of the test split and how well they find the held-out classes.

    ``scores`` (N,) the per-pixel MSE of each image; ``labels`` (N,) its class;
    ``anomalous`` (N,) whether its class was held out of training; ``auroc`` of the scores
    against ``anomalous``; the mean score of each group."""

    scores: np.ndarray
    labels: np.ndarray
    anomalous: np.ndarray
    holdout_classes: list[int]
    auroc: float
    mean_error_heldout: float
    mean_error_others: float


@torch.no_grad()
def reconstruction_errors(
    run: AutoencoderRun, inputs: torch.Tensor, *, batch_size: int = BATCH_SIZE
) -> torch.Tensor:
    """Each input's reconstruction error, the mean squared error per value of
    ``model.reconstruct`` (a VAE: from its posterior mean) against the clean input in its own
    units: (N, ...) → (N,)."""
    errors = []
    for batch in inputs.split(batch_size):
        clean = run.scale(batch)
        reconstruction = run.model.reconstruct(run.normalize(clean))
        errors.append((reconstruction - clean).square().flatten(1).mean(dim=1))
    return torch.cat(errors)


def anomaly_scores(run: AutoencoderRun) -> AnomalyScores:
    """Score every test image by its reconstruction error and measure, by the area under
    the ROC curve (torchmetrics' binary_auroc), how well a high error marks the classes the
    run held out of training (``data.holdout_classes``). Primer: "Autoencoders:
    Applications: Anomaly detection"."""
    from torchmetrics.functional.classification import binary_auroc

    held = list(getattr(run.data, "holdout_classes", None) or [])
    if not held:
        raise ZooError(
            f"{str(run.folder)!r} held out no class (data.holdout_classes is empty), so its test "
            "split has no anomalies to find; train with data.holdout_classes=[3] (for example)."
        )
    inputs, targets = run.split("test")
    anomalous = torch.isin(targets, torch.tensor(held))
    if anomalous.all() or not anomalous.any():
        raise ZooError(
            f"the test split of {str(run.folder)!r} needs both held-out ({held}) and other "
            "classes to measure an AUROC."
        )
    scores = reconstruction_errors(run, inputs)
    auroc = float(binary_auroc(scores, anomalous.long()))
    return AnomalyScores(
        scores=scores.numpy(),
        labels=targets.numpy().astype(np.int64),
        anomalous=anomalous.numpy(),
        holdout_classes=held,
        auroc=auroc,
        mean_error_heldout=float(scores[anomalous].mean()),
        mean_error_others=float(scores[~anomalous].mean()),
    )


def write_scores(result: AnomalyScores, path: str | os.PathLike) -> Path:
    """The scores as CSV: ``index`` (in the test split), ``label``, ``held_out`` (0 or 1),
    ``score`` (the reconstruction error)."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ZooError(f"the scores file must end in .csv, got {str(path)!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "label", "held_out", "score"])
        for i, (label, held, score) in enumerate(
            zip(result.labels.tolist(), result.anomalous.tolist(), result.scores.tolist())
        ):
            writer.writerow([i, label, int(held), f"{score:.8g}"])
    return path


# -- command line ------------------------------------------------------------------------------
def _latents_command(args: argparse.Namespace) -> str:
    out = Path(args.out)
    if out.suffix.lower() not in LATENT_SUFFIXES:  # refused before any work
        raise ZooError(f"--out must end in {', '.join(LATENT_SUFFIXES)}, got {str(out)!r}.")
    if args.split not in SPLITS:
        raise ZooError(f"--split must be one of {', '.join(SPLITS)}, got {args.split!r}.")
    if args.scatter and Path(args.scatter).suffix.lower() not in SCATTER_SUFFIXES:
        raise ZooError(
            f"--scatter must end in {', '.join(SCATTER_SUFFIXES)}, got {args.scatter!r}."
        )
    check_writable_output(out)
    if args.scatter:
        check_writable_output(args.scatter, "--scatter")
    run = load_run(args.source)
    codes, labels = encode_split(run, args.split)
    lines = [f"{len(codes)} {args.split} codes of {codes.shape[1]} dimensions: "]
    with writing(out):
        lines[0] += str(write_latents(codes, labels, out))
    if args.scatter:
        name = run.model_name
        with writing(args.scatter, "--scatter"):
            plot_latents(
                codes,
                labels,
                args.scatter,
                class_names=run.class_names,
                holdout_classes=run.data.holdout_classes,
                title=f"{name} codes of the {args.split} split",
            )
        lines.append(f"scatter: {args.scatter}")
    return "\n".join(lines)


def _denoise_command(args: argparse.Namespace) -> str:
    if args.noise is not None and args.noise not in NOISE_KINDS:
        raise ZooError(f"--noise must be one of {', '.join(NOISE_KINDS)}, got {args.noise!r}.")
    if Path(args.out).suffix.lower() != ".png":
        raise ZooError(f"--out must end in .png, got {args.out!r}.")
    check_seed(args.seed)
    check_writable_output(args.out)
    run = load_run(args.source)
    rows, kind, level = denoise_rows(
        run, args.n, noise=args.noise, level=args.level, seed=args.seed
    )
    with writing(args.out):
        path = save_denoise_grid(rows, args.out)
    return f"{kind} noise at {level:g} on {args.n} test images (rows: noisy, output, clean): {path}"


def _anomaly_command(args: argparse.Namespace) -> str:
    if args.out is not None and Path(args.out).suffix.lower() != ".csv":
        raise ZooError(f"--out must end in .csv, got {args.out!r}.")
    if args.out is not None:
        check_writable_output(args.out)
    run = load_run(args.source)
    result = anomaly_scores(run)
    lines = [
        f"held-out classes {result.holdout_classes}: AUROC {result.auroc:.4f} "
        f"({int(result.anomalous.sum())} held-out and {int((~result.anomalous).sum())} other "
        "test images)",
        f"mean reconstruction error (MSE per pixel): held out {result.mean_error_heldout:.5f}, "
        f"others {result.mean_error_others:.5f}",
    ]
    if args.out is not None:
        with writing(args.out):
            lines.append(f"scores: {write_scores(result, args.out)}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m zoo.autoencode`` parser: one subcommand per application."""
    parser = ArgumentParser(
        prog="python -m zoo.autoencode",
        description=(
            "Use a trained autoencoder (a run of python train.py task=autoencoder ...): "
            "its codes (dimensionality reduction), denoising, and anomaly detection."
        ),
        epilog=f"SOURCE is a run folder (outputs/runs/<run>) or its model/ folder ({CONFIG_NAME} "
        "+ model.safetensors); the data are rebuilt from the run's results.json.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    source_help = "a training run's folder, or its model/ folder"

    latents = commands.add_parser(
        "latents",
        help="encode a split: the codes to a file, and a 2-D scatter by class",
        description="Encode every image of a split (model.encode); write the codes and, with "
        "--scatter, draw them coloured by class (codes of more than 2 dimensions are "
        "projected on their first two principal components).",
    )
    latents.add_argument("source", metavar="SOURCE", help=source_help)
    latents.add_argument("--split", default="test", help="train, val or test (test)")
    latents.add_argument(
        "--out",
        default="latents.npy",
        help="where to write the codes: .npy (N, k), .npz (codes, labels) or .csv (label, "
        "z0, z1, ...) (latents.npy)",
    )
    latents.add_argument("--scatter", default=None, help="a PNG file for the 2-D scatter")
    latents.set_defaults(handler=_latents_command)

    denoise = commands.add_parser(
        "denoise",
        help="corrupt test images and draw them, the model's outputs and the clean images",
        description="Corrupt the first test images, reconstruct them, and write a PNG grid "
        "whose rows are the noisy inputs, the model's outputs and the clean images.",
    )
    denoise.add_argument("source", metavar="SOURCE", help=source_help)
    denoise.add_argument("--n", type=int, default=8, help="how many test images (8)")
    denoise.add_argument(
        "--noise",
        default=None,
        help=f"{', '.join(NOISE_KINDS)} (the run's task.noise; gaussian for a run "
        "trained without noise)",
    )
    denoise.add_argument(
        "--level",
        type=float,
        default=None,
        help="standard deviation (gaussian) or probability (the others) (the run's "
        "task.noise_level with its kind of noise; 0.3 otherwise)",
    )
    denoise.add_argument("--seed", type=int, default=0, help="seed of the noise (0)")
    denoise.add_argument("--out", default="denoise.png", help="the PNG grid (denoise.png)")
    denoise.set_defaults(handler=_denoise_command)

    anomaly = commands.add_parser(
        "anomaly",
        help="score test images by reconstruction error; AUROC of the held-out classes",
        description="Score each test image by its reconstruction error (MSE per pixel) and "
        "report the AUROC of the classes the run held out of training "
        "(data.holdout_classes) against the others.",
    )
    anomaly.add_argument("source", metavar="SOURCE", help=source_help)
    anomaly.add_argument("--out", default=None, help="a CSV file for the scores")
    anomaly.set_defaults(handler=_anomaly_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        message = args.handler(args)
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    say(message)
    return 0


if __name__ == "__main__":
    run_command(main)
