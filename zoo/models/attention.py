"""Scaled dot-product attention (Vaswani et al. 2017, "Attention is all you need", section
3.2.1; primer: "Attention Mechanisms" and "Transformers"):

    Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V

Two implementations of the same function, chosen by ``impl``:

* ``"reference"``: the formula written literally, one line per operation, which can also
  return the attention weights (the softmax) for drawing;
* ``"fast"``: ``torch.nn.functional.scaled_dot_product_attention`` (fused kernels, flash
  attention on a GPU).

Masks follow ``scaled_dot_product_attention``'s convention: a boolean ``attn_mask`` is True
where a query MAY attend to a key (``torch.nn.MultiheadAttention``'s ``key_padding_mask`` and
boolean ``attn_mask`` mean the opposite: True there hides a key). A float ``attn_mask`` is
added to the scores. ``is_causal`` hides every key after the query's own position.

:class:`MultiHeadAttention` (section 3.2.2) runs the function once per head on learned
projections of the queries, keys and values, with exactly ``torch.nn.MultiheadAttention``'s
parameters (``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,), ``out_proj``), so the state
dict of one loads into the other.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from zoo.config.values import is_positive_int
from zoo.errors import ZooError
from zoo.models.layers import check_dropout

ATTENTION_IMPLS = ("fast", "reference")


def causal_mask(queries: int, keys: int, device: torch.device | None = None) -> torch.Tensor:
    """(queries, keys) booleans, True where query i may attend to key j: j <= i + keys -
    queries (the queries are the last ``queries`` positions, as in cached decoding)."""
    offset = keys - queries
    rows = torch.arange(queries, device=device).unsqueeze(1)  # (Tq, 1)
    columns = torch.arange(keys, device=device).unsqueeze(0)  # (1, Tk)
    return columns <= rows + offset  # (Tq, Tk)


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    attn_mask: torch.Tensor | None = None,
    is_causal: bool = False,
    dropout_p: float = 0.0,
    impl: str = "fast",
    need_weights: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """softmax(Q Kᵀ / √d_k + mask) V for ``q`` (..., Tq, d_k), ``k`` (..., Tk, d_k) and ``v``
    (..., Tk, d_v), usually (B, heads, T, d). Returns the output (..., Tq, d_v) and, with
    ``need_weights`` (which takes the reference path), the weights (..., Tq, Tk).

    ``attn_mask``: booleans (True: may attend) or floats added to the scores, broadcastable to
    (..., Tq, Tk). ``is_causal``: query i sees keys up to its own position (aligned at the
    end when Tq < Tk, as for the new tokens of a cached decoder). A query that may attend to
    no key gets zero output (not NaN) in both implementations.
    """
    if impl not in ATTENTION_IMPLS:
        raise ZooError(f"attention impl must be one of {', '.join(ATTENTION_IMPLS)}, got {impl!r}.")
    queries, keys = q.shape[-2], k.shape[-2]
    if impl == "fast" and not need_weights and is_causal and attn_mask is None and queries == keys:
        # torch's own causal flag lets it pick its flash-attention kernels on a GPU
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout_p), None
    mask = attn_mask
    if is_causal:
        causal = causal_mask(queries, keys, q.device)
        mask = causal if mask is None else _combine(mask, causal)
    if impl == "fast" and not need_weights:
        if mask is not None and mask.dtype == torch.bool:
            # torch's kernel gives NaN for a query with nothing to attend to; ours gives zero
            empty = ~mask.any(dim=-1, keepdim=True)  # (..., Tq, 1)
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask | empty, dropout_p=dropout_p
            )
            return out.masked_fill(empty, 0.0), None
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p), None
    return _reference_attention(q, k, v, mask, dropout_p)


def _combine(mask: torch.Tensor, causal: torch.Tensor) -> torch.Tensor:
    if mask.dtype == torch.bool:
        return mask & causal
    return mask.masked_fill(~causal, float("-inf"))


def _reference_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None,
    dropout_p: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The formula, one operation per line."""
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., Tq, Tk): Q Kᵀ / √d_k
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))  # hidden keys get zero weight
    elif mask is not None:
        scores = scores + mask
    weights = torch.softmax(scores, dim=-1)  # (..., Tq, Tk): each row sums to 1
    weights = torch.nan_to_num(weights, nan=0.0)  # a query that may attend to nothing
    dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0 else weights
    return dropped @ v, weights  # (..., Tq, d_v)


class MultiHeadAttention(nn.Module):
    """Multi-head attention (Vaswani et al. 2017, section 3.2.2; primer: "Attention Mechanism"):

        MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,
        head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)

    with ``h = num_heads`` heads of ``embed_dim / num_heads`` features each. The parameters are
    ``torch.nn.MultiheadAttention``'s, in its layout and initialization: ``in_proj_weight``
    (3E, E) stacks W^Q, W^K, W^V (each head a block of rows), ``in_proj_bias`` (3E,) and
    ``out_proj`` the Linear W^O, so ``state_dict`` loads both ways. Inputs are batch first,
    (B, T, E), as ``torch.nn.MultiheadAttention(batch_first=True)``.

    ``forward(query, key=None, value=None, *, key_padding_mask, attn_mask, is_causal,
    need_weights, average_attn_weights)``; ``key`` defaults to ``query`` (self-attention) and
    ``value`` to ``key``. The two masks have OPPOSITE senses, each that of its torch source:

    * ``key_padding_mask`` (B, Tk) booleans, ``torch.nn.MultiheadAttention``'s meaning:
      **True = padding**, the key is hidden from every query;
    * ``attn_mask`` (Tq, Tk) or (B·heads, Tq, Tk), ``F.scaled_dot_product_attention``'s
      meaning: a boolean **True = may attend** (the opposite of torch.nn.MultiheadAttention's
      boolean ``attn_mask``: pass ``~mask`` when porting code), or floats added to the scores;
    * ``is_causal``: query i sees keys up to position i only.

    Returns the output (B, Tq, E) and, with ``need_weights``, the attention weights (before
    dropout) averaged over heads (B, Tq, Tk), or per head (B, heads, Tq, Tk) with
    ``average_attn_weights=False``; else None. ``impl`` picks the attention function's path
    (``"fast"`` or the literal ``"reference"``); asking for the weights takes the reference
    path, whose outputs equal the fast one's.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        *,
        dropout: float = 0.0,
        bias: bool = True,
        impl: str = "fast",
    ) -> None:
        super().__init__()
        for key, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not is_positive_int(value):
                raise ZooError(f"{key} must be an integer >= 1, got {value!r}.")
        if embed_dim % num_heads != 0:
            raise ZooError(
                f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}: each head "
                "takes embed_dim / num_heads features."
            )
        if impl not in ATTENTION_IMPLS:
            raise ZooError(
                f"attention impl must be one of {', '.join(ATTENTION_IMPLS)}, got {impl!r}."
            )
        check_dropout(dropout)
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.impl = impl
        self.batch_first = True
        # W^Q, W^K, W^V stacked, as torch.nn.MultiheadAttention registers them
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        if bias:
            self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)  # W^O
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.MultiheadAttention's initialization: Xavier-uniform W^Q, W^K, W^V, zero
        biases, W^O as any Linear."""
        nn.init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
            f"impl={self.impl!r}, batch_first=True"
        )

    def _project(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q W^Q + b, K W^K + b, V W^V + b: one product for self-attention, three otherwise."""
        if key is query and value is query:
            return F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        weights = self.in_proj_weight.chunk(3)
        biases = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        return tuple(  # type: ignore[return-value]
            F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases)
        )

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = x.shape
        return x.view(batch, steps, self.num_heads, self.head_dim).transpose(1, 2)  # (B,h,T,d)

    def _mask(
        self,
        key_padding_mask: torch.Tensor | None,
        attn_mask: torch.Tensor | None,
        batch: int,
        queries: int,
        keys: int,
    ) -> torch.Tensor | None:
        """One mask in the attention function's convention, broadcastable to (B, h, Tq, Tk)."""
        mask = attn_mask
        if mask is not None:
            if mask.dim() == 3:  # (B·h, Tq, Tk), torch.nn.MultiheadAttention's 3-d form
                mask = mask.reshape(batch, self.num_heads, queries, keys)
            elif mask.dim() != 2:
                raise ZooError(
                    f"attn_mask must be ({queries}, {keys}) or ({batch * self.num_heads}, "
                    f"{queries}, {keys}) (batch·heads, queries, keys), got {tuple(mask.shape)}."
                )
        if key_padding_mask is None:
            return mask
        if key_padding_mask.shape != (batch, keys) or key_padding_mask.dtype != torch.bool:
            raise ZooError(
                f"key_padding_mask must be booleans of shape ({batch}, {keys}) (True: padding), "
                f"got {key_padding_mask.dtype} of shape {tuple(key_padding_mask.shape)}."
            )
        visible = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, Tk): True = may attend
        if mask is None:
            return visible
        if mask.dtype == torch.bool:
            return mask & visible
        return mask.masked_fill(~visible, float("-inf"))

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        *,
        key_padding_mask: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
        average_attn_weights: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        key = query if key is None else key
        value = key if value is None else value
        if query.dim() != 3 or query.shape[-1] != self.embed_dim:
            raise ZooError(
                f"MultiHeadAttention takes (batch, steps, {self.embed_dim}) inputs, got "
                f"{tuple(query.shape)}."
            )
        batch, queries, _ = query.shape
        keys = key.shape[1]
        q, k, v = (self._split_heads(x) for x in self._project(query, key, value))
        out, weights = scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=self._mask(key_padding_mask, attn_mask, batch, queries, keys),
            is_causal=is_causal,
            dropout_p=self.dropout if self.training else 0.0,
            impl=self.impl,
            need_weights=need_weights,
        )  # (B, h, Tq, d), (B, h, Tq, Tk)
        out = out.transpose(1, 2).reshape(batch, queries, self.embed_dim)  # Concat(heads)
        out = self.out_proj(out)  # (B, Tq, E)
        if not need_weights:
            return out, None  # (the reference path computes them anyway)
        if average_attn_weights:
            weights = weights.mean(dim=1)  # (B, Tq, Tk)
        return out, weights
