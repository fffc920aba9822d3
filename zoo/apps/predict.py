"""Predict with a trained model: ``python -m zoo.predict SOURCE INPUTS...``.

SOURCE is an exported model folder (``config.json`` + ``model.safetensors``), a run folder
(its ``model/`` folder is used) or the name of shipped weights (``lenet5.digits``). INPUTS
are what the model's training data gave it, as the folder's data description records
(``data.input_kind``), each kind read by one function of :data:`READERS`:

- images (``image``): image files or folders of them;
- table rows (``vector``, ``data=arrays``): ``.csv`` files (the feature columns by name, in
  any order; other columns, such as the target, are left out), ``.npy`` or ``.npz`` files.

Text models are pointed to ``python -m zoo.generate``; other inputs (windows of a series) are
refused in one line. Each input is preprocessed as the training data was
(:class:`zoo.preprocessing.Preprocess`) and the model's outputs postprocessed
(:class:`zoo.preprocessing.Postprocess`): a classifier's most probable classes with their
probabilities, a regressor's values in the data's own units; printed one line per input, or
written as one JSON document with ``--json``::

    python -m zoo.predict outputs/runs/<run> digits/*.png --top 3
    python -m zoo.predict lenet5.digits my_digit.png --json
    python -m zoo.predict outputs/runs/<table run> new_rows.csv

An input far outside the training data (a dark-on-light digit for a model trained on
light-on-dark ones, a table row whose feature lies many standard deviations beyond the
training rows) is still predicted, and named on stderr in one warning line that says what the
model expects (:meth:`zoo.preprocessing.Preprocess.unusual`). An input that cannot be read is
named on stderr and skipped; the others are predicted and the exit status is 1 (2 when
nothing could be done).

A forecaster (a run on forecasting data) takes a CSV file of the series instead and prints
the next values after its last window (:mod:`zoo.apps.forecast`)::

    python -m zoo.predict outputs/runs/<run> series.csv [--column NAME] [--json]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.apps.command import ArgumentParser, run_command, say
from zoo.apps.forecast import forecast_main, recorded_forecast
from zoo.data.arrays import read_inputs
from zoo.errors import ZooError
from zoo.models import get_model_info
from zoo.models.layers import evaluating
from zoo.models.pretrained import load_pretrained
from zoo.preprocessing import Preprocess, image_files
from zoo.weights import model_spec, read_pretrained_config, run_model_folder

OnError = Callable[[str, ZooError], None]


@dataclass
class Chunk:
    """Inputs read for one forward pass: what each is (``{"file": ...}``, and ``"row"`` for
    a table's rows) and their batch as :meth:`Preprocess.prepare` gives it."""

    labels: list[dict[str, Any]]
    batch: torch.Tensor


def read_images(
    model: nn.Module, paths: Sequence[str], batch_size: int, on_error: OnError | None
) -> Iterator[Chunk]:
    """Image files, and the image files inside folders, in batches of ``batch_size``."""
    files = image_files(paths)
    for start in range(0, len(files), batch_size):
        chunk, batch = _readable(files[start : start + batch_size], model.preprocess, on_error)
        if chunk:
            yield Chunk([{"file": str(file)} for file in chunk], batch)


def read_rows(
    model: nn.Module, paths: Sequence[str], batch_size: int, on_error: OnError | None
) -> Iterator[Chunk]:
    """The rows of ``.csv``, ``.npy`` and ``.npz`` files (:func:`zoo.data.arrays.read_inputs`:
    a CSV's feature columns by the names the model was trained with), in batches."""
    preprocess: Preprocess = model.preprocess
    data = model.pretrained_config.get("data") or {}
    for path in paths:
        try:
            rows = read_inputs(
                path,
                features=preprocess.input_shape[-1],
                feature_names=preprocess.feature_names,
                x_key=data.get("x_key") or "x",
            )
        except ZooError as error:
            if on_error is None:
                raise
            on_error(path, error)
            continue
        for start in range(0, len(rows), batch_size):
            batch = preprocess.prepare(rows[start : start + batch_size])
            labels = [{"file": str(path), "row": start + i} for i in range(len(batch))]
            yield Chunk(labels, batch)


# How predict reads each input kind (the data description's input_kind): one function each.
READERS: dict[str, Callable[..., Iterator[Chunk]]] = {"image": read_images, "vector": read_rows}


def load_for_prediction(source: str) -> nn.Module:
    """The model at ``source`` (model folder, run folder or shipped weights name), in eval
    mode, with its ``preprocess``, ``postprocess`` and ``class_names``; one the zoo cannot
    predict with is refused (what it records is read before its weights)."""
    path = run_model_folder(source)
    if path.is_dir():
        _check_predictable(source, read_pretrained_config(path).get("data") or {})
    model = load_pretrained(path if path.is_dir() else source)
    _check_predictable(
        source, model.pretrained_config.get("config", model.pretrained_config).get("data") or {}
    )
    if not hasattr(model, "preprocess"):
        raise ZooError(f"{source!r} records no preprocessing (no data description).")
    if not hasattr(model, "postprocess"):  # it learned no classes or values
        name = model_spec(model)["name"]
        tasks = get_model_info(name).tasks
        command = {
            "autoencoder": "python -m zoo.autoencode",
            "gan": "python -m zoo.sample",
        }
        hint = command.get(tasks[0], "zoo.load_pretrained in Python")
        raise ZooError(
            f"{source!r} is a {name} ({tasks[0]}), not a classifier or regressor; "
            f"zoo.predict predicts classes and values (for this model: {hint})."
        )
    return model.eval()


def _check_predictable(source: str, data: dict[str, Any]) -> None:
    """Refuse a model whose recorded inputs no reader of :data:`READERS` reads, in one line
    naming where to go instead."""
    if data.get("target_kind") == "next_token":
        raise ZooError(
            f"{source!r} is a language model; it continues a text prompt: python -m "
            f"zoo.generate {source} --prompt TEXT"
        )
    kind = data.get("input_kind")
    if kind is not None and kind not in READERS:
        raise ZooError(
            f"{source!r} takes {kind} inputs; zoo.predict reads "
            f"{' and '.join(f'{k}s' for k in READERS)} (for other inputs, "
            "zoo.load_pretrained in Python)."
        )


def predict(
    model: nn.Module,
    inputs: Sequence[str | Path],
    *,
    top: int = 5,
    batch_size: int = 64,
    on_error: OnError | None = None,
    on_unusual: Callable[[dict[str, Any], str], None] | None = None,
) -> list[dict[str, Any]]:
    """The predictions for ``inputs`` (image files or folders, or table files, as the model's
    data gave them), the model in eval mode (its mode is restored after) on its own device:
    for each input, what it is (``file``, and ``row`` for a table's rows) and the ``top``
    classes, most probable first, or the ``value`` in the data's units; ``warning`` for an
    input far outside the training data (also handed to ``on_unusual``). An input that
    cannot be read raises its ``ZooError``; with ``on_error`` given, it is handed to it and
    skipped."""
    kind = model.preprocess.input_kind
    if kind not in READERS:
        raise ZooError(f"zoo.predict reads no {kind} inputs; it reads {', '.join(READERS)}.")
    paths = [str(path) for path in inputs]
    results = []
    with evaluating(model), torch.no_grad():
        for chunk in READERS[kind](model, paths, batch_size, on_error):
            results += _predict_chunk(model, chunk, top, on_unusual)
    return results


def _predict_chunk(
    model: nn.Module,
    chunk: Chunk,
    top: int,
    on_unusual: Callable[[dict[str, Any], str], None] | None,
) -> list[dict[str, Any]]:
    device = next(model.parameters()).device
    warnings = dict(model.preprocess.unusual(chunk.batch))
    batch = model.preprocess.standardize(chunk.batch)
    outputs = model.postprocess(model(batch.to(device))).cpu()  # (B, classes) or (B, *shape)
    _check_finite(model, outputs, chunk.labels)
    results = []
    if model.postprocess.target_kind == "class":
        names = model.class_names or [str(i) for i in range(outputs.shape[-1])]
        values, indices = outputs.topk(min(top, outputs.shape[-1]), dim=-1)
        for label, row_values, row_indices in zip(chunk.labels, values.tolist(), indices.tolist()):
            ranked = [
                {"class": names[i], "index": i, "probability": p}
                for p, i in zip(row_values, row_indices)
            ]
            results.append({**label, "top": ranked})
    else:
        for label, value in zip(chunk.labels, outputs):
            results.append(
                {**label, "value": value.item() if value.numel() == 1 else value.tolist()}
            )
    for index, description in warnings.items():
        results[index]["warning"] = description
        if on_unusual is not None:
            on_unusual(chunk.labels[index], description)
    return results


def _describe(label: dict[str, Any]) -> str:
    """An input as the output names it: its file, and its row in a table."""
    return f"{label['file']} row {label['row']}" if "row" in label else label["file"]


def _check_finite(model: nn.Module, outputs: torch.Tensor, labels: list[dict[str, Any]]) -> None:
    """Refuse NaN or infinite outputs (which topk would rank as if they were numbers),
    naming the first input and the weights that are not finite."""
    finite = torch.isfinite(outputs.flatten(1)).all(dim=-1)  # (B,)
    if finite.all():
        return
    first = _describe(labels[int((~finite).nonzero()[0])])
    broken = [
        n for n, t in model.state_dict().items() if t.is_floating_point() and not t.isfinite().all()
    ]
    cause = (
        f"its weights {', '.join(broken[:3])}{' ...' if len(broken) > 3 else ''} hold NaN or inf"
        if broken
        else "its weights are finite: the input overflows it"
    )
    raise ZooError(f"the model's outputs for {first!r} are not finite numbers ({cause}).")


def _readable(
    files: list[Path], preprocess: Preprocess, on_error: OnError | None
) -> tuple[list[Path], torch.Tensor | None]:
    """The files of a batch that can be read and their prepared batch: all of them at once,
    or, when one fails and ``on_error`` takes failures, one by one."""
    try:
        return files, preprocess.prepare(files)
    except ZooError:
        if on_error is None:
            raise
    readable, inputs = [], []
    for file in files:
        try:
            inputs.append(preprocess.prepare([file]))
        except ZooError as error:
            on_error(str(file), error)
            continue
        readable.append(file)
    return readable, torch.cat(inputs) if inputs else None


def _shown(result: dict[str, Any], target_name: str | None) -> str:
    """One prediction as a line of text."""
    if "top" in result:
        return ", ".join(f"{t['class']} ({t['probability']:.3f})" for t in result["top"])
    value = result["value"]
    shown = f"{value:.6g}" if isinstance(value, float) else json.dumps(value)
    return f"{target_name} {shown}" if target_name else shown


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m zoo.predict",
        description="Predict with a trained zoo model: classes or values, for images or table "
        "rows.",
    )
    parser.add_argument("source", help="a model folder, a run folder, or shipped weights' name")
    parser.add_argument(
        "inputs",
        nargs="+",
        help="image files or folders (image models); .csv, .npy or .npz files (table models)",
    )
    parser.add_argument("--top", type=int, default=3, help="how many classes to show (3)")
    parser.add_argument("--batch-size", type=int, default=64, help="inputs per batch (64)")
    parser.add_argument("--json", action="store_true", help="write the results as JSON")
    parser.add_argument("--column", help="forecasters: the CSV column (the training column)")
    args = parser.parse_args(argv)
    unusual: list[str] = []
    try:
        if recorded_forecast(args.source) is not None:  # the next values of a CSV's series
            return forecast_main(args.source, args.inputs, column=args.column, as_json=args.json)
        if args.top < 1 or args.batch_size < 1:
            raise ZooError(
                f"--top and --batch-size must be >= 1, got {args.top} and {args.batch_size}."
            )
        model = load_for_prediction(args.source)
        failures: list[ZooError] = []
        results = predict(
            model,
            args.inputs,
            top=args.top,
            batch_size=args.batch_size,
            on_error=lambda path, error: failures.append(error),
            on_unusual=lambda label, description: unusual.append(
                f"warning: {_describe(label)} is unlike the model's training data: "
                f"{description}; the model expects inputs like those, so its prediction may "
                "mean little."
            ),
        )
        if not results:  # nothing could be read: one error, as for any other mistake
            raise (
                failures[0]
                if len(failures) == 1
                else ZooError(
                    f"none of the {len(failures)} inputs could be read; the first: {failures[0]}"
                )
            )
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in unusual:
        print(line, file=sys.stderr)
    if args.json:
        say(json.dumps(results, indent=2))
    else:
        target_name = model.postprocess.target_name
        for result in results:
            say(f"{_describe(result)}: {_shown(result, target_name)}")
    for error in failures:  # the others were predicted: say which were not, exit 1
        print(f"error: {error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    run_command(main)
