"""GPT: a decoder-only causal Transformer language model (Radford et al. 2018, "Improving
language understanding by generative pre-training"; Radford et al. 2019, "Language models are
unsupervised multitask learners"; primer: "Attention Mechanism" and "Transformers").

The network, top to bottom, for token ids ``idx`` (B, T):

1. x = token_embedding(idx) + position_embedding(0 .. T-1)   (B, T, C), then dropout;
2. ``n_layer`` pre-norm blocks (the layer norm *before* each sub-layer, as in GPT-2):
       x = x + attention(norm1(x))    causal multi-head self-attention
       x = x + mlp(norm2(x))          Linear(C, 4C) → GELU → Linear(4C, C)
3. a final layer norm, and the head: logits = x Eᵀ (B, T, vocab), where E is the token
   embedding matrix itself (weight tying, Press & Wolf 2017, "Using the output embedding to
   improve language models"): one (vocab, C) matrix both reads and writes tokens.

Attention is ``zoo.models.attention.scaled_dot_product_attention``, softmax(Q Kᵀ / √d) V, with
``impl="fast"`` (torch's fused kernel) or ``impl="reference"`` (the formula, one line per
operation). Query, key and value come from one fused projection ``qkv`` (C → 3C), split into
``n_head`` heads of d = C / n_head features each; "causal" means position t attends to
positions 0..t only, so the logits at t never depend on a later token.

Initialization follows GPT-2: every weight normal with std 0.02, biases zero, layer norms
one and zero, and the two projections that write into the residual stream in each block
(``attention.proj`` and ``mlp.proj``) scaled down by 1/√(2·n_layer), since 2·n_layer of them
add up along the residual path.

Generation with a key/value cache: ``model(idx, state=cache, return_state=True)`` returns
the logits of the new tokens and the cache extended by them: one (k, v) pair per layer, each
(B, n_head, T_past + T, d). The new tokens take positions T_past .. T_past + T - 1 and attend
to the cached keys as well as to each other (the causal mask aligned at the end), so feeding a
prompt and then one token at a time gives the same logits as reading the whole sequence at
once, while each step costs one token's work. Positions are learned for 0..block_size - 1
only, so a sequence (cached plus new) can be at most ``block_size`` tokens long; past that,
``zoo.apps.generate`` restarts the cache from the last ``block_size`` tokens.

Differences from GPT-2 worth knowing: GELU is the exact one by default (GPT-2 used its tanh
approximation, ``gelu="tanh"``, with which GPT-2's published weights load:
``zoo.models.gpt2_weights``); ``bias=False`` drops every bias of the linear layers and layer
norms (nanoGPT's option: a little faster, a little better). The model is built at sizes for
characters on a CPU (4 layers, 4 heads, 128 features, 64-character context, 0.8M
parameters), the configuration of nanoGPT's ``shakespeare_char`` CPU example.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from zoo.config.values import is_int
from zoo.errors import ZooError
from zoo.models.attention import ATTENTION_IMPLS, scaled_dot_product_attention
from zoo.models.layers import check_token_ids
from zoo.registry import register_model

DEFAULT_VOCAB_SIZE, DEFAULT_BLOCK_SIZE = 65, 64
INIT_STD = 0.02  # GPT-2's initialization scale
# the builder's gelu= → torch.nn.GELU's approximate=: no parameter, so either builds the same
GELU_APPROXIMATIONS = {"exact": "none", "tanh": "tanh"}

# A key/value cache: one (keys, values) pair per layer, each (B, n_head, T_past, head_dim).
KeyValue = tuple[torch.Tensor, torch.Tensor]
Cache = tuple[KeyValue, ...]


def _describe_cache(state: Any) -> str:
    """What was given as a key/value cache, for the error refusing it."""
    if not isinstance(state, tuple | list):
        return f"a {type(state).__name__}"
    described = f"a {type(state).__name__} of {len(state)}"
    first = state[0] if state else None
    if isinstance(first, tuple | list) and first and isinstance(first[0], torch.Tensor):
        described += f", its first keys of shape {tuple(first[0].shape)}"
    return described


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention (Vaswani et al. 2017, section 3.2.2) with one fused
    projection for queries, keys and values and an output projection back to the residual
    stream.

    ``forward(x, past=None, need_weights=False)`` reads x (B, T, C) and returns the output
    (B, T, C), this layer's keys and values including ``past`` (the cache entry), and the
    attention weights (B, n_head, T, T_past + T) when ``need_weights``, else None.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool, impl: str) -> None:
        super().__init__()
        self.n_head, self.head_dim = n_head, n_embd // n_head
        self.dropout, self.impl = dropout, impl
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=bias)  # W_Q, W_K, W_V side by side
        self.proj = nn.Linear(n_embd, n_embd, bias=bias)  # W_O: the heads back to C features
        self.proj.residual = True  # writes into the residual stream: scaled initialization
        self.residual_dropout = nn.Dropout(dropout)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) → (B, n_head, T, head_dim): each head a batch of its own."""
        batch, steps, _ = x.shape
        return x.view(batch, steps, self.n_head, self.head_dim).transpose(1, 2)

    def forward(
        self, x: torch.Tensor, past: KeyValue | None = None, need_weights: bool = False
    ) -> tuple[torch.Tensor, KeyValue, torch.Tensor | None]:
        batch, steps, channels = x.shape
        q, k, v = self.qkv(x).split(channels, dim=2)  # (B, T, C) each
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)  # (B, H, T, d)
        if past is not None:  # the cached keys and values of the earlier tokens come first
            k = torch.cat([past[0], k], dim=2)  # (B, H, T_past + T, d)
            v = torch.cat([past[1], v], dim=2)
        out, weights = scaled_dot_product_attention(
            q,
            k,
            v,
            is_causal=True,  # aligned at the end: new token i sees the past and new tokens <= i
            dropout_p=self.dropout if self.training else 0.0,
            impl=self.impl,
            need_weights=need_weights,
        )  # (B, H, T, d)
        out = out.transpose(1, 2).reshape(batch, steps, channels)  # the heads side by side
        return self.residual_dropout(self.proj(out)), (k, v), weights


class FeedForward(nn.Module):
    """The position-wise feed-forward network: Linear(C, 4C) → GELU → Linear(4C, C)."""

    def __init__(self, n_embd: int, dropout: float, bias: bool, gelu: str = "exact") -> None:
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU(approximate=GELU_APPROXIMATIONS[gelu])
        self.proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.proj.residual = True  # writes into the residual stream: scaled initialization
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(self.gelu(self.fc(x))))


class Block(nn.Module):
    """One pre-norm Transformer decoder block: x + attention(norm1(x)), then + mlp(norm2(x))."""

    def __init__(
        self, n_embd: int, n_head: int, dropout: float, bias: bool, impl: str, gelu: str = "exact"
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(n_embd, bias=bias)
        self.attention = CausalSelfAttention(n_embd, n_head, dropout, bias, impl)
        self.norm2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = FeedForward(n_embd, dropout, bias, gelu)

    def forward(
        self, x: torch.Tensor, past: KeyValue | None = None, need_weights: bool = False
    ) -> tuple[torch.Tensor, KeyValue, torch.Tensor | None]:
        attended, present, weights = self.attention(self.norm1(x), past, need_weights)
        x = x + attended  # residual connection around attention
        x = x + self.mlp(self.norm2(x))  # and around the MLP
        return x, present, weights


class GPT(nn.Module):
    """A decoder-only Transformer over token ids (see the module docstring).

    ``forward(idx, state=None, return_state=False)``: idx (B, T) token ids → logits
    (B, T, vocab_size), the logits at position t predicting token t + 1; with a key/value
    cache ``state`` (from an earlier call with ``return_state=True``) the tokens of ``idx``
    continue the cached ones; ``return_state=True`` returns ``(logits, cache)``.

    ``forward_features`` (the final layer norm's output, (B, T, C)) and ``forward_head`` (the
    tied head) split ``forward`` in two. There is no ``reset_classifier``: the head is the
    token embedding, so changing the number of outputs means changing the vocabulary, which
    is a new model. ``attention_maps(idx)`` gives every layer's attention weights.

    ``stateful = False``: each training window is read afresh (no state carried from one
    window to the next); ``kv_cache = True``: generation feeds only the new tokens.
    """

    stateful = False
    kv_cache = True

    def __init__(
        self,
        *,
        vocab_size: int,
        block_size: int,
        n_layer: int,
        n_head: int,
        n_embd: int,
        dropout: float = 0.0,
        bias: bool = True,
        impl: str = "fast",
        gelu: str = "exact",
    ) -> None:
        super().__init__()
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.num_classes = vocab_size  # outputs per step
        self.num_features = n_embd  # the width forward_head reads
        self.token_embedding = nn.Embedding(vocab_size, n_embd)  # E: (vocab, C)
        self.position_embedding = nn.Embedding(block_size, n_embd)  # learned: (block, C)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            Block(n_embd, n_head, dropout, bias, impl, gelu) for _ in range(n_layer)
        )
        self.final_norm = nn.LayerNorm(n_embd, bias=bias)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight  # weight tying: one (vocab, C) tensor
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialization (see the module docstring)."""
        residual_std = INIT_STD / math.sqrt(2 * self.n_layer)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                std = residual_std if getattr(module, "residual", False) else INIT_STD
                nn.init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)
            elif isinstance(module, nn.LayerNorm):
                module.reset_parameters()  # weight 1, bias 0
        # the head is the token embedding: modules() met it as a Linear and as an Embedding,
        # with the same std

    # -- checks -------------------------------------------------------------------------------
    def _check_input(self, idx: torch.Tensor, state: Cache | None) -> int:
        """Refuse a bad input or cache; returns the number of cached tokens, T_past."""
        if not isinstance(idx, torch.Tensor) or idx.ndim != 2 or idx.is_floating_point():
            got = (
                f"{idx.dtype} of shape {tuple(idx.shape)}"
                if isinstance(idx, torch.Tensor)
                else type(idx).__name__
            )
            raise ZooError(f"gpt reads integer token ids of shape (batch, steps), got {got}.")
        check_token_ids(idx, self.vocab_size, "gpt")
        past = 0 if state is None else self._check_cache(state, idx.shape[0])
        total = past + idx.shape[1]
        if total > self.block_size:
            cached = f" ({past} cached + {idx.shape[1]} new)" if past else ""
            raise ZooError(
                f"a sequence of {total} tokens{cached} is longer than the model's block_size "
                f"{self.block_size} (it has learned positions 0..{self.block_size - 1} only); "
                f"give at most the last {self.block_size} tokens."
            )
        return past

    def _check_cache(self, state: Any, batch: int) -> int:
        heads, head_dim = self.n_head, self.n_embd // self.n_head
        pairs = list(state) if isinstance(state, tuple | list) else []
        ok = len(pairs) == self.n_layer and all(
            isinstance(pair, tuple | list) and len(pair) == 2 for pair in pairs
        )
        if ok:
            shape = pairs[0][0].shape if isinstance(pairs[0][0], torch.Tensor) else None
            ok = shape is not None and len(shape) == 4
            ok = ok and all(
                isinstance(t, torch.Tensor) and t.shape == shape for pair in pairs for t in pair
            )
            ok = ok and tuple(shape[:2]) == (batch, heads) and shape[3] == head_dim
        if not ok:
            raise ZooError(
                f"gpt's state must be the key/value cache a call with return_state=True "
                f"returned: {self.n_layer} (keys, values) pairs of shape (batch={batch}, "
                f"n_head={heads}, cached steps, {head_dim}); got {_describe_cache(state)}."
            )
        return pairs[0][0].shape[2]

    # -- the network --------------------------------------------------------------------------
    def transform(
        self, idx: torch.Tensor, state: Cache | None = None, need_weights: bool = False
    ) -> tuple[torch.Tensor, Cache, list[torch.Tensor]]:
        """The final layer norm's output (B, T, C), the new cache, and each layer's attention
        weights (B, n_head, T, T_past + T) when ``need_weights`` (else an empty list)."""
        past = self._check_input(idx, state)
        positions = torch.arange(past, past + idx.shape[1], device=idx.device)  # (T,)
        x = self.token_embedding(idx) + self.position_embedding(positions)  # (B, T, C)
        x = self.dropout(x)
        cache, maps = [], []
        for layer, block in enumerate(self.blocks):
            x, present, weights = block(x, None if state is None else state[layer], need_weights)
            cache.append(present)
            if weights is not None:
                maps.append(weights)
        return self.final_norm(x), tuple(cache), maps

    def forward_features(self, idx: torch.Tensor, state: Cache | None = None) -> torch.Tensor:
        return self.transform(idx, state)[0]  # (B, T, C)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, T, vocab): x Eᵀ

    def forward(
        self, idx: torch.Tensor, state: Cache | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, Cache]:
        features, cache, _ = self.transform(idx, state)
        logits = self.forward_head(features)
        return (logits, cache) if return_state else logits

    def attention_maps(self, idx: torch.Tensor, state: Cache | None = None) -> list[torch.Tensor]:
        """Each layer's attention weights for ``idx`` (B, T): a list of n_layer tensors
        (B, n_head, T, T_past + T), row t the distribution over the positions token t reads
        (zero after t). Computed through the reference attention, whatever ``impl``; call it
        under ``torch.no_grad()`` and in eval mode to draw them."""
        return self.transform(idx, state, need_weights=True)[2]

    def extra_repr(self) -> str:
        return f"block_size={self.block_size}, vocab_size={self.vocab_size}"


# ---------------------------------------------------------------------------------------------
# Builder
# ---------------------------------------------------------------------------------------------


def _check_arguments(arguments: dict[str, Any]) -> None:
    """Refuse a bad builder argument with one message naming it and what is allowed."""

    def refuse(message: str) -> None:
        raise ZooError(f"model 'gpt': {message}")

    for key in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
        if not (is_int(arguments[key]) and arguments[key] >= 1):
            refuse(f"{key} must be an integer >= 1, got {arguments[key]!r}.")
    n_embd, n_head = arguments["n_embd"], arguments["n_head"]
    if n_embd % n_head:
        refuse(
            f"n_embd={n_embd} is not divisible by n_head={n_head}: each head gets n_embd / "
            f"n_head features; choose n_head among the divisors of {n_embd}."
        )
    num_classes, vocab_size = arguments["num_classes"], arguments["vocab_size"]
    if num_classes is not None and num_classes != vocab_size:
        refuse(
            f"num_classes must equal vocab_size={vocab_size} (the head is the token embedding, "
            f"tied), got {num_classes!r}; leave it null or set both."
        )
    if not isinstance(arguments["bias"], bool):
        refuse(f"bias must be true or false, got {arguments['bias']!r}.")
    if arguments["impl"] not in ATTENTION_IMPLS:
        refuse(f"impl must be one of {', '.join(ATTENTION_IMPLS)}, got {arguments['impl']!r}.")
    if arguments["gelu"] not in GELU_APPROXIMATIONS:
        refuse(f"gelu must be one of {', '.join(GELU_APPROXIMATIONS)}, got {arguments['gelu']!r}.")


def example_input(
    batch_size: int = 1,
    *,
    size: int | None = None,
    generator: torch.Generator | None = None,
    **kwargs: Any,
) -> torch.Tensor:
    """``batch_size`` sequences of ``size`` (default: the block size) token ids below
    ``vocab_size``."""
    steps = size or kwargs.get("block_size", DEFAULT_BLOCK_SIZE)
    vocab_size = kwargs.get("vocab_size") or kwargs.get("num_classes") or DEFAULT_VOCAB_SIZE
    return torch.randint(0, vocab_size, (batch_size, steps), generator=generator)


@register_model(
    family="transformer",
    tasks=("language_model",),
    input_kinds=("tokens",),
    default_input_size=(DEFAULT_BLOCK_SIZE,),
    example_input=example_input,
    paper="Radford et al. 2019, Language models are unsupervised multitask learners",
    inapplicable={
        "norm": "GPT-2's pre-norm LayerNorms are its architecture (Radford et al. 2019); batch "
        "norm would mix statistics across positions a causal model must not see.",
        "activation": "GPT-2's feed-forward activation is GELU (Radford et al. 2019), as the "
        "nanoGPT layout the weights follow.",
    },
)
def gpt(
    *,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    num_classes: int | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_layer: int = 4,
    n_head: int = 4,
    n_embd: int = 128,
    dropout: float = 0.0,
    bias: bool = True,
    impl: str = "fast",
    gelu: str = "exact",
) -> GPT:
    """A GPT language model over ``vocab_size`` tokens with a context of ``block_size``.

    ``num_classes`` (the outputs per step) defaults to, and must equal, ``vocab_size``: the
    head is tied to the token embedding. ``impl``: ``"fast"`` or ``"reference"`` attention.
    ``gelu``: ``"exact"`` or ``"tanh"`` (GPT-2's approximation, Hendrycks & Gimpel 2016).
    """
    _check_arguments(locals())
    return GPT(
        vocab_size=vocab_size,
        block_size=block_size,
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        dropout=float(dropout),
        bias=bias,
        impl=impl,
        gelu=gelu,
    )


__all__ = ["GPT", "Block", "CausalSelfAttention", "FeedForward", "gpt"]
