"""The vocabulary shared by data, models and tasks: what kind of input, target and task.

A data module declares the kind of input it gives and the kind of target it pairs with it; a
model (in the registry) declares the input kinds it takes and the task kinds it serves; a task
declares the target kinds it learns from. The training system checks that the three agree
before any work starts. This module imports nothing else of zoo, so every part can use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# image: (C, H, W) floats or uint8; vector: (D,) features; sequence: (T, D) steps of
# features; tokens: (T,) integer ids below ``vocab_size``; noise: (D,) latent codes.
INPUT_KINDS = ("image", "vector", "sequence", "tokens", "noise")
# class: an integer below ``num_classes``; value: real numbers of ``target_shape``;
# next_token: the input shifted by one step; none: no target (the input is its own target).
TARGET_KINDS = ("class", "value", "next_token", "none")
TASK_KINDS = ("classification", "regression", "language_model", "autoencoder", "gan")


def check_kind(what: str, kind: str, allowed: Sequence[str]) -> str:
    """Return ``kind`` if it is one of ``allowed``; otherwise raise ``ValueError`` naming both.

    Callers turn it into their own error type where the kind comes from the user."""
    if kind not in allowed:
        raise ValueError(f"unknown {what} {kind!r}; allowed: {', '.join(allowed)}")
    return kind


def example_batch(
    input_kind: str,
    input_shape: Sequence[int],
    batch_size: int = 1,
    *,
    vocab_size: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A random batch of ``batch_size`` inputs of ``input_kind`` and ``input_shape``: standard
    normal floats, or token ids drawn uniformly below ``vocab_size``."""
    check_kind("input kind", input_kind, INPUT_KINDS)
    shape = (batch_size, *(int(s) for s in input_shape))
    if input_kind == "tokens":
        if vocab_size is None or vocab_size < 1:
            raise ValueError(f"token inputs need vocab_size >= 1, got {vocab_size}")
        return torch.randint(0, vocab_size, shape, generator=generator)
    return torch.randn(shape, generator=generator)
