"""The weights registry: pretrained weights by name, each with its metadata and preprocessing.

Two sources:

- **shipped**: folders under ``zoo/pretrained/`` (``config.json`` + ``model.safetensors``),
  written by ``scripts/reproduce.py --export`` from a recorded experiment, e.g.
  ``create_model("lenet5", weights="lenet5.digits")``; they need no download;
- **torchvision**: torchvision's ImageNet weights for the architectures it shares with zoo,
  named ``<model>.<torchvision weights name>`` (``resnet50.imagenet1k_v2``), or
  ``weights="torchvision"`` for torchvision's default. torch.hub downloads them on first use
  into ``$TORCH_HOME/hub/checkpoints`` and reads them with ``weights_only=True``; offline, the
  error names the file to fetch and where to put it.

And for ``gpt``, GPT-2's published weights in Hugging Face's layout: a folder
(``config.json`` + ``model.safetensors``, as ``transformers`` saves them) or
``weights="hf:gpt2"`` from the Hub (:mod:`zoo.models.gpt2_weights`).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.error import URLError

import torch
from torch import nn

from zoo.errors import ZooError, unknown_name_error
from zoo.models.gpt2_weights import (
    gpt2_folder,
    gpt2_kwargs,
    is_gpt2_source,
    read_gpt2_state_dict,
)
from zoo.preprocessing import Postprocess, Preprocess
from zoo.registry import ModelInfo, get_model_info, list_models, model_spec, record_spec
from zoo.weights import (
    WEIGHTS_NAME,
    adapt_input_channels,
    checkpoint_model_weights,
    from_torchvision_state_dict,
    load_weights,
    read_checkpoint,
    read_pretrained_config,
    read_safetensors,
    recorded_sha256,
    run_model_folder,
    without_disabled_heads,
)

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
TORCHVISION = "torchvision"
# torchvision runs these ports of Google's weights with ``transform_input=True``, which turns
# ImageNet-normalized inputs into (x - 0.5) / 0.5; zoo's models leave normalization to the
# preprocessing, so their entries normalize with 0.5 / 0.5 directly (the same numbers).
HALF_NORMALIZED = {"googlenet", "inception_v3"}
# torchvision's files for these include the auxiliary classifiers; as torchvision does, the
# models are built with them for Inception v3 and without for GoogLeNet (``aux_logits=``
# overrides; the weights of a disabled head are not loaded).
AUX_LOGITS = {"googlenet": False, "inception_v3": True}
# The task that learns each kind of target a model predicts (Postprocess): a model that does
# not learn it (a GAN trained on labelled digits) gets no postprocess.
PREDICTING_TASKS = {"class": "classification", "value": "regression"}


@dataclass(frozen=True)
class PretrainedWeights:
    """One named set of weights: which model, built how, trained on what, preprocessed how.

    ``meta`` holds ``dataset``, ``categories``, ``input_size``, ``normalization``
    (``mean``/``std``), ``metrics``, ``num_params`` and ``command`` (or torchvision's
    ``recipe``).
    """

    name: str
    model: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]
    load_state_dict: Callable[[], dict[str, torch.Tensor]] = field(repr=False)
    transforms_factory: Callable[[], Callable] | None = field(default=None, repr=False)

    def transforms(self) -> Callable:
        """The preprocessing these weights expect, from an image (PIL or uint8 tensor) to the
        normalized float tensor the model takes."""
        if self.transforms_factory is not None:
            return self.transforms_factory()
        if "config" in self.meta and len(self.meta["input_size"]) != 3:
            from zoo.preprocessing import Preprocess

            return Preprocess.from_config(self.meta["config"])  # feature vectors
        from torchvision.transforms import v2

        channels, height, width = self.meta["input_size"]
        steps: list[Any] = [v2.ToImage()]
        if channels == 1:
            steps.append(v2.Grayscale(num_output_channels=1))
        steps += [
            v2.Resize((height, width), antialias=True),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(self.meta["normalization"]["mean"], self.meta["normalization"]["std"]),
        ]
        return v2.Compose(steps)


# -- shipped folders -------------------------------------------------------------------------
def _shipped_entry(folder: Path) -> PretrainedWeights:
    config = json.loads((folder / "config.json").read_text())
    data = config.get("data", {})
    meta = {
        "dataset": data.get("name"),
        "categories": data.get("class_names"),
        "input_size": data.get("input_shape"),
        "normalization": data.get("normalization"),
        "metrics": config.get("metrics", {}),
        "num_params": config.get("num_params"),
        "command": config.get("command"),
        "source": str(folder),
        "config": config,
    }
    return PretrainedWeights(
        name=folder.name,
        model=config["model"]["name"],
        kwargs=dict(config["model"]["kwargs"]),
        meta=meta,
        load_state_dict=lambda: read_safetensors(
            folder / "model.safetensors", recorded_sha256(config, folder)
        ),
    )


# -- torchvision -----------------------------------------------------------------------------
def torchvision_checkpoint_path(url: str) -> Path:
    """Where torch.hub keeps (and looks for) a downloaded checkpoint."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def _download_torchvision(url: str) -> dict[str, torch.Tensor]:
    path = torchvision_checkpoint_path(url)
    try:
        return torch.hub.load_state_dict_from_url(
            url, map_location="cpu", weights_only=True, check_hash=True, progress=True
        )
    except (URLError, OSError, RuntimeError) as error:
        if path.is_file():
            raise ZooError(f"cannot read {path}: {' '.join(str(error).split())}") from error
        raise ZooError(
            f"cannot download {url} ({type(error).__name__}); offline, fetch that file on a "
            f"machine that is online and place it at {path}."
        ) from error


def _torchvision_entries() -> list[PretrainedWeights]:
    from torchvision.models import get_model_weights
    from torchvision.models import list_models as torchvision_models

    entries = []
    for model in sorted(set(list_models()) & set(torchvision_models())):
        enum = get_model_weights(model)
        for weights in enum:
            meta = weights.meta
            if not meta.get("categories"):
                continue  # feature-extractor weights without a classifier (vgg16's FEATURES)
            transforms_factory = weights.transforms
            if model in HALF_NORMALIZED:
                transforms_factory = partial(weights.transforms, mean=(0.5,) * 3, std=(0.5,) * 3)
            transforms = transforms_factory()
            size = transforms.crop_size[0]
            kwargs = {"num_classes": len(meta["categories"]), "in_channels": 3}
            if model in AUX_LOGITS:
                kwargs["aux_logits"] = AUX_LOGITS[model]
            if "image_size" in get_model_info(model).parameters:
                # a ViT's position table fits one image size (SWAG's end-to-end weights: 384
                # or 512 pixels), which torchvision builds it with: its min_size
                kwargs["image_size"] = meta["min_size"][0]
            entries.append(
                PretrainedWeights(
                    name=f"{model}.{weights.name.lower()}",
                    model=model,
                    kwargs=kwargs,
                    meta={
                        "dataset": "ImageNet-1K",
                        "categories": meta["categories"],
                        "input_size": [3, size, size],
                        "min_size": list(meta["min_size"]),
                        "normalization": {
                            "mean": list(transforms.mean),
                            "std": list(transforms.std),
                        },
                        "metrics": meta["_metrics"]["ImageNet-1K"],
                        "num_params": meta["num_params"],
                        "recipe": meta["recipe"],
                        "url": weights.url,
                        "default": weights is enum.DEFAULT,
                    },
                    load_state_dict=lambda url=weights.url: _download_torchvision(url),
                    transforms_factory=transforms_factory,
                )
            )
    return entries


@cache
def _entries() -> dict[str, PretrainedWeights]:
    entries = {}
    if SHIPPED_DIR.is_dir():
        for folder in sorted(SHIPPED_DIR.iterdir()):
            if (folder / "config.json").is_file():
                entries[folder.name] = _shipped_entry(folder)
    for entry in _torchvision_entries():
        entries[entry.name] = entry
    return entries


def list_pretrained(pattern: str = "*", *, model: str | None = None) -> list[str]:
    """Names of the registered weights matching ``pattern``, optionally for one ``model``."""
    return sorted(
        name
        for name, entry in _entries().items()
        if fnmatch.fnmatchcase(name, pattern) and (model is None or entry.model == model)
    )


def get_pretrained(name: str, *, model: str | None = None) -> PretrainedWeights:
    """The weights entry ``name``; ``"torchvision"`` means torchvision's default for ``model``."""
    entries = _entries()
    if name == TORCHVISION:
        defaults = [e for e in entries.values() if e.model == model and e.meta.get("default")]
        if not defaults:
            raise ZooError(
                f"torchvision has no weights for model {model!r}; it has them for: "
                f"{', '.join(sorted({e.model for e in entries.values() if 'url' in e.meta}))}."
            )
        return defaults[0]
    if name not in entries:
        choices = list_pretrained(model=model) if model else list(entries)
        for_model = f" for model {model!r}" if model else ""
        raise unknown_name_error(
            f"weights{for_model} (a name, a folder, or 'torchvision')",
            name,
            choices or ["none registered"],
        )
    entry = entries[name]
    if model is not None and entry.model != model:
        raise ZooError(f"weights {name!r} are for model {entry.model!r}, not {model!r}.")
    return entry


# -- weights=... for a registered builder: a folder or a name -------------------------------
@dataclass
class WeightsSource:
    """Where a model's weights come from: builder arguments, tensors and metadata."""

    model_name: str
    kwargs: dict[str, Any]
    read_state_dict: Callable[[nn.Module], dict[str, torch.Tensor]]
    meta: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def _folder_source(directory: Path) -> WeightsSource:
    config = read_pretrained_config(directory)
    sha256 = recorded_sha256(config, directory)
    return WeightsSource(
        model_name=config["model"]["name"],
        kwargs=dict(config["model"].get("kwargs", {})),
        # read once the model is built, so that its header is checked against the model first
        read_state_dict=lambda model: read_safetensors(directory / WEIGHTS_NAME, sha256, model),
        meta=config,
        description=str(directory),
    )


def _gpt2_source(model_name: str, weights: str | os.PathLike) -> WeightsSource:
    """GPT-2's weights in Hugging Face's layout, a folder or ``hf:<repo id>``."""
    if model_name != "gpt":
        raise ZooError(
            f"weights {str(weights)!r} are in Hugging Face's layout, which zoo reads for model "
            f"'gpt' only (GPT-2's weights), not for {model_name!r}."
        )
    folder = gpt2_folder(weights)
    return WeightsSource(
        model_name="gpt",
        kwargs=gpt2_kwargs(folder),
        read_state_dict=partial(read_gpt2_state_dict, folder),
        meta={"source": str(folder), "format": "Hugging Face GPT-2"},
        description=str(folder),
    )


def resolve_weights(model_name: str, weights: str | os.PathLike) -> WeightsSource:
    """Turn a ``weights`` argument into tensors and the builder arguments they fit: a folder
    written by :func:`save_pretrained`, a name from the weights registry
    (:mod:`zoo.pretrained`), ``"torchvision"``, or GPT-2's in Hugging Face's layout (a folder
    or ``"hf:<repo id>"``)."""
    if is_gpt2_source(weights):
        return _gpt2_source(model_name, weights)
    path = Path(weights)
    if path.is_dir():
        source = _folder_source(path)
        if source.model_name != model_name:
            raise ZooError(
                f"weights in {str(path)!r} are for model {source.model_name!r}, not {model_name!r}."
            )
        return source
    entry = get_pretrained(str(weights), model=model_name)

    def read_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
        state_dict = entry.load_state_dict()
        if "url" in entry.meta:  # torchvision's keys, mapped to ours where they differ
            state_dict = from_torchvision_state_dict(model_name, state_dict)
        return state_dict

    return WeightsSource(
        model_name=entry.model,
        kwargs=dict(entry.kwargs),
        read_state_dict=read_state_dict,
        meta={"name": entry.name, **entry.meta},
        description=entry.name,
    )


def build_with_weights(
    info: ModelInfo, weights: str | os.PathLike, kwargs: dict[str, Any]
) -> nn.Module:
    """Build ``info``'s model with ``weights``; ``kwargs`` override the saved arguments.

    A different ``num_classes`` re-initializes the head; a different ``in_channels`` adapts
    the first convolution; any other mismatch is refused.
    """
    if not isinstance(weights, str | os.PathLike):
        raise ZooError(
            f"weights= takes a folder path or a registered name such as "
            f"'{info.name}.<data>' (zoo.pretrained.list_pretrained() lists them), got {weights!r}."
        )
    source = resolve_weights(info.name, weights)
    build_kwargs = {**source.kwargs, **kwargs}
    for adaptable in ("num_classes", "in_channels"):
        if adaptable in source.kwargs:
            build_kwargs[adaptable] = source.kwargs[adaptable]
    model = info.builder(**build_kwargs)
    config = source.meta.get("config", source.meta)  # a shipped entry keeps its config.json
    where = f"{source.meta.get('source', source.description)}/config.json"
    check_data_fits_model(config, model_spec(model)["kwargs"], where)
    state_dict = source.read_state_dict(model)
    load_weights(model, without_disabled_heads(model, state_dict), source.description)
    in_channels = kwargs.get("in_channels", build_kwargs.get("in_channels"))
    if in_channels is not None and in_channels != build_kwargs.get("in_channels"):
        adapt_input_channels(model, in_channels)
        log.info("adapted the first convolution of %s to %d input channels", info.name, in_channels)
    num_classes = kwargs.get("num_classes", build_kwargs.get("num_classes"))
    if num_classes is not None and num_classes != build_kwargs.get("num_classes"):
        if not hasattr(model, "reset_classifier"):
            raise ZooError(f"model {info.name!r} cannot change num_classes after loading weights.")
        model.reset_classifier(num_classes)
        log.info(
            "re-initialized the head of %s for %d classes (weights had %d)",
            info.name,
            num_classes,
            build_kwargs["num_classes"],
        )
    record_spec(model, info.name, {**build_kwargs, **kwargs})
    model.pretrained_config = source.meta
    data = config.get("data") or {}
    if data.get("input_kind") in ("image", "vector"):
        # what the training data module did to the inputs: one call away
        model.preprocess = Preprocess.from_config(config)
        model.class_names = model.preprocess.class_names
    # a folder written before target kinds were recorded holds a classifier's weights
    target_kind = data.get("target_kind") or ("class" if "classification" in info.tasks else None)
    if PREDICTING_TASKS.get(target_kind) in info.tasks and data.get("input_kind"):
        # and what a classifier's or regressor's outputs mean: class probabilities, or values
        # in the data's units
        model.postprocess = Postprocess.from_config(
            {**config, "data": {**data, "target_kind": target_kind}}
        )
    return model


def check_data_fits_model(config: Mapping[str, Any], kwargs: Mapping[str, Any], where: str) -> None:
    """Refuse a recorded data description the model it was saved with contradicts (a crafted
    ``config.json``): class names of another count than its outputs (a prediction would
    name a class that does not exist), images of other channels or size, vectors of other
    features. Checked when the folder is loaded, not when a tool first indexes them."""
    data = config.get("data") or {}
    names, shape, kind = data.get("class_names"), data.get("input_shape"), data.get("input_kind")
    num_classes = kwargs.get("num_classes")
    if names and isinstance(num_classes, int) and len(names) != num_classes:
        raise ZooError(
            f"{where}: data.class_names holds {len(names)} names, but the model has "
            f"{num_classes} outputs (model.kwargs.num_classes); allowed: one name per output."
        )
    if not shape:
        return
    expected: list[tuple[str, int, int]] = []  # (argument, its value, the dimension it sets)
    if kind == "image" and len(shape) == 3:
        size = kwargs.get("input_size", kwargs.get("image_size"))
        expected += [("in_channels", kwargs.get("in_channels"), 0)]
        expected += [("input_size", size, 1), ("input_size", size, 2)]
    elif kind == "vector" and len(shape) == 1:
        expected.append(("in_features", kwargs.get("in_features"), 0))
    for argument, value, dim in expected:
        if isinstance(value, int) and shape[dim] != value:
            raise ZooError(
                f"{where}: data.input_shape is {shape}, but the model was built with "
                f"{argument}={value}; allowed: inputs of the shape the model takes."
            )


def load_pretrained(source: str | os.PathLike, **overrides: Any) -> nn.Module:
    """Rebuild the model saved in the folder ``source`` (an exported model folder, or a
    training run's folder holding one in ``model/``; or weights named by the registry,
    ``"lenet5.digits"``) and load its weights.

    GPT-2's weights in Hugging Face's layout load too, a folder or ``"hf:gpt2"``
    (:mod:`zoo.models.gpt2_weights`).

    The folder's ``config.json`` is available afterwards as ``model.pretrained_config``; a
    model exported by a training run also gets ``model.preprocess`` (raw images or vectors
    to the batch it takes, :class:`zoo.preprocessing.Preprocess`), ``model.postprocess``
    (its outputs to class probabilities, or to values in the data's units,
    :class:`zoo.preprocessing.Postprocess`) and ``model.class_names``.
    """
    if not isinstance(source, str | os.PathLike):
        raise ZooError(
            f"weights are a folder path or a registered name such as 'lenet5.digits', got "
            f"{source!r}."
        )
    if is_gpt2_source(source):  # GPT-2's weights in Hugging Face's layout
        return get_model_info("gpt").builder(weights=source, **overrides)
    if not Path(source).is_dir():
        names = list_pretrained()
        if str(source) in names:
            model_name = get_pretrained(str(source)).model
            return get_model_info(model_name).builder(weights=str(source), **overrides)
        if not Path(source).exists():
            shipped = [n for n in names if "." in n and not n.split(".")[1].startswith("imagenet")]
            raise ZooError(
                f"{str(source)!r} is neither a pretrained-model folder (config.json + "
                f"model.safetensors) nor registered weights; shipped: {', '.join(shipped)} "
                "(zoo.pretrained.list_pretrained() lists all)."
            )
    folder = run_model_folder(source)  # a training run's folder: its exported model/
    name = read_pretrained_config(folder)["model"]["name"]
    return get_model_info(name).builder(weights=folder, **overrides)


def load_checkpoint(path: str | os.PathLike) -> nn.Module:
    """Rebuild the plain model from a zoo training checkpoint, without the run's config.

    The task stores the builder name and arguments in the checkpoint, so nothing else is
    needed; nothing is unpickled.
    """
    checkpoint = read_checkpoint(path)
    spec = (checkpoint.get("zoo") or {}).get("model")
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ZooError(f"{str(path)!r} is not a zoo checkpoint: it records no model builder.")
    model = get_model_info(spec["name"]).builder(**spec.get("kwargs", {}))
    load_weights(model, checkpoint_model_weights(checkpoint, path), str(path))
    return model
