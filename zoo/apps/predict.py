"""Classify images with a trained model: ``python -m zoo.predict SOURCE IMAGES...``.

SOURCE is an exported model folder (``config.json`` + ``model.safetensors``), a run folder
(its ``model/`` folder is used) or the name of shipped weights (``lenet5.digits``). IMAGES
are image files or folders of them. Each image is preprocessed as the model's training data
was (:mod:`zoo.preprocessing`), and the most probable classes are printed with their
probabilities, or written as JSON with ``--json``::

    python -m zoo.predict outputs/runs/<run> digits/*.png --top 3
    python -m zoo.predict lenet5.digits my_digit.png --json

An image that cannot be read is named on stderr and skipped; the others are classified and
the exit status is 1 (2 when nothing could be done).

A forecaster (a run on forecasting data) takes a CSV file of the series instead and prints
the next values after its last window (:mod:`zoo.apps.forecast`)::

    python -m zoo.predict outputs/runs/<run> series.csv [--column NAME] [--json]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.apps.command import ArgumentParser, run_command, say
from zoo.apps.forecast import forecast_main, recorded_forecast
from zoo.errors import ZooError
from zoo.models import get_model_info
from zoo.models.layers import evaluating
from zoo.models.pretrained import load_pretrained
from zoo.preprocessing import Preprocess, image_files
from zoo.weights import model_spec, read_pretrained_config, run_model_folder


def load_for_prediction(source: str) -> nn.Module:
    """The model at ``source`` (model folder, run folder or shipped weights name), in eval
    mode, with its ``preprocess`` and ``class_names``."""
    path = run_model_folder(source)
    # the folder's own record of its inputs, read before its weights (shipped weights are
    # all image models)
    kind = (
        (read_pretrained_config(path).get("data") or {}).get("input_kind")
        if path.is_dir()
        else None
    )
    if kind not in (None, "image"):
        raise ZooError(
            f"{source!r} takes {kind.removesuffix('s')} inputs; zoo.predict reads images "
            "(for text, python -m zoo.generate; for other inputs, zoo.load_pretrained in Python)."
        )
    model = load_pretrained(path if path.is_dir() else source)
    tasks = get_model_info(model_spec(model)["name"]).tasks
    if "classification" not in tasks:
        command = {
            "autoencoder": "python -m zoo.autoencode",
            "gan": "python -m zoo.sample",
        }
        hint = command.get(tasks[0], "zoo.load_pretrained in Python")
        raise ZooError(
            f"{source!r} is a {model_spec(model)['name']} ({tasks[0]}), not a classifier; "
            f"zoo.apps.predict classifies images (for this model: {hint})."
        )
    if not hasattr(model, "preprocess"):
        raise ZooError(f"{source!r} records no preprocessing (no data description).")
    return model.eval()


def predict(
    model: nn.Module,
    files: Sequence[Path],
    *,
    top: int = 5,
    batch_size: int = 64,
    on_error: Callable[[Path, ZooError], None] | None = None,
) -> list[dict[str, Any]]:
    """The ``top`` classes of each image file, most probable first, the model in eval mode
    (its mode is restored after) on its own device. A file that cannot be read raises its
    ``ZooError``; with ``on_error`` given, it is handed to it and skipped."""
    preprocess: Preprocess = model.preprocess
    with evaluating(model), torch.no_grad():
        return _predict(model, preprocess, files, top, batch_size, on_error)


def _predict(
    model: nn.Module,
    preprocess: Preprocess,
    files: Sequence[Path],
    top: int,
    batch_size: int,
    on_error: Callable[[Path, ZooError], None] | None,
) -> list[dict[str, Any]]:
    device = next(model.parameters()).device
    names = model.class_names or [str(i) for i in range(_num_outputs(model, preprocess))]
    results = []
    for start in range(0, len(files), batch_size):
        chunk = list(files[start : start + batch_size])
        chunk, inputs = _readable(chunk, preprocess, on_error)
        if not chunk:
            continue
        probabilities = model(inputs.to(device)).softmax(dim=-1).cpu()  # (B, classes)
        _check_finite(model, probabilities, chunk)
        values, indices = probabilities.topk(min(top, probabilities.shape[-1]), dim=-1)
        for file, row_values, row_indices in zip(chunk, values.tolist(), indices.tolist()):
            results.append(
                {
                    "file": str(file),
                    "top": [
                        {"class": names[i], "index": i, "probability": p}
                        for p, i in zip(row_values, row_indices)
                    ],
                }
            )
    return results


def _check_finite(model: nn.Module, probabilities: torch.Tensor, files: list[Path]) -> None:
    """Refuse NaN or infinite probabilities (which topk would rank as if they were numbers),
    naming the first image and the weights that are not finite."""
    finite = torch.isfinite(probabilities).all(dim=-1)  # (B,)
    if finite.all():
        return
    first = files[int((~finite).nonzero()[0])]
    broken = [
        n for n, t in model.state_dict().items() if t.is_floating_point() and not t.isfinite().all()
    ]
    cause = (
        f"its weights {', '.join(broken[:3])}{' ...' if len(broken) > 3 else ''} hold NaN or inf"
        if broken
        else "its weights are finite: the image overflows it"
    )
    raise ZooError(f"the model's outputs for {str(first)!r} are not finite numbers ({cause}).")


def _readable(
    files: list[Path], preprocess: Preprocess, on_error: Callable[[Path, ZooError], None] | None
) -> tuple[list[Path], torch.Tensor | None]:
    """The files of a batch that can be read and their preprocessed batch: all of them at
    once, or, when one fails and ``on_error`` takes failures, one by one."""
    try:
        return files, preprocess(files)
    except ZooError:
        if on_error is None:
            raise
    readable, inputs = [], []
    for file in files:
        try:
            inputs.append(preprocess([file]))
        except ZooError as error:
            on_error(file, error)
            continue
        readable.append(file)
    return readable, torch.cat(inputs) if inputs else None


def _num_outputs(model: nn.Module, preprocess: Preprocess) -> int:
    example = torch.zeros(1, *preprocess.input_shape, device=next(model.parameters()).device)
    return int(model(example).shape[-1])


def _forecast(args: Any) -> int:
    """A forecaster's branch: the next values of the series in the one CSV file given."""
    return forecast_main(args.source, args.images, column=args.column, as_json=args.json)


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m zoo.predict",
        description="Classify images with a trained zoo model.",
    )
    parser.add_argument("source", help="a model folder, a run folder, or shipped weights' name")
    parser.add_argument("images", nargs="+", help="image files or folders of images")
    parser.add_argument("--top", type=int, default=3, help="how many classes to show (3)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (64)")
    parser.add_argument("--json", action="store_true", help="write the results as JSON")
    parser.add_argument("--column", help="forecasters: the CSV column (the training column)")
    args = parser.parse_args(argv)
    try:
        if recorded_forecast(args.source) is not None:
            return _forecast(args)
        if args.top < 1 or args.batch_size < 1:
            raise ZooError(
                f"--top and --batch-size must be >= 1, got {args.top} and {args.batch_size}."
            )
        model = load_for_prediction(args.source)
        if model.preprocess.input_kind != "image":
            raise ZooError(
                f"{args.source!r} takes {model.preprocess.input_kind.removesuffix('s')} inputs; "
                "zoo.apps.predict reads images (use zoo.load_pretrained(...).preprocess on arrays)."
            )
        files = image_files(args.images)
        failures: list[ZooError] = []
        results = predict(
            model,
            files,
            top=args.top,
            batch_size=args.batch_size,
            on_error=lambda file, error: failures.append(error),
        )
        if not results:  # nothing could be read: one error, as for any other mistake
            raise (
                failures[0]
                if len(failures) == 1
                else ZooError(
                    f"none of the {len(files)} images could be read; the first: {failures[0]}"
                )
            )
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        say(json.dumps(results, indent=2))
    else:
        for result in results:
            best = ", ".join(f"{t['class']} ({t['probability']:.3f})" for t in result["top"])
            say(f"{result['file']}: {best}")
    for error in failures:  # the others were classified: say which were not, exit 1
        print(f"error: {error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    run_command(main)
