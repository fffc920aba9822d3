"""GPT-2's published weights (Radford et al. 2019, "Language models are unsupervised multitask
learners") for zoo's GPT (:mod:`zoo.models.gpt`), read from Hugging Face's layout.

A GPT-2 folder holds what ``transformers``' ``GPT2LMHeadModel.save_pretrained`` writes, or
what the Hub serves for ``gpt2``: ``config.json`` (Hugging Face's ``GPT2Config``),
``model.safetensors``, and for generation the byte-level BPE tokenizer's ``vocab.json`` and
``merges.txt`` (or ``tokenizer.json``). ``create_model("gpt", weights=DIR)`` reads it;
``weights="hf:gpt2"`` (``hf:<repo id>[@<revision>]``: the ``hf:`` prefix cannot be a zoo
weights name, which are ``<model>.<data>``) first downloads those four files from the Hugging
Face Hub with ``huggingface_hub.hf_hub_download`` into its cache. Nothing is unpickled: the
weights are read with safetensors, never ``pytorch_model.bin``.

zoo's GPT is GPT-2's network (pre-norm blocks, learned positions, biases, a final layer norm,
the head tied to the token embedding, LayerNorm eps 1e-5), built with ``gelu="tanh"`` (GPT-2's
GELU approximation, Hugging Face's ``gelu_new``). The weights map by name through one table,
:data:`LAYER_KEYS` and :data:`MODEL_KEYS`; GPT-2's ``Conv1D`` stores its weight as
(in, out), the transpose of ``nn.Linear``'s (out, in). The causal masks old files carry
(``attn.bias``, ``attn.masked_bias``) are buffers, not weights, and are skipped. Dropout is
0 (as nanoGPT's ``from_pretrained``); ``create_model("gpt", weights=..., dropout=0.1)`` sets
GPT-2's for fine-tuning.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.config.values import is_number
from zoo.errors import ZooError
from zoo.weights import safetensors_shapes

HUB_PREFIX = "hf:"
CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"
TOKENIZER_FILES = ("vocab.json", "merges.txt")
HUB_FILES = (CONFIG_NAME, WEIGHTS_NAME, *TOKENIZER_FILES)  # all that is downloaded
EXTRA = "pip install 'zoo[gpt2]'"

# Hugging Face's activation_function -> zoo's gelu=
ACTIVATIONS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu": "exact"}
# config.json entries that change the network away from zoo's GPT: the value GPT-2 has
REQUIRED = {
    "layer_norm_epsilon": 1e-5,
    "scale_attn_weights": True,
    "scale_attn_by_inverse_layer_idx": False,
    "add_cross_attention": False,
    "tie_word_embeddings": True,
}
SIZES = {  # config.json's name -> the builder's
    "vocab_size": "vocab_size",
    "n_positions": "block_size",
    "n_layer": "n_layer",
    "n_head": "n_head",
    "n_embd": "n_embd",
}

# zoo's name -> (GPT-2's name, transposed: a Conv1D weight); per block, under blocks.<i>. / h.<i>.
LAYER_KEYS = {
    "norm1.weight": ("ln_1.weight", False),
    "norm1.bias": ("ln_1.bias", False),
    "attention.qkv.weight": ("attn.c_attn.weight", True),  # q, k, v side by side in both
    "attention.qkv.bias": ("attn.c_attn.bias", False),
    "attention.proj.weight": ("attn.c_proj.weight", True),
    "attention.proj.bias": ("attn.c_proj.bias", False),
    "norm2.weight": ("ln_2.weight", False),
    "norm2.bias": ("ln_2.bias", False),
    "mlp.fc.weight": ("mlp.c_fc.weight", True),
    "mlp.fc.bias": ("mlp.c_fc.bias", False),
    "mlp.proj.weight": ("mlp.c_proj.weight", True),
    "mlp.proj.bias": ("mlp.c_proj.bias", False),
}
MODEL_KEYS = {
    "token_embedding.weight": ("wte.weight", False),  # also the head: tied
    "position_embedding.weight": ("wpe.weight", False),
    "final_norm.weight": ("ln_f.weight", False),
    "final_norm.bias": ("ln_f.bias", False),
}
# GPT2LMHeadModel's keys carry this prefix, GPT2Model's (the Hub's gpt2 file) none
PREFIX = "transformer."
HEAD_KEY = "lm_head.weight"  # tied to wte: written by some versions, checked equal
MASK_SUFFIXES = (".attn.bias", ".attn.masked_bias")  # causal-mask buffers of old files


def is_hub_name(weights: Any) -> bool:
    """Whether ``weights`` is ``"hf:<repo id>[@<revision>]"``."""
    return isinstance(weights, str) and weights.startswith(HUB_PREFIX)


def _read_config(folder: Path) -> dict[str, Any] | None:
    try:
        config = json.loads((folder / CONFIG_NAME).read_text())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def is_huggingface_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder in Hugging Face's layout (its ``config.json`` names a
    ``model_type``, where a zoo folder's names a ``model``); its type is checked on loading."""
    folder = Path(path)
    config = _read_config(folder) if folder.is_dir() else None
    return config is not None and "model_type" in config and "model" not in config


def is_gpt2_source(source: Any) -> bool:
    """Whether ``source`` names GPT-2 weights: ``hf:<repo id>`` or a Hugging Face folder."""
    return is_hub_name(source) or (
        isinstance(source, str | os.PathLike) and is_huggingface_folder(source)
    )


def download(name: str) -> Path:
    """The folder of ``hf:<repo id>[@<revision>]``'s four files (:data:`HUB_FILES`) in
    huggingface_hub's cache (``$HF_HOME/hub``, by default ``~/.cache/huggingface/hub``),
    downloaded on first use; offline, the error names the files to fetch."""
    repo, _, revision = name[len(HUB_PREFIX) :].partition("@")
    if not repo:
        raise ZooError(f"weights {name!r} name no repository; allowed: 'hf:gpt2', 'hf:<repo id>'.")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ZooError(f"weights {name!r} are downloaded with huggingface_hub: {EXTRA}.") from None
    paths = []
    for file in HUB_FILES:
        try:
            paths.append(Path(hf_hub_download(repo, file, revision=revision or None)))
        except Exception as error:  # huggingface_hub's HTTP, offline and validation errors
            reason = " ".join(str(error).split()).split(". ")[0][:200]
            raise ZooError(
                f"cannot download {file} of {repo!r} from the Hugging Face Hub "
                f"({type(error).__name__}: {reason}); offline, fetch {', '.join(HUB_FILES)} "
                f"from https://huggingface.co/{repo} on a machine that is online, copy them into "
                f"a folder and give that folder instead of {name!r}."
            ) from None
    return paths[0].parent  # one revision's files share its snapshot folder


def gpt2_folder(source: str | os.PathLike) -> Path:
    """The local folder of ``source``: itself, or ``hf:...``'s download."""
    return download(str(source)) if is_hub_name(source) else Path(source)


def gpt2_kwargs(folder: Path) -> dict[str, Any]:
    """The ``gpt`` builder arguments of the folder's ``config.json``; a ``ZooError`` naming
    the first entry that is not GPT-2's (zoo's GPT could not compute that network)."""
    where = str(folder / CONFIG_NAME)
    config = _read_config(folder)
    if config is None:
        raise ZooError(f"{where!r} is missing or not a JSON object; expected GPT-2's config.")

    def refuse(key: str, allowed: str) -> ZooError:
        return ZooError(f"{where!r}: {key} is {config.get(key)!r}; allowed: {allowed}.")

    if config.get("model_type") != "gpt2":
        raise refuse("model_type", "'gpt2' (zoo's GPT loads GPT-2's weights only)")
    if not (folder / WEIGHTS_NAME).is_file():
        raise ZooError(
            f"{str(folder)!r} has no {WEIGHTS_NAME}: GPT-2's weights are read from safetensors "
            "only (never pytorch_model.bin, a pickle); fetch model.safetensors into it."
        )
    activation = config.get("activation_function", "gelu_new")
    if activation not in ACTIVATIONS:
        raise refuse("activation_function", ", ".join(map(repr, ACTIVATIONS)))
    kwargs: dict[str, Any] = {"bias": True, "dropout": 0.0, "gelu": ACTIVATIONS[activation]}
    for key, argument in SIZES.items():
        value = config.get(key)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise refuse(key, "an integer >= 1")
        kwargs[argument] = value
    for key, value in REQUIRED.items():
        got = config.get(key, value)
        if isinstance(value, bool):
            same = got is value
        else:
            same = is_number(got) and math.isclose(got, value, rel_tol=1e-6)
        if not same:
            raise refuse(key, f"{value!r} (GPT-2's; zoo's GPT has no other)")
    if config.get("n_inner") not in (None, 4 * kwargs["n_embd"]):
        raise refuse("n_inner", f"null or 4 * n_embd = {4 * kwargs['n_embd']}")
    return kwargs


def _expected(model: nn.Module) -> dict[str, tuple[str, bool, tuple[int, ...]]]:
    """GPT-2's name of each of the model's tensors: (zoo's name, transposed, GPT-2's shape)."""
    state = model.state_dict(keep_vars=True)
    table = {hf: (zoo, t) for zoo, (hf, t) in MODEL_KEYS.items()}
    for layer in range(len(model.blocks)):
        for zoo, (hf, transposed) in LAYER_KEYS.items():
            table[f"h.{layer}.{hf}"] = (f"blocks.{layer}.{zoo}", transposed)
    expected = {}
    for hf, (zoo, transposed) in table.items():
        shape = tuple(state[zoo].shape)
        expected[hf] = (zoo, transposed, shape[::-1] if transposed else shape)
    return expected


def _fit_problems(
    shapes: dict[str, tuple[int, ...]], expected: dict[str, tuple[str, bool, tuple[int, ...]]]
) -> str:
    """How a file's tensors (GPT-2's names, prefix removed) fail to fit ("" when they fit)."""
    wanted = {key: shape for key, (_, _, shape) in expected.items()}
    if HEAD_KEY in shapes:
        wanted[HEAD_KEY] = wanted["wte.weight"]
    missing = [key for key in wanted if key not in shapes]
    unexpected = [key for key in shapes if key not in wanted and not key.endswith(MASK_SUFFIXES)]
    wrong = [
        f"{key} {shapes[key]} (expected {wanted[key]})"
        for key in wanted
        if key in shapes and shapes[key] != wanted[key]
    ]
    found = (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong))
    return "; ".join(f"{what} {', '.join(keys[:5])}" for what, keys in found if keys)


def read_gpt2_state_dict(folder: Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """The folder's ``model.safetensors`` in zoo's names, for ``model`` (built from
    :func:`gpt2_kwargs`): every tensor's name and shape is checked against the model from
    the file's header before any is read."""
    from safetensors import safe_open

    path = folder / WEIGHTS_NAME
    expected = _expected(model)
    header = safetensors_shapes(path)  # a ZooError naming the file if it is not one
    names = {key.removeprefix(PREFIX): key for key in header}
    problems = _fit_problems({key: header[name] for key, name in names.items()}, expected)
    if problems:
        raise ZooError(
            f"{str(path)!r} does not hold GPT-2 weights for {_sizes(model)}: {problems}."
        )
    state_dict = {}
    try:
        with safe_open(str(path), framework="pt") as file:
            for key, (zoo, transposed, _) in expected.items():
                tensor = file.get_tensor(names[key])
                state_dict[zoo] = tensor.t().contiguous() if transposed else tensor
            head = file.get_tensor(names[HEAD_KEY]) if HEAD_KEY in names else None
    except Exception:  # safetensors' SafetensorError, OSError: a truncated file
        raise ZooError(
            f"{str(path)!r} is truncated or damaged: its tensors cannot be read."
        ) from None
    if head is not None and not torch.equal(head, state_dict["token_embedding.weight"]):
        raise ZooError(
            f"{str(path)!r}: {HEAD_KEY} differs from wte.weight; allowed: the head tied to the "
            "token embedding (tie_word_embeddings), as zoo's GPT has it."
        )
    return state_dict


def _sizes(model: nn.Module) -> str:
    """The model's sizes, for a message."""
    return (
        f"gpt(vocab_size={model.vocab_size}, block_size={model.block_size}, "
        f"n_layer={model.n_layer}, n_head={model.n_head}, n_embd={model.n_embd})"
    )


class BytePairTokenizer:
    """GPT-2's byte-level BPE (Sennrich et al. 2016, on bytes as Radford et al. 2019 describe)
    through the ``tokenizers`` library, with :class:`zoo.data.text.CharVocabulary`'s
    interface: ``encode(text)`` → token ids (T,), ``decode(ids)`` → text. Byte-level: every
    text encodes, and decoding gives it back."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, text: str) -> torch.Tensor:
        return torch.tensor(self.tokenizer.encode(text).ids, dtype=torch.long)

    def decode(self, ids: torch.Tensor) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)


def load_gpt2_tokenizer(folder: str | os.PathLike) -> BytePairTokenizer:
    """The byte-level BPE tokenizer saved beside GPT-2's weights: ``tokenizer.json`` if
    present, else ``vocab.json`` + ``merges.txt``."""
    folder = Path(folder)
    try:
        from tokenizers import ByteLevelBPETokenizer, Tokenizer
    except ImportError:
        raise ZooError(f"GPT-2's tokenizer is read with the tokenizers library: {EXTRA}.") from None
    try:
        if (folder / "tokenizer.json").is_file():
            return BytePairTokenizer(Tokenizer.from_file(str(folder / "tokenizer.json")))
        missing = [name for name in TOKENIZER_FILES if not (folder / name).is_file()]
        if missing:
            raise ZooError(
                f"{str(folder)!r} has no tokenizer: missing {', '.join(missing)} (GPT-2's "
                "byte-level BPE: vocab.json and merges.txt, or tokenizer.json)."
            )
        vocab, merges = (str(folder / name) for name in TOKENIZER_FILES)
        return BytePairTokenizer(ByteLevelBPETokenizer(vocab, merges))
    except ZooError:
        raise
    except Exception as error:  # the tokenizers library's parse errors
        reason = " ".join(str(error).split())[:200]
        raise ZooError(f"cannot read the tokenizer in {str(folder)!r}: {reason}.") from None


__all__ = [
    "BytePairTokenizer",
    "download",
    "gpt2_folder",
    "gpt2_kwargs",
    "is_gpt2_source",
    "is_hub_name",
    "is_huggingface_folder",
    "load_gpt2_tokenizer",
    "read_gpt2_state_dict",
]
