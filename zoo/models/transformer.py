"""The Transformer encoder (Vaswani et al. 2017, "Attention is all you need"; primer:
"Attention Mechanism" and "Transformers") and a classifier of sequences built on it.

The pieces, top to bottom:

* :class:`TransformerEncoderLayer`: multi-head self-attention and a position-wise
  feed-forward network, FFN(x) = W_2 act(W_1 x + b_1) + b_2, each wrapped in dropout, a
  residual connection and layer normalization. ``norm_first=False`` is the paper's post-norm
  block, x = LayerNorm(x + Sublayer(x)); ``norm_first=True`` the pre-norm block of later
  work (Xiong et al. 2020; ViT), x = x + Sublayer(LayerNorm(x)), which trains without a
  warm-up. Its parameters carry ``torch.nn.TransformerEncoderLayer``'s names and layouts
  (``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2``), so the state dict of one
  loads into the other and, with the same weights, they compute the same function.
* :class:`TransformerEncoder`: a stack of layers, with a final layer norm for pre-norm
  stacks (a pre-norm block leaves its residual stream unnormalized).
* :class:`SinusoidalPositionalEncoding` (the paper's section 3.5) and
  :class:`LearnedPositionalEncoding` (a learned table, as BERT and ViT): attention is blind
  to order, so each position adds its own vector.
* :class:`TransformerClassifier`, registered as ``transformer``: an encoder over sequences
  of feature vectors (B, T, input_size) or token ids (B, T) with ``vocab_size``, pooled by a
  class token (``pooling="cls"``, BERT's [CLS] and ViT's class token) or by the mean over the
  steps, then a linear head.

Where ``transformer``'s defaults differ from the paper's base model (section 3 and table 3):

* pre-norm blocks (``norm_first=True``; the paper's post-norm is ``norm_first=False``) and
  GELU in the feed-forward network (``activation="gelu"``; the paper's is ``"relu"``), as
  ViT and most later encoders;
* token embeddings are not multiplied by √d_model (section 3.4 scales them, with the
  embedding shared with the output layer, which a classifier does not have); the
  positional vectors are added to the embeddings as they are;
* a small encoder for the primer's sequences (d_model 64, 4 heads, 2 layers, feed-forward
  128; the paper's base: 512, 8, 6, 2048); dropout 0.1, as the paper's.

Every attention layer can return its weights: ``model.attention_maps(x)`` returns one
(B, heads, T, T) tensor per layer (T counts the class token), each row a query's softmax over
the keys; ``.mean(1)`` averages the heads. :mod:`zoo.models.vit` shares this API.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.config.values import is_int, is_positive_int
from zoo.errors import ZooError
from zoo.models.attention import ATTENTION_IMPLS, MultiHeadAttention
from zoo.models.layers import (
    Classifier,
    Lengths,
    check_dropout,
    check_lengths,
    check_token_ids,
    sequence_example_input,
)
from zoo.registry import register_model

ACTIVATIONS = ("relu", "gelu")
POOLINGS = ("cls", "mean")
POSITIONALS = ("sinusoidal", "learned")
DEFAULT_STEPS, DEFAULT_INPUT_SIZE = 8, 8


# ---------------------------------------------------------------------------------------------
# The encoder
# ---------------------------------------------------------------------------------------------


class TransformerEncoderLayer(nn.Module):
    """One encoder block: self-attention then the feed-forward network, each a residual
    branch with dropout and layer normalization (Vaswani et al. 2017, section 3.1).

    Post-norm (``norm_first=False``, the paper)::

        x = norm1(x + dropout1(SelfAttention(x)))
        x = norm2(x + dropout2(linear2(dropout(act(linear1(x))))))

    Pre-norm (``norm_first=True``)::

        x = x + dropout1(SelfAttention(norm1(x)))
        x = x + dropout2(linear2(dropout(act(linear1(norm2(x))))))

    ``torch.nn.TransformerEncoderLayer(batch_first=True)``'s names, layouts, defaults and
    initialization; ``attention_dropout`` (default: ``dropout``, as torch) is the dropout on
    the attention weights, which ViT sets apart. ``forward(x, *, key_padding_mask,
    attn_mask, is_causal, need_weights)`` returns ``(x, weights)``: the per-head attention
    weights (B, heads, T, T) with ``need_weights``, else None. The masks mean what
    :class:`~zoo.models.attention.MultiHeadAttention`'s do (``key_padding_mask`` True =
    padding; a boolean ``attn_mask`` True = may attend).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        *,
        norm_first: bool = False,
        layer_norm_eps: float = 1e-5,
        attention_dropout: float | None = None,
        impl: str = "fast",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ZooError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}."
            )
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        self.self_attn = MultiHeadAttention(
            d_model, num_heads, dropout=attention_dropout, impl=impl
        )
        self.linear1 = nn.Linear(d_model, dim_feedforward)  # W_1, b_1
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)  # W_2, b_2
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = nn.GELU() if activation == "gelu" else nn.ReLU()

    def _attention_block(
        self, x: torch.Tensor, need_weights: bool, **masks: Any
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        out, weights = self.self_attn(
            x, need_weights=need_weights, average_attn_weights=False, **masks
        )
        return self.dropout1(out), weights

    def _feed_forward_block(self, x: torch.Tensor) -> torch.Tensor:
        """FFN(x) = W_2 act(W_1 x + b_1) + b_2, the same at every position."""
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self,
        x: torch.Tensor,
        *,
        key_padding_mask: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        masks = {"key_padding_mask": key_padding_mask, "attn_mask": attn_mask}
        masks["is_causal"] = is_causal  # type: ignore[assignment]
        if self.norm_first:
            attended, weights = self._attention_block(self.norm1(x), need_weights, **masks)
            x = x + attended
            x = x + self._feed_forward_block(self.norm2(x))
        else:
            attended, weights = self._attention_block(x, need_weights, **masks)
            x = self.norm1(x + attended)
            x = self.norm2(x + self._feed_forward_block(x))
        return x, weights


class TransformerEncoder(nn.Module):
    """``num_layers`` encoder layers in turn, then ``norm`` (a LayerNorm for a pre-norm stack,
    ``nn.Identity`` for a post-norm one, whose layers end normalized).

    ``forward(x, *, key_padding_mask=None, return_attention=False)`` returns ``(x, maps)``:
    ``maps`` is the list of every layer's per-head attention weights (B, heads, T, T) with
    ``return_attention``, else empty."""

    def __init__(
        self,
        num_layers: int,
        d_model: int,
        num_heads: int,
        dim_feedforward: int,
        dropout: float = 0.1,
        activation: str = "relu",
        *,
        norm_first: bool = False,
        layer_norm_eps: float = 1e-5,
        attention_dropout: float | None = None,
        impl: str = "fast",
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(
                d_model,
                num_heads,
                dim_feedforward,
                dropout,
                activation,
                norm_first=norm_first,
                layer_norm_eps=layer_norm_eps,
                attention_dropout=attention_dropout,
                impl=impl,
            )
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps) if norm_first else nn.Identity()

    def forward(
        self,
        x: torch.Tensor,
        *,
        key_padding_mask: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        maps: list[torch.Tensor] = []
        for layer in self.layers:
            x, weights = layer(x, key_padding_mask=key_padding_mask, need_weights=return_attention)
            if weights is not None:
                maps.append(weights)
        return self.norm(x), maps


# ---------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------


def sinusoidal_table(max_len: int, d_model: int) -> torch.Tensor:
    """Vaswani et al.'s positional encodings (max_len, d_model), section 3.5:

        PE(pos, 2i)   = sin(pos / 10000^(2i / d_model))
        PE(pos, 2i+1) = cos(pos / 10000^(2i / d_model))

    (an odd ``d_model`` drops the last cosine)."""
    position = torch.arange(max_len, dtype=torch.float64)[:, None]  # (L, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (⌈d/2⌉,)
    angle = position / 10000 ** (two_i / d_model)  # (L, ⌈d/2⌉)
    table = torch.zeros(max_len, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angle)
    table[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return table.float()


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoids of :func:`sinusoidal_table` to (B, T, d_model) inputs, T <=
    ``max_len``. The table is a non-persistent buffer: a function of the sizes, not state."""

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.register_buffer("pe", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_length(x.shape[1], self.max_len)
        return x + self.pe[: x.shape[1]].to(x.dtype)


class LearnedPositionalEncoding(nn.Module):
    """Adds a learned vector per position, ``weight`` (1, max_len, d_model), initialized
    N(0, 0.02²) as BERT and torchvision's ViT, to (B, T, d_model) inputs, T <= ``max_len``."""

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.weight = nn.Parameter(torch.empty(1, max_len, d_model).normal_(std=0.02))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_length(x.shape[1], self.max_len)
        return x + self.weight[:, : x.shape[1]]  # (B, T, d_model)

    def no_weight_decay(self) -> set[str]:
        """The table is not a weight of a linear map: no weight decay on it (as timm)."""
        return {"weight"}


def check_length(steps: int, max_len: int) -> None:
    if steps > max_len:
        raise ZooError(
            f"a sequence of {steps} positions is longer than the positional table's "
            f"max_len={max_len} (the class token counts as one); build the model with a "
            "larger max_len."
        )


# ---------------------------------------------------------------------------------------------
# The classifier
# ---------------------------------------------------------------------------------------------


class TransformerClassifier(Classifier):
    """A Transformer encoder over sequences, with a linear head (primer: "Transformers").

    Inputs (B, T, input_size) are projected to ``d_model`` by a Linear; token ids (B, T)
    (with ``vocab_size``) are looked up in an ``nn.Embedding``. With ``pooling="cls"`` a
    learned class token is put in front of the sequence and its final state is the
    sequence's features; with ``"mean"`` the features are the mean of the final states over
    the real steps. Positions (sinusoidal or learned, ``max_len`` of them, one more for the
    class token) are added, then dropout, the encoder and the head.

    ``forward(x, lengths=None)``: ``lengths`` (B,) are the real lengths of a padded batch;
    padded steps are hidden from attention (``key_padding_mask``) and from the mean, so they
    never change the output. ``attention_maps(x, lengths=None)`` returns every layer's
    per-head attention weights, a list of (B, heads, T', T') with T' = T (+1 with the class
    token, at position 0).
    """

    def __init__(
        self,
        input_size: int | None,
        num_classes: int,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 128,
        dropout: float = 0.1,
        activation: str = "gelu",
        norm_first: bool = True,
        positional: str = "sinusoidal",
        pooling: str = "cls",
        max_len: int = 512,
        vocab_size: int | None = None,
        impl: str = "fast",
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.vocab_size = vocab_size
        self.pooling = pooling
        self.max_len = max_len
        if vocab_size is not None:
            self.embedding: nn.Module = nn.Embedding(vocab_size, d_model)
        else:
            self.embedding = nn.Linear(input_size, d_model)  # type: ignore[arg-type]
        self.cls_token = None
        if pooling == "cls":
            self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
            nn.init.normal_(self.cls_token, std=0.02)
        positions = max_len + (pooling == "cls")
        if positional == "sinusoidal":
            self.positional: nn.Module = SinusoidalPositionalEncoding(positions, d_model)
        else:
            self.positional = LearnedPositionalEncoding(positions, d_model)
        self.dropout = nn.Dropout(dropout)
        self.encoder = TransformerEncoder(
            num_layers,
            d_model,
            num_heads,
            dim_feedforward,
            dropout,
            activation,
            norm_first=norm_first,
            impl=impl,
        )
        self.num_features = d_model
        self.head = nn.Linear(d_model, num_classes)

    # -- inputs ---------------------------------------------------------------------------

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.vocab_size is not None:
            if x.dim() != 2 or x.is_floating_point():
                raise ZooError(
                    f"transformer with vocab_size={self.vocab_size} takes token ids of shape "
                    f"(batch, steps), got {x.dtype} of shape {tuple(x.shape)}."
                )
            check_token_ids(x, self.vocab_size, "transformer")
        elif x.dim() != 3 or x.shape[-1] != self.input_size or not x.is_floating_point():
            raise ZooError(
                f"transformer takes float sequences of shape (batch, steps, {self.input_size}), "
                f"got {x.dtype} of shape {tuple(x.shape)}."
            )
        if x.shape[1] > self.max_len:
            raise ZooError(
                f"transformer: a sequence of {x.shape[1]} steps is longer than "
                f"max_len={self.max_len}; build the model with max_len >= {x.shape[1]}."
            )
        return self.embedding(x)  # (B, T, d_model)

    @staticmethod
    def _padding_mask(x: torch.Tensor, lengths: Lengths) -> torch.Tensor | None:
        """(B, T) booleans, True at padded steps, from the real ``lengths``."""
        lengths = check_lengths(x, lengths)
        if lengths is None:
            return None
        steps = x.shape[1]
        return torch.arange(steps, device=x.device) >= lengths[:, None]  # (B, T)

    # -- the network ----------------------------------------------------------------------

    def encode(
        self, x: torch.Tensor, lengths: Lengths = None, *, return_attention: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None, list[torch.Tensor]]:
        """The encoder's final states (B, T', d_model), the padding mask (B, T') or None and
        the attention maps (empty unless ``return_attention``)."""
        padding = self._padding_mask(x, lengths)
        h = self._embed(x)  # (B, T, d)
        if self.cls_token is not None:
            h = torch.cat([self.cls_token.expand(h.shape[0], -1, -1), h], dim=1)  # (B, 1+T, d)
            if padding is not None:
                padding = torch.cat([padding.new_zeros(h.shape[0], 1), padding], dim=1)
        h = self.dropout(self.positional(h))
        h, maps = self.encoder(h, key_padding_mask=padding, return_attention=return_attention)
        return h, padding, maps

    def pool(self, states: torch.Tensor, padding: torch.Tensor | None) -> torch.Tensor:
        """The class token's final state, or the mean over the real steps: (B, d_model)."""
        if self.pooling == "cls":
            return states[:, 0]
        if padding is None:
            return states.mean(dim=1)
        real = (~padding)[:, :, None]  # (B, T, 1)
        return states.masked_fill(~real, 0.0).sum(dim=1) / real.sum(dim=1)

    def forward_features(self, x: torch.Tensor, lengths: Lengths = None) -> torch.Tensor:
        states, padding, _ = self.encode(x, lengths)
        return self.pool(states, padding)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def forward(self, x: torch.Tensor, lengths: Lengths = None) -> torch.Tensor:  # type: ignore[override]
        return self.forward_head(self.forward_features(x, lengths))

    def attention_maps(self, x: torch.Tensor, lengths: Lengths = None) -> list[torch.Tensor]:
        """Every layer's per-head attention weights, a list of (B, heads, T', T') tensors."""
        return self.encode(x, lengths, return_attention=True)[2]

    def no_weight_decay(self) -> set[str]:
        """The class token is not a weight of a linear map: no weight decay on it (as timm)."""
        return {"cls_token"} if self.cls_token is not None else set()

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialized one for ``num_classes`` outputs."""
        self.head = self.like_model(nn.Linear(self.num_features, num_classes))


# ---------------------------------------------------------------------------------------------
# Builder
# ---------------------------------------------------------------------------------------------


def check_encoder_arguments(
    name: str, arguments: dict[str, Any], sizes: tuple[str, ...], width: str = "d_model"
) -> None:
    """Refuse a bad encoder argument with one message naming it and what is allowed: the
    integer ``sizes`` (>= 1), the choices, the attention dropout, and a ``width`` that the
    heads do not divide (``num_classes``, ``in_channels`` and ``dropout`` are checked before
    any builder runs: registry.COMMON_ARGUMENTS)."""

    def refuse(key: str, allowed: str) -> None:
        raise ZooError(f"model {name!r}: {key} must be {allowed}, got {arguments[key]!r}.")

    for key in sizes:
        if not (is_int(arguments[key]) and arguments[key] >= 1):
            refuse(key, "an integer >= 1")
    choices = {
        "activation": ACTIVATIONS,
        "pooling": POOLINGS,
        "positional": POSITIONALS,
        "impl": ATTENTION_IMPLS,
    }
    for key, allowed in choices.items():
        if key in arguments and arguments[key] not in allowed:
            refuse(key, "one of " + ", ".join(allowed))
    for key in ("norm_first",):
        if key in arguments and not isinstance(arguments[key], bool):
            refuse(key, "true or false")
    if "attention_dropout" in arguments:
        try:
            check_dropout(arguments["attention_dropout"])
        except (ZooError, TypeError):
            refuse("attention_dropout", "a number in [0, 1)")
    if arguments[width] % arguments["num_heads"] != 0:
        raise ZooError(
            f"model {name!r}: {width}={arguments[width]} is not divisible by "
            f"num_heads={arguments['num_heads']} (each head takes {width} / num_heads features)."
        )


@register_model(
    family="transformer",
    tasks=("classification", "regression"),
    input_kinds=("sequence", "tokens"),
    default_input_size=(DEFAULT_STEPS, DEFAULT_INPUT_SIZE),
    example_input=sequence_example_input,
    paper="Vaswani et al. 2017, Attention is all you need",
    inapplicable={
        "norm": "the Transformer's LayerNorms are part of each layer (Vaswani et al. 2017); "
        "norm_first chooses their place (pre-norm or the paper's post-norm).",
    },
)
def transformer(
    *,
    input_size: int | None = DEFAULT_INPUT_SIZE,
    num_classes: int = 10,
    d_model: int = 64,
    num_heads: int = 4,
    num_layers: int = 2,
    dim_feedforward: int = 128,
    dropout: float = 0.1,
    activation: str = "gelu",
    norm_first: bool = True,
    positional: str = "sinusoidal",
    pooling: str = "cls",
    max_len: int = 512,
    vocab_size: int | None = None,
    impl: str = "fast",
) -> TransformerClassifier:
    """A Transformer encoder classifier (or regressor) over sequences (B, T, input_size) or,
    with ``vocab_size``, token ids (B, T); ``pooling`` "cls" (class token) or "mean";
    ``positional`` "sinusoidal" or "learned" for at most ``max_len`` steps; ``norm_first``
    pre-norm (else the paper's post-norm) blocks; ``impl="reference"`` computes attention by
    the literal formula."""
    arguments = dict(locals())
    if arguments["input_size"] is None and vocab_size is not None:
        arguments["input_size"] = 1  # token ids: the embedding sets the width
    sizes = ("input_size", "d_model", "num_heads", "num_layers", "dim_feedforward", "max_len")
    check_encoder_arguments("transformer", arguments, sizes)
    if vocab_size is not None and not (is_positive_int(vocab_size)):
        raise ZooError(
            f"model 'transformer': vocab_size must be null or an integer >= 1, got {vocab_size!r}."
        )
    # token ids: no input width (the embedding sets it)
    return TransformerClassifier(**{**arguments, "input_size": None if vocab_size else input_size})
