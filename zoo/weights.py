"""Saving and loading weights: a folder of ``config.json`` + ``model.safetensors``.

The folder is the unit of a pretrained model (as huggingface_hub's ``PyTorchModelHubMixin``):
``config.json`` names the builder and its arguments, so :func:`load_pretrained` rebuilds the
model from the registry and loads tensors with safetensors. Nothing is ever unpickled.

Loading into a model with another ``num_classes`` re-initializes the head; another
``in_channels`` adapts the first convolution's filters (as timm's ``adapt_input_conv``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load, save
from torch import nn

from zoo.config.values import is_int, is_int_or_float
from zoo.errors import ZooError

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1
# config.json's {"model.safetensors": "<sha256 hex of the file>"} (see save_pretrained)
SHA256_KEY = "sha256"
# A training checkpoint's digest of its own contents (see checkpoint_digest)
CHECKPOINT_DIGEST_KEY = "zoo_sha256"


def partial_path(path: Path) -> Path:
    """The temporary file :func:`atomic_write_bytes` writes ``path`` through."""
    return path.with_name(f".{path.name}.partial")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it (flushed and fsynced)
    and a rename, so a crash at any moment leaves either the old file or the new one, never
    half of one. A failed write removes the temporary file; one left by a killed process has
    a fixed name (:func:`partial_path`), so the next write of ``path`` replaces it instead of
    leaking another. The folder is fsynced after the rename, so the new name is durable.

    An ``OSError`` (a full disk, a read-only folder, ...) carries the file it was writing as
    its ``zoo_write_path`` attribute: :func:`zoo.training.stopping.write_failure` reports it in one
    line."""
    tmp = partial_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as error:
        if not hasattr(error, "zoo_write_path"):
            error.zoo_write_path = path
        raise


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinite floats replaced by None (strict JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def write_json(path: str | os.PathLike, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as indented, strict JSON (NaN and infinities as null), atomically."""
    text = json.dumps(
        _finite(payload), indent=2, sort_keys=False, default=_json_default, allow_nan=False
    )
    atomic_write_bytes(Path(path), (text + "\n").encode())


def _json_default(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def model_spec(model: nn.Module) -> dict[str, Any]:
    """The ``{"name", "kwargs"}`` a registry builder recorded on ``model``
    (:func:`zoo.registry.model_spec`); a ``ZooError`` if none did."""
    from zoo.registry import model_spec as recorded_spec

    spec = recorded_spec(model)
    if spec is None:
        raise ZooError(
            f"{type(model).__name__} was not built by zoo.create_model, so its builder is "
            "unknown; build it with zoo.create_model(name, ...) to save it with save_pretrained."
        )
    return spec


def _shared_aliases(model: nn.Module) -> dict[str, str]:
    """Maps each state-dict key to the first key sharing its storage (tied weights)."""
    first: dict[tuple[int, int, tuple[int, ...]], str] = {}
    aliases: dict[str, str] = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        identity = (
            tensor.untyped_storage().data_ptr(),
            tensor.storage_offset(),
            tuple(tensor.shape),
        )
        aliases[key] = first.setdefault(identity, key) if tensor.numel() > 0 else key
    return aliases


def _unique_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with tied tensors stored once (safetensors refuses shared storage)."""
    aliases = _shared_aliases(model)
    return {
        key: tensor.detach().contiguous().cpu()
        for key, tensor in model.state_dict().items()
        if aliases[key] == key
    }


def save_pretrained(model: nn.Module, directory: str | os.PathLike, **metadata: Any) -> Path:
    """Write ``model`` to ``directory`` as ``config.json`` + ``model.safetensors``.

    ``metadata`` (data normalization, class names, metrics, the command that produced the
    model, ...) goes into ``config.json`` beside the builder name and arguments.

    ``config.json``'s ``"sha256"`` maps ``"model.safetensors"`` to the sha256 (hex) of the
    file's bytes: every read checks it (:func:`read_safetensors`), so a file damaged after
    it was written is named instead of loaded. Folders written without it still load.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ZooError(
            f"cannot save the model into {str(directory)!r}: it is a file, not a folder."
        )
    directory.mkdir(parents=True, exist_ok=True)
    spec = model_spec(model)
    weights = save(_unique_state_dict(model), metadata={"model": spec["name"]})
    config = {
        "format_version": FORMAT_VERSION,
        "model": spec,
        **metadata,
        SHA256_KEY: {WEIGHTS_NAME: hashlib.sha256(weights).hexdigest()},
    }
    atomic_write_bytes(directory / WEIGHTS_NAME, weights)
    write_json(directory / CONFIG_NAME, config)
    return directory


def run_model_folder(path: str | os.PathLike) -> Path:
    """``path`` itself, or the exported ``model/`` folder when ``path`` is a training run's
    folder (one without a config.json of its own)."""
    path = Path(path)
    if path.is_dir() and not (path / CONFIG_NAME).is_file() and (path / "model").is_dir():
        return path / "model"
    return path


def _training_checkpoints_hint(path: Path) -> str:
    """What to use instead when ``path`` is a training checkpoint or a run's checkpoints
    folder, which hold training state rather than an exported model; "" otherwise."""
    if path.is_file() and path.suffix == ".ckpt":
        what, run, file = (
            "is a training checkpoint, not a pretrained-model folder",
            path.parent.parent,
            str(path),
        )
    elif path.is_dir() and path.name == "checkpoints" and any(path.glob("*.ckpt")):
        what, run, file = (
            "holds training checkpoints, not a pretrained model",
            path.parent,
            "<file>.ckpt",
        )
    else:
        return ""
    exported = run / "model"
    if (exported / CONFIG_NAME).is_file():
        return f"{what}: the run's exported model is {str(exported)!r}"
    return (
        f"{what}: python train.py <the run's overrides> train=false ckpt_path={file} tests "
        "and exports its weights (zoo.load_checkpoint reads one in Python)"
    )


def read_pretrained_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``config.json`` of a pretrained folder; a ``ZooError`` if it is not one."""
    directory = Path(directory)
    checkpoints = _training_checkpoints_hint(directory)
    if checkpoints:
        raise ZooError(f"{str(directory)!r} {checkpoints}.")
    if directory.is_file() and directory.name in (CONFIG_NAME, WEIGHTS_NAME):
        raise ZooError(
            f"{str(directory)!r} is one file of a pretrained-model folder; pass the folder, "
            f"{str(directory.parent)!r}."
        )
    missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if not (directory / n).is_file()]
    if missing:
        hint = f"expected {CONFIG_NAME} and {WEIGHTS_NAME}, as written by zoo.save_pretrained"
        if (directory / "checkpoints").is_dir():
            hint = (
                "it is a training run's folder without an exported model/: the run stopped "
                "before the end; resume it to finish and export (see the README's Resume), or "
                "read a checkpoint with zoo.load_checkpoint"
            )
        raise ZooError(
            f"{str(directory)!r} is not a pretrained-model folder: missing "
            f"{', '.join(missing)} ({hint})."
        )
    path = directory / CONFIG_NAME
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ZooError(f"{str(path)!r} is not valid JSON ({error}).") from None
    model = config.get("model") if isinstance(config, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise ZooError(f"{str(path)!r} does not name a model builder (model.name).")
    version = config.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        # a later zoo's folder: its fields may mean what this version cannot read
        raise ZooError(
            f"{str(path)!r} has format_version {version!r}; this zoo reads version "
            f"{FORMAT_VERSION} (a folder written by a later zoo needs that zoo)."
        )
    if not isinstance(model.get("kwargs", {}), dict):
        raise ZooError(f"{str(path)!r}: model.kwargs must be an object of builder arguments.")
    if "weights" in model.get("kwargs", {}):
        # save_pretrained never records it: the folder's weights are its own file, and one
        # naming another folder (or itself) would be followed in a cycle
        raise ZooError(
            f"{str(path)!r}: model.kwargs.weights is {model['kwargs']['weights']!r}; allowed: "
            f"no weights entry (a folder's weights are its own {WEIGHTS_NAME}, so a folder "
            "naming other weights, or itself, is refused)."
        )
    from zoo.config.recorded import check_data_description

    check_data_description(config.get("data"), repr(str(path)))
    return config


def recorded_sha256(config: Mapping[str, Any], directory: str | os.PathLike) -> str | None:
    """The sha256 that ``config`` (the ``config.json`` of ``directory``) recorded for its
    ``model.safetensors`` when it was written; None for a folder written before digests were
    recorded."""
    recorded = config.get(SHA256_KEY)
    if recorded is None:
        return None
    digest = recorded.get(WEIGHTS_NAME) if isinstance(recorded, Mapping) else None
    if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
        raise ZooError(
            f"{str(Path(directory) / CONFIG_NAME)!r}: {SHA256_KEY} must map {WEIGHTS_NAME!r} "
            f"to the 64 hex digits of its sha256, as save_pretrained writes it; got {recorded!r}."
        )
    return digest


# A weights file may hold at most this many times the bytes of the model's own tensors (float64
# copies of float32 weights, heads the model is built without), plus its header.
MAX_WEIGHTS_FILE_RATIO = 4


def _unreadable_safetensors(path: str | os.PathLike) -> ZooError:
    return ZooError(
        f"{str(path)!r} is not a readable safetensors file (empty, truncated or another format)."
    )


def safetensors_shapes(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes a safetensors file declares, from its header alone (no
    tensor is read); a ``ZooError`` naming the file if it is not one."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as file:
            return {key: tuple(file.get_slice(key).get_shape()) for key in file.keys()}  # noqa: SIM118
    except Exception:  # safetensors' SafetensorError, OSError, ...
        raise _unreadable_safetensors(path) from None


def check_safetensors_fit(path: str | os.PathLike, model: nn.Module) -> None:
    """Refuse a weights file that cannot fit ``model``, before its tensors are read: its header
    must name the model's tensors with their shapes (as :func:`load_weights` requires), and
    the file must not be much larger than they need. A crafted file with a recomputed sha256
    could otherwise make the loader read gigabytes before refusing it."""
    file = Path(path)
    shapes = safetensors_shapes(file)
    problems = fit_problems(model, shapes, optional_heads=True)
    if problems:
        raise ZooError(f"weights {str(file)!r} do not fit {type(model).__name__}: {problems}.")
    needed = sum(t.numel() * t.element_size() for t in _unique_tensors(model))
    limit = MAX_WEIGHTS_FILE_RATIO * needed + 1024 * (len(shapes) + 1024)
    size = file.stat().st_size
    if size > limit:
        raise ZooError(
            f"{str(file)!r} holds {size:,} bytes, more than the {limit:,} that "
            f"{type(model).__name__}'s {needed:,} bytes of tensors can take; it is not "
            "weights written for this model."
        )


def _unique_tensors(model: nn.Module) -> list[torch.Tensor]:
    aliases = _shared_aliases(model)
    return [t for k, t in model.state_dict(keep_vars=True).items() if aliases[k] == k]


def read_safetensors(
    path: str | os.PathLike, sha256: str | None = None, model: nn.Module | None = None
) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a ``ZooError`` naming it if it is not one, or if
    ``sha256`` is given and the file's bytes hash otherwise (it was damaged after it was
    written). With ``model`` given, its header is checked against the model first
    (:func:`check_safetensors_fit`). The file is read once: parsed and hashed from the same
    bytes."""
    if model is not None:
        check_safetensors_fit(path, model)
    try:
        data = Path(path).read_bytes()
        tensors = load(data)
    except Exception:  # safetensors raises its own SafetensorError, OSError, ...
        raise _unreadable_safetensors(path) from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ZooError(
            f"{str(path)!r} is damaged: its sha256 differs from the one {CONFIG_NAME} recorded "
            "when it was written (re-export or re-download it)."
        )
    return tensors


# torchvision's ViT keys -> zoo's (zoo.models.vit): the encoder layers carry
# torch.nn.TransformerEncoderLayer's names, shared with the transformer model. Applied in
# order, each to the whole key. The MLP's linears are ``mlp.0``/``mlp.3`` in torchvision's
# modules and ``mlp.linear_1``/``mlp.linear_2`` in its weight files saved before torchvision
# 0.14 (which its MLPBlock renames on loading): both map.
VIT_KEY_MAPPING = (
    (r"^encoder\.pos_embedding$", "positional.weight"),
    (r"^encoder\.layers\.encoder_layer_(\d+)\.", r"encoder.layers.\1."),
    (r"^(encoder\.layers\.\d+)\.ln_1\.", r"\1.norm1."),
    (r"^(encoder\.layers\.\d+)\.self_attention\.", r"\1.self_attn."),
    (r"^(encoder\.layers\.\d+)\.ln_2\.", r"\1.norm2."),
    (r"^(encoder\.layers\.\d+)\.mlp\.(0|linear_1)\.", r"\1.linear1."),
    (r"^(encoder\.layers\.\d+)\.mlp\.(3|linear_2)\.", r"\1.linear2."),
    (r"^encoder\.ln\.", "encoder.norm."),
    (r"^heads\.head\.", "head."),
)
VIT_MODELS = ("vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32")


def vit_key_from_torchvision(key: str) -> str:
    """One torchvision ViT state-dict key in zoo's names (see :data:`VIT_KEY_MAPPING`)."""
    for pattern, replacement in VIT_KEY_MAPPING:
        key = re.sub(pattern, replacement, key)
    return key


def from_torchvision_state_dict(
    model_name: str, state_dict: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """torchvision's state dict in zoo's key names. zoo's CNNs use torchvision's names, so
    for them this is the identity; the ViTs' encoder layers use torch.nn's Transformer names,
    reached by one documented mapping (:data:`VIT_KEY_MAPPING`, also in zoo/models/vit.py's
    docstring). The fidelity tests check that every key loads."""
    if model_name in VIT_MODELS:
        return {vit_key_from_torchvision(key): value for key, value in state_dict.items()}
    return dict(state_dict)


def load_weights(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = ""
) -> None:
    """Load ``state_dict`` into ``model`` exactly: every key must match in name and shape."""
    problems = fit_problems(model, {k: tuple(v.shape) for k, v in state_dict.items()})
    if problems:
        raise ZooError(f"weights {source!r} do not fit {type(model).__name__}: {problems}.")
    model.load_state_dict(dict(state_dict), strict=False)


def fit_problems(
    model: nn.Module, shapes: Mapping[str, tuple[int, ...]], *, optional_heads: bool = False
) -> str:
    """How tensors of these names and ``shapes`` fail to fit ``model`` ("" when they fit):
    the one check of :func:`load_weights` and of a file's header
    (:func:`check_safetensors_fit`). With ``optional_heads``, the weights of heads a model
    may be built without (:data:`OPTIONAL_HEAD_PREFIXES`) are not counted as unexpected."""
    aliases = _shared_aliases(model)
    expected = model.state_dict(keep_vars=True)
    missing = [k for k in expected if k not in shapes and aliases[k] not in shapes]
    unexpected = [
        k
        for k in shapes
        if k not in expected and not (optional_heads and k.startswith(OPTIONAL_HEAD_PREFIXES))
    ]
    wrong_shape = [
        f"{k} {tuple(shapes[k])} vs {tuple(expected[k].shape)}"
        for k in shapes
        if k in expected and tuple(shapes[k]) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing {missing[:5]}")
    if unexpected:
        problems.append(f"unexpected {unexpected[:5]}")
    if wrong_shape:
        problems.append(f"shape mismatch {wrong_shape[:5]}")
    return "; ".join(problems)


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Adapt a first convolution's filters ``(out, c, kh, kw)`` to ``in_channels`` inputs.

    One channel: the filters summed over the input channels (a gray image is what every color
    channel sees). More channels: the filters repeated cyclically, rescaled by ``c /
    in_channels`` so activations keep their scale (timm's ``adapt_input_conv`` does the same).
    """
    channels = weight.shape[1]
    if in_channels == channels:
        return weight
    if in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    repeats = math.ceil(in_channels / channels)
    adapted = weight.repeat(1, repeats, 1, 1)[:, :in_channels]
    return adapted * (channels / in_channels)


def _first_conv(model: nn.Module) -> tuple[nn.Module, str, nn.Conv2d]:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            parent_name, _, attribute = name.rpartition(".")
            return model.get_submodule(parent_name), attribute, module
    raise ZooError(f"{type(model).__name__} has no convolution whose input channels can adapt.")


def adapt_input_channels(model: nn.Module, in_channels: int) -> None:
    """Replace the first convolution of ``model`` with one taking ``in_channels`` channels."""
    parent, attribute, conv = _first_conv(model)
    if conv.in_channels == in_channels:
        return
    if conv.groups != 1:
        raise ZooError("cannot adapt a grouped first convolution to other input channels.")
    new_conv = nn.Conv2d(
        in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    ).to(conv.weight.device, conv.weight.dtype)
    with torch.no_grad():
        new_conv.weight.copy_(adapt_input_conv(conv.weight, in_channels))
        if conv.bias is not None:
            new_conv.bias.copy_(conv.bias)
    setattr(parent, attribute, new_conv)


# Heads a model may be built without (auxiliary classifiers, ``aux_logits=False``).
OPTIONAL_HEAD_PREFIXES = ("aux",)


def without_disabled_heads(
    model: nn.Module, state_dict: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Drop the weights of optional heads the model was built without."""
    expected = model.state_dict()
    dropped = [k for k in state_dict if k not in expected and k.startswith(OPTIONAL_HEAD_PREFIXES)]
    if dropped:
        log.info("not loading %d weights of disabled auxiliary heads", len(dropped))
    return {k: v for k, v in state_dict.items() if k not in dropped}


def checkpoint_digest(checkpoint: Mapping[str, Any]) -> str:
    """The sha256 of a checkpoint's contents, its own digest (``CHECKPOINT_DIGEST_KEY``) left
    out: the bytes of every tensor (with its dtype and shape) and the type and ``repr`` of
    every other value, in the checkpoint's order. Read back with ``torch.load``, a checkpoint
    gives the digest it was written with unless its file changed in between; measured on the
    default LeNet-5 run's 0.8 MB checkpoint, it takes about 1 ms."""
    text: list[str] = []
    tensors: list[torch.Tensor] = []

    def walk(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            text.append(f"T{value.dtype}{tuple(value.shape)}{value.layout};")
            if value.layout == torch.strided and value.numel() > 0:
                tensors.append(value)
        elif isinstance(value, Mapping):
            text.append(f"{{{len(value)}")
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list | tuple):
            if all(type(item) in (int, float, str, bool) for item in value):
                text.append(f"L{type(value).__name__}{value!r};")  # the Python random state
                return
            text.append(f"[{len(value)}")
            for item in value:
                walk(item)
        else:
            text.append(f"{type(value).__name__}:{value!r};")

    walk({key: value for key, value in checkpoint.items() if key != CHECKPOINT_DIGEST_KEY})
    digest = hashlib.sha256("".join(text).encode())
    for tensor in tensors:
        try:
            flat = tensor.detach().resolve_conj().resolve_neg().cpu().contiguous().reshape(-1)
            digest.update(flat.view(torch.uint8).numpy())
        except (RuntimeError, TypeError):  # no plain bytes (quantized): its dtype and shape
            digest.update(b"?")
    return digest.hexdigest()


def with_checkpoint_digest(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """``checkpoint`` (a shallow copy) with its digest under ``CHECKPOINT_DIGEST_KEY``."""
    return {**checkpoint, CHECKPOINT_DIGEST_KEY: checkpoint_digest(checkpoint)}


def verify_checkpoint(checkpoint: dict[str, Any], path: str | os.PathLike) -> dict[str, Any]:
    """``checkpoint`` as read from ``path``, its recorded digest checked and removed; a
    ``ZooError`` naming the file if its contents differ from those it was written with. A
    checkpoint without a digest (Lightning's own, or written before zoo recorded one) passes."""
    recorded = checkpoint.pop(CHECKPOINT_DIGEST_KEY, None)
    if recorded is not None and recorded != checkpoint_digest(checkpoint):
        raise ZooError(
            f"{str(path)!r} is damaged: the sha256 of its contents differs from the one recorded "
            "when it was written (resume or test from another of the run's checkpoints, or "
            "train again)."
        )
    check_checkpoint_contents(checkpoint, path)
    return checkpoint


# The sections of a recorded run config a resume or test reads (zoo.config.checks).
RECORDED_CONFIG_SECTIONS = (
    "model", "data", "task", "optimizer", "scheduler", "regularization", "trainer"
)  # fmt: skip
# Counters of Lightning's loop progress, and entries of a ModelCheckpoint's or
# EarlyStopping's state, with the types Lightning restores them as.
_PLAIN = (int, float, str, bool, type(None))
_CALLBACK_STATE_TYPES: dict[str, tuple[type, ...]] = {
    "monitor": (str, type(None)),
    "best_model_score": (torch.Tensor, type(None)),
    "best_model_path": (str,),
    "current_score": (torch.Tensor, type(None)),
    "dirpath": (str, type(None)),
    "best_k_models": (Mapping,),
    "kth_best_model_path": (str,),
    "kth_value": (torch.Tensor, float, int),
    "last_model_path": (str,),
    "wait_count": (int,),
    "stopped_epoch": (int,),
    "best_score": (torch.Tensor, float, int),
    "patience": (int,),
}


def check_checkpoint_contents(checkpoint: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Refuse a checkpoint whose entries are not of the types Lightning and the zoo restore
    them as (a list where a mapping is, a string where a tensor is): a digest is unkeyed, so
    a crafted file passes it, and such an entry would fail as a traceback deep inside a
    resume or a test. One line names the entry and what is allowed."""

    def require(ok: bool, key: str, value: Any, allowed: str) -> None:
        if not ok:
            shown = repr(value) if isinstance(value, _PLAIN) else f"a {type(value).__name__}"
            raise ZooError(
                f"{str(path)!r} is not a checkpoint zoo can use: its {key} is "
                f"{shown[:80]}; allowed: {allowed}."
            )

    def mapping(key: str, value: Any, optional: bool = True) -> Mapping[Any, Any]:
        ok = isinstance(value, Mapping) or (optional and value is None)
        require(ok, key, value, "a mapping" + (" or null" if optional else ""))
        return value or {}

    for key in ("epoch", "global_step"):
        value = checkpoint.get(key, 0)
        require(is_int(value) and value >= 0, key, value, "an integer >= 0")
    if "pytorch-lightning_version" in checkpoint:
        version = checkpoint["pytorch-lightning_version"]
        ok = isinstance(version, str) and re.fullmatch(r"\d+(\.\d+)*\S*", version) is not None
        require(ok, "pytorch-lightning_version", version, "a version such as '2.5.0'")
    if "state_dict" in checkpoint:
        for name, tensor in mapping("state_dict", checkpoint["state_dict"], False).items():
            require(isinstance(name, str), "state_dict key", name, "a string")
            require(isinstance(tensor, torch.Tensor), f"state_dict.{name}", tensor, "a tensor")
    for key in ("hyper_parameters", "datamodule_hyper_parameters", "loops", "callbacks"):
        mapping(key, checkpoint.get(key))
    _check_optimizer_states(checkpoint.get("optimizer_states", []), require)
    schedulers = checkpoint.get("lr_schedulers", [])
    require(isinstance(schedulers, list | tuple), "lr_schedulers", schedulers, "a list")
    for index, state in enumerate(schedulers):
        state = mapping(f"lr_schedulers.{index}", state, False)
        # LambdaLR's: one entry per parameter group, None for a plain function's (the zoo's)
        lambdas = state.get("lr_lambdas", [])
        ok = isinstance(lambdas, list | tuple) and all(
            item is None or isinstance(item, Mapping) for item in lambdas
        )
        require(ok, f"lr_schedulers.{index}.lr_lambdas", lambdas, "a list of null or mappings")
    for name, state in mapping("callbacks", checkpoint.get("callbacks")).items():
        for key, value in mapping(f"callbacks.{name}", state, False).items():
            if key in _CALLBACK_STATE_TYPES:
                allowed = _CALLBACK_STATE_TYPES[key]
                ok = isinstance(value, allowed) and not isinstance(value, bool)
                names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
                require(ok, f"callbacks.{name}.{key}", value, names)
            if key == "best_k_models" and isinstance(value, Mapping):  # path -> score
                for score in value.values():
                    ok = isinstance(score, torch.Tensor) or is_int_or_float(score)
                    require(ok, f"callbacks.{name}.{key}", score, "scores: tensors or numbers")
    _check_loop_progress(mapping("loops", checkpoint.get("loops")), "loops", require)
    zoo = mapping("zoo", checkpoint.get("zoo"))
    spec = mapping("zoo.model", zoo.get("model"))
    if spec:
        require(isinstance(spec.get("name"), str), "zoo.model.name", spec.get("name"), "a string")
        mapping("zoo.model.kwargs", spec.get("kwargs"))
    config = mapping("zoo.config", zoo.get("config"))
    for section in RECORDED_CONFIG_SECTIONS:
        mapping(f"zoo.config.{section}", config.get(section))
    _check_rng(mapping("zoo.rng", zoo.get("rng")), require)


def _check_optimizer_states(states: Any, require: Any) -> None:
    """Each optimizer's state as ``torch.optim.Optimizer.load_state_dict`` takes it."""
    require(isinstance(states, list | tuple), "optimizer_states", states, "a list")
    for index, state in enumerate(states):
        where = f"optimizer_states.{index}"
        require(isinstance(state, Mapping), where, state, "a mapping")
        per_parameter = state.get("state", {})
        require(isinstance(per_parameter, Mapping), f"{where}.state", per_parameter, "a mapping")
        for parameter, values in per_parameter.items():
            require(isinstance(values, Mapping), f"{where}.state.{parameter}", values, "a mapping")
            for name, value in values.items():
                ok = isinstance(value, torch.Tensor) or is_int_or_float(value)
                require(ok, f"{where}.state.{parameter}.{name}", value, "a tensor or a number")
        groups = state.get("param_groups", [])
        require(isinstance(groups, list | tuple), f"{where}.param_groups", groups, "a list")
        for number, group in enumerate(groups):
            at = f"{where}.param_groups.{number}"
            require(isinstance(group, Mapping), at, group, "a mapping")
            params = group.get("params", [])
            ok = isinstance(params, list | tuple) and all(is_int(p) for p in params)
            require(ok, f"{at}.params", params, "a list of parameter indices")


# The counters of Lightning's ``_Progress`` records
_PROGRESS_COUNTERS = ("ready", "started", "processed", "completed")


def _check_loop_progress(loops: Mapping[Any, Any], where: str, require: Any) -> None:
    """The loops' progress records hold integer counters in mappings."""
    for key, value in loops.items():
        at = f"{where}.{key}"
        if key in _PROGRESS_COUNTERS:
            require(is_int(value) and value >= 0, at, value, "an integer >= 0")
        elif isinstance(value, Mapping):
            _check_loop_progress(value, at, require)
        elif key in ("total", "current") or str(key).endswith(("_progress", "state_dict")):
            require(False, at, value, "a mapping")


def _check_rng(rng: Mapping[str, Any], require: Any) -> None:
    """The random states a resume restores, as ``torch.set_rng_state`` and
    ``random.setstate`` take them (tried on generators of their own)."""
    import random

    if "torch" in rng:
        ok = isinstance(rng["torch"], torch.Tensor) and rng["torch"].dtype == torch.uint8
        if ok:
            try:
                torch.Generator().set_state(rng["torch"])
            except (RuntimeError, TypeError, ValueError):
                ok = False
        require(ok, "zoo.rng.torch", rng["torch"], "the torch generator state it was saved as")
    if "python" in rng:
        state = rng["python"]
        ok = isinstance(state, list | tuple) and len(state) == 3
        if ok:
            try:
                inner = state[1]
                random.Random().setstate((state[0], tuple(inner), state[2]))
            except (TypeError, ValueError, OverflowError):
                ok = False
        require(ok, "zoo.rng.python", state, "the random module's state it was saved as")
    if "cuda" in rng:
        states = rng["cuda"]
        ok = isinstance(states, list | tuple) and all(
            isinstance(s, torch.Tensor) and s.dtype == torch.uint8 for s in states
        )
        require(ok, "zoo.rng.cuda", states, "a list of CUDA generator states")


def unreadable_checkpoint(path: str | os.PathLike) -> ZooError:
    """The error for a checkpoint ``torch.load(weights_only=True)`` refused (torch's message
    for objects beyond plain types advises weights_only=False: never show it)."""
    return ZooError(
        f"{str(path)!r} is not a checkpoint zoo can read: it is empty, truncated, damaged, in "
        "another format, or holds Python objects beyond tensors and plain types (zoo never "
        "unpickles those)."
    )


# The checkpoint read_checkpoint(..., keep=True) last read and verified, for the next load of
# the same file (a resume's config check, then Lightning's load of ckpt_path): (the file's
# identity when it was read, the checkpoint, whether every tensor was saved on the CPU).
_kept: tuple[tuple[Any, ...], dict[str, Any], bool] | None = None


def _file_identity(file: Path) -> tuple[Any, ...] | None:
    """What changes when ``file`` is replaced or written: its resolved path, device, inode,
    modification time and size; None if it cannot be read."""
    try:
        stat = file.stat()
        return (str(file.resolve()), stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)
    except OSError:
        return None


def read_checkpoint(path: str | os.PathLike, *, keep: bool = False) -> dict[str, Any]:
    """A Lightning checkpoint's contents, read with ``torch.load(weights_only=True)``: tensors
    and plain types only, never code. A ``ZooError`` naming the file if it cannot be read, or
    if it is damaged (its contents differ from the digest recorded when it was written,
    :func:`verify_checkpoint`).

    ``keep``: the file is about to be loaded again (a resume checks ``ckpt_path``, then
    Lightning loads it): the verified checkpoint is kept for :func:`take_kept_checkpoint`,
    so that the file is read and its digest computed once. The caller gets a shallow copy."""
    global _kept
    file = Path(path)
    if not file.is_file():
        what = "is a folder, not a checkpoint file" if file.is_dir() else "does not exist"
        raise ZooError(f"checkpoint {str(path)!r} {what}.")
    identity = _file_identity(file)  # before the read: a file changed during it is not kept
    locations: set[str] = set()

    def on_cpu(storage: Any, location: str) -> Any:  # map_location="cpu", noting where from
        locations.add(location)
        return storage

    try:
        checkpoint = torch.load(file, map_location=on_cpu, weights_only=True)
    except Exception:  # empty, truncated, damaged, another format, or objects beyond plain types
        raise unreadable_checkpoint(path) from None
    if not isinstance(checkpoint, dict):
        raise ZooError(f"{str(path)!r} is not a training checkpoint (not a dictionary).")
    checkpoint = verify_checkpoint(checkpoint, path)
    if keep and identity is not None:
        _kept = (identity, checkpoint, locations <= {"cpu"})
    return dict(checkpoint)


def take_kept_checkpoint(path: str | os.PathLike) -> dict[str, Any] | None:
    """The checkpoint :func:`read_checkpoint` kept (``keep=True``) from ``path``, verified,
    if the file is the same and unchanged since (path, inode, modification time and size)
    and every tensor was saved on the CPU (where ``read_checkpoint`` maps them, and where
    Lightning's own load leaves them); else None. Handed out once: the caller may change it
    (Lightning does), and nothing is kept after."""
    global _kept
    kept, _kept = _kept, None
    if kept is None:
        return None
    identity, checkpoint, cpu_only = kept
    if not cpu_only or identity != _file_identity(Path(path)):
        return None
    return checkpoint


def checkpoint_model_weights(
    checkpoint: Mapping[str, Any], path: str | os.PathLike, prefix: str = "model."
) -> dict[str, torch.Tensor]:
    """The plain model's weights in a zoo Lightning checkpoint (its ``prefix``-ed keys)."""
    state = checkpoint.get("state_dict")
    if not isinstance(state, Mapping):
        raise ZooError(f"{str(path)!r} is not a Lightning training checkpoint (no state_dict).")
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def load_checkpoint_weights(
    model: nn.Module, path: str | os.PathLike, prefix: str = "model."
) -> None:
    """Load the ``prefix``-ed weights of a zoo Lightning checkpoint into a plain ``model``."""
    weights = checkpoint_model_weights(read_checkpoint(path), path, prefix)
    load_weights(model, weights, str(path))
