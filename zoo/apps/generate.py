"""Sample text from a trained language model: ``python -m zoo.generate SOURCE --prompt ...``.

SOURCE is a run folder of ``python train.py task=language_model data=text ...`` (its
``model/`` folder is used) or an exported model folder; the folder's ``config.json`` keeps
the vocabulary the model was trained with, so nothing else is needed::

    python -m zoo.generate outputs/runs/<run> --prompt "def " --length 300 \\
        --temperature 0.8 --top-k 20 --seed 0

SOURCE may also be GPT-2 in Hugging Face's layout, a folder (``config.json``,
``model.safetensors``, ``vocab.json``, ``merges.txt``) or ``hf:gpt2`` (downloaded once):
its byte-level BPE tokenizer is read from the same folder (:mod:`zoo.models.gpt2_weights`)::

    python -m zoo.generate hf:gpt2 --prompt "Hello, I'm a language model," --length 30

Each next token is drawn from the softmax of the model's last logits divided by the
temperature, among the ``top_k`` most probable tokens only when ``--top-k`` is given
(``--top-k 1`` is greedy decoding). A recurrent model reads the prompt once and then carries
its state, one token at a time; a model with a key/value cache does the same through it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.apps.command import ArgumentParser, check_seed, run_command, say
from zoo.config.values import is_positive_int
from zoo.data.text import CharVocabulary
from zoo.errors import ZooError
from zoo.models import create_model
from zoo.models.gpt2_weights import (
    BytePairTokenizer,
    gpt2_folder,
    is_gpt2_source,
    load_gpt2_tokenizer,
)
from zoo.models.layers import evaluating
from zoo.models.pretrained import load_pretrained
from zoo.weights import CONFIG_NAME, read_pretrained_config, run_model_folder


def model_folder(source: str | Path) -> Path:
    """The exported model folder of ``source``: itself, or a run folder's ``model/``."""
    path = run_model_folder(source)
    if not path.is_dir():
        raise ZooError(
            f"{str(source)!r} is not a folder; expected a run folder or a model folder "
            f"(with {CONFIG_NAME} and model.safetensors)."
        )
    return path


Tokenizer = CharVocabulary | BytePairTokenizer


def load_for_generation(source: str | Path) -> tuple[nn.Module, Tokenizer]:
    """The language model at ``source`` in eval mode, and the vocabulary it was trained on
    (GPT-2's: its byte-level BPE tokenizer, from the same folder)."""
    if is_gpt2_source(source):
        folder = gpt2_folder(source)  # hf:<repo id> downloads once
        tokenizer = load_gpt2_tokenizer(folder)
        model = create_model("gpt", weights=folder).eval()
        if len(tokenizer) > model.vocab_size:
            raise ZooError(
                f"the tokenizer in {str(folder)!r} has {len(tokenizer)} tokens, more than the "
                f"model's vocab_size {model.vocab_size}; allowed: the tokenizer saved with it."
            )
        return model, tokenizer
    folder = model_folder(source)
    config = read_pretrained_config(folder)
    vocab = (config.get("data") or {}).get("vocab")
    if not vocab:
        raise ZooError(
            f"{str(folder)!r} records no vocabulary: generation needs a model trained as a "
            "language model on text (python train.py task=language_model data=text ...)."
        )
    return load_pretrained(folder).eval(), CharVocabulary.from_json(vocab)


#: the most tokens one call generates: each is drawn in turn and the whole text is held
MAX_LENGTH = 100_000


def check_sampling(
    length: int, temperature: float, top_k: int | None, seed: int | None = None
) -> None:
    """Refuse a generation length outside 1..MAX_LENGTH, a temperature that is not a finite
    number > 0, a top-k < 1 or a seed outside 0..MAX_SEED."""
    if not is_positive_int(length):
        raise ZooError(f"the generation length must be an integer >= 1, got {length!r}.")
    if length > MAX_LENGTH:
        raise ZooError(
            f"the generation length must be at most {MAX_LENGTH}, got {length} (tokens are "
            "drawn one at a time); for more, continue from the end of the text (--prompt)."
        )
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ZooError(
            f"the temperature must be > 0, got {temperature} (a finite number); use --top-k 1 "
            "for greedy decoding."
        )
    if top_k is not None and top_k < 1:
        raise ZooError(f"top-k must be >= 1 (or left out for all tokens), got {top_k}.")
    if seed is not None:
        check_seed(seed)


def next_token(
    logits: torch.Tensor,
    *,
    temperature: float,
    top_k: int | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """One token id per row of ``logits`` (B, V), sampled at ``temperature`` from the
    ``top_k`` most probable; drawn on the ``generator``'s device (the CPU's: a seed gives
    the same tokens on every device), returned on the device of ``logits``.

    The logits are shifted so that the largest is 0 before they are divided: any temperature
    > 0 then gives finite probabilities (one near 0 overflowed to inf - inf = NaN before; now
    it is greedy decoding, ties shared)."""
    logits = logits.float()
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    shifted = logits - logits.max(dim=-1, keepdim=True).values  # (B, V), <= 0
    # the largest stay 0 (0 / a temperature that underflows in float32 would be NaN)
    logits = torch.where(shifted == 0, shifted, shifted / temperature)
    probabilities = logits.softmax(dim=-1)  # (B, V)
    if generator is not None:
        probabilities = probabilities.to(generator.device)
    return torch.multinomial(probabilities, 1, generator=generator).to(logits.device)  # (B, 1)


@torch.no_grad()
def generate(
    model: nn.Module,
    prompt: torch.Tensor,
    length: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Continue the token ids ``prompt`` (B, T) by ``length`` sampled tokens; returns the new
    tokens (B, length), on the model's device. The model runs in eval mode (no dropout; its
    mode is restored after). Recurrent models (``model.stateful``) read each token once;
    models with a key/value cache (``model.kv_cache``) read each token once while the
    context fits in their ``block_size``, and past it re-read the last ``block_size`` tokens
    at each step, as models without a cache do at every step (the whole context, cropped to
    their ``block_size`` when they have one)."""
    check_sampling(length, temperature, top_k)
    if prompt.ndim != 2 or prompt.shape[1] < 1:
        raise ZooError(f"the prompt must hold at least one token, got shape {tuple(prompt.shape)}.")
    with evaluating(model):
        return _generate(model, prompt, length, temperature, top_k, generator)


def _generate(
    model: nn.Module,
    prompt: torch.Tensor,
    length: int,
    temperature: float,
    top_k: int | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    prompt = prompt.to(next(model.parameters()).device)
    if getattr(model, "stateful", False):
        step = _recurrent_steps(model)
    elif getattr(model, "kv_cache", False):
        step = _cached_steps(model)
    else:
        step = _full_context_steps(model)
    context, tokens = prompt, []
    next(step)  # start the generator
    for _ in range(length):
        logits = step.send(context)  # (B, V): the logits after the context so far
        token = next_token(logits, temperature=temperature, top_k=top_k, generator=generator)
        tokens.append(token)
        context = torch.cat([context, token], dim=1)
    step.close()
    return torch.cat(tokens, dim=1)


# Each way of reading a growing context is a generator: sent the whole context so far, it
# yields the logits of the next token, reading only what it has not read yet.
def _recurrent_steps(model: nn.Module) -> Any:
    """A recurrent model reads the prompt once, then one token at a time with its state."""
    state, seen = None, 0
    context = yield
    while True:
        logits, state = model(context[:, seen:], state=state, return_state=True)  # (B, T, V)
        seen = context.shape[1]
        context = yield logits[:, -1]


def _cached_steps(model: nn.Module) -> Any:
    """A model with a key/value cache reads each new token once while the context fits in
    its ``block_size``; past it, the cache restarts from the last ``block_size`` tokens at
    every step (positions are absolute, so the cache cannot simply slide)."""
    block_size = getattr(model, "block_size", None)
    cache, seen = None, 0
    context = yield
    while True:
        if block_size is not None and context.shape[1] > block_size:
            cache, seen = None, 0
            context = context[:, -block_size:]
        logits, cache = model(context[:, seen:], state=cache, return_state=True)
        seen = context.shape[1]
        context = yield logits[:, -1]


def _full_context_steps(model: nn.Module) -> Any:
    """Any other model reads the whole context (its last ``block_size`` tokens) each step."""
    block_size = getattr(model, "block_size", None)
    context = yield
    while True:
        window = context if block_size is None else context[:, -block_size:]
        context = yield model(window)[:, -1]


def generate_text(
    source: str | Path | tuple[nn.Module, Tokenizer],
    prompt: str,
    length: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
) -> str:
    """``prompt`` continued by ``length`` tokens (characters for a model trained on
    ``data=text``) sampled from the model at ``source``."""
    check_sampling(length, temperature, top_k, seed)
    model, vocab = source if isinstance(source, tuple) else load_for_generation(source)
    if not prompt:
        raise ZooError("the prompt is empty; give at least one character, e.g. --prompt 'T'.")
    ids = vocab.encode(prompt).unsqueeze(0)  # (1, T); unknown characters are named
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    new = generate(model, ids, length, temperature=temperature, top_k=top_k, generator=generator)
    return prompt + vocab.decode(new[0])


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m zoo.generate", description="Sample text from a trained language model."
    )
    parser.add_argument(
        "source",
        help="a run folder, an exported model folder, or GPT-2's: a folder in Hugging Face's "
        "layout or hf:gpt2",
    )
    parser.add_argument("--prompt", default="\n", help="the text to continue (a newline)")
    parser.add_argument("--length", type=int, default=200, help="tokens (characters) to add (200)")
    parser.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (1)")
    parser.add_argument("--top-k", type=int, default=None, help="sample among the k best")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible samples")
    args = parser.parse_args(argv)
    try:
        text: Any = generate_text(
            args.source,
            args.prompt,
            args.length,
            temperature=args.temperature,
            top_k=args.top_k,
            seed=args.seed,
        )
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    say(text, raw=True)
    return 0


if __name__ == "__main__":
    run_command(main)
