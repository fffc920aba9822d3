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
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from zoo.errors import ZooError

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
