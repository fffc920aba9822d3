"""Scaled dot-product and multi-head attention: the literal formula against the fused path,
zoo's MultiHeadAttention against torch.nn.MultiheadAttention with the same weights, and what
masks promise (a hidden key never changes an output; a causal output never sees the future).

Mask conventions, the trap these tests guard: ``key_padding_mask`` True = padding (hidden),
as torch.nn.MultiheadAttention; a boolean ``attn_mask`` True = MAY attend, as
F.scaled_dot_product_attention — the opposite of torch.nn.MultiheadAttention's boolean
``attn_mask``, so a mask ported from torch.nn code is inverted (``~mask``).
"""

from __future__ import annotations

import math

import pytest
import torch
from conftest import named
from torch import nn

from zoo import ZooError
from zoo.models.attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention

B, T, E, HEADS = 3, 6, 16, 4
ATOL = 1e-5


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def random_mask(*shape: int, seed: int = 0) -> torch.Tensor:
    """Booleans, True = may attend, with every query seeing at least one key."""
    mask = torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < 0.6
    mask[..., 0] = True
    return mask


def padding_mask() -> torch.Tensor:
    """(B, T) True = padding: the sequences are T, T-2 and 2 steps long."""
    lengths = torch.tensor([T, T - 2, 2])
    return torch.arange(T) >= lengths[:, None]


def pair(
    dropout: float = 0.0, bias: bool = True
) -> tuple[nn.MultiheadAttention, MultiHeadAttention]:
    """torch.nn's module with random weights, and ours holding a copy of them."""
    torch.manual_seed(0)
    reference = nn.MultiheadAttention(E, HEADS, dropout=dropout, bias=bias, batch_first=True)
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.normal_(0, 0.3)
    ours = MultiHeadAttention(E, HEADS, dropout=dropout, bias=bias)
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference.eval(), ours.eval()


# -- the function: literal formula against the fused path ------------------------------------


def test_reference_is_the_formula():
    q, k, v = randn(2, 3, 5, 4, seed=1), randn(2, 3, 7, 4, seed=2), randn(2, 3, 7, 8, seed=3)
    out, weights = scaled_dot_product_attention(q, k, v, impl="reference", need_weights=True)
    expected_weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(4), dim=-1)
    torch.testing.assert_close(weights, expected_weights)
    torch.testing.assert_close(out, expected_weights @ v)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))


@pytest.mark.parametrize("masking", ["none", "bool", "float", "causal", "bool+causal", "cached"])
def test_literal_and_fast_paths_agree(masking):
    q, k, v = randn(2, 3, T, 8, seed=1), randn(2, 3, T, 8, seed=2), randn(2, 3, T, 8, seed=3)
    kwargs = {}
    if masking in ("bool", "bool+causal"):
        kwargs["attn_mask"] = random_mask(2, 1, T, T)
    if masking == "float":
        kwargs["attn_mask"] = randn(T, T, seed=4)
    if "causal" in masking:
        kwargs["is_causal"] = True
    if masking == "cached":  # 2 new queries against T cached keys
        q, kwargs["is_causal"] = q[:, :, -2:], True
    fast, none = scaled_dot_product_attention(q, k, v, impl="fast", **kwargs)
    literal, weights = scaled_dot_product_attention(
        q, k, v, impl="reference", need_weights=True, **kwargs
    )
    assert none is None
    torch.testing.assert_close(fast, literal, atol=ATOL, rtol=ATOL)
    if "causal" in masking or masking == "cached":
        visible = causal_mask(q.shape[-2], T)
        assert bool((weights[..., ~visible] == 0).all())


def test_a_query_with_nothing_to_attend_to_gets_zero_in_both_paths():
    q, k, v = randn(1, 1, 3, 4, seed=1), randn(1, 1, 3, 4, seed=2), randn(1, 1, 3, 4, seed=3)
    mask = torch.tensor([[True, False, False], [False, False, False], [True, True, True]])
    for impl in ("fast", "reference"):
        out, _ = scaled_dot_product_attention(q, k, v, attn_mask=mask, impl=impl)
        assert torch.isfinite(out).all() and bool((out[0, 0, 1] == 0).all())


def test_causal_mask_is_lower_triangular_aligned_at_the_end():
    assert torch.equal(causal_mask(3, 3), torch.ones(3, 3, dtype=torch.bool).tril())
    assert causal_mask(2, 4).tolist() == [[True, True, True, False], [True, True, True, True]]


# -- MultiHeadAttention against torch.nn.MultiheadAttention ----------------------------------


def test_parameter_layout_is_torch_nn_multiheadattention():
    reference, ours = pair()
    assert list(ours.state_dict()) == list(reference.state_dict())
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        "in_proj_weight": (3 * E, E),
        "in_proj_bias": (3 * E,),
        "out_proj.weight": (E, E),
        "out_proj.bias": (E,),
    }
    reference.load_state_dict(ours.state_dict(), strict=True)  # and back
    _, no_bias = pair(bias=False)
    assert list(no_bias.state_dict()) == ["in_proj_weight", "out_proj.weight"]


def torch_forward(reference, x, key=None, **kwargs):
    key = x if key is None else key
    return reference(x, key, key, **kwargs)


@pytest.mark.parametrize("impl", ["fast", "reference"])
@pytest.mark.parametrize("masks", ["none", "padding", "attn_mask", "both", "float", "causal"])
def test_same_outputs_and_averaged_weights_as_torch(impl, masks):
    reference, ours = pair()
    ours.impl = impl
    x = randn(B, T, E, seed=1)
    ours_kwargs, torch_kwargs = {}, {}
    if masks in ("padding", "both"):
        ours_kwargs["key_padding_mask"] = torch_kwargs["key_padding_mask"] = padding_mask()
    if masks in ("attn_mask", "both"):
        allowed = random_mask(T, T, seed=5)  # ours: True = may attend
        ours_kwargs["attn_mask"] = allowed
        torch_kwargs["attn_mask"] = ~allowed  # torch.nn's: True = may NOT attend
    if masks == "float":
        ours_kwargs["attn_mask"] = torch_kwargs["attn_mask"] = randn(T, T, seed=6)
    if masks == "causal":
        ours_kwargs["is_causal"] = True
        torch_kwargs["attn_mask"] = ~causal_mask(T, T)
    with torch.no_grad():
        expected, expected_weights = torch_forward(reference, x, need_weights=True, **torch_kwargs)
        expected_fast, _ = torch_forward(reference, x, need_weights=False, **torch_kwargs)
        out, none = ours(x, **ours_kwargs)
        out_w, weights = ours(x, need_weights=True, **ours_kwargs)
    assert none is None and weights.shape == (B, T, T)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(out, expected_fast, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(out_w, expected, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(weights, expected_weights, atol=ATOL, rtol=ATOL)


def test_per_head_weights_and_cross_attention_match_torch():
    reference, ours = pair()
    x, memory = randn(B, T, E, seed=1), randn(B, T + 3, E, seed=2)
    with torch.no_grad():
        expected, expected_weights = reference(
            x, memory, memory, need_weights=True, average_attn_weights=False
        )
        out, weights = ours(x, memory, need_weights=True, average_attn_weights=False)
    assert weights.shape == (B, HEADS, T, T + 3)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(weights, expected_weights, atol=ATOL, rtol=ATOL)


def test_the_boolean_mask_conversion_matters():
    """Given torch.nn's mask unconverted, ours attends where torch hides: the outputs differ.
    (The test above passes only because it inverts the mask.)"""
    reference, ours = pair()
    x = randn(B, T, E, seed=1)
    allowed = random_mask(T, T, seed=5)
    with torch.no_grad():
        expected, _ = reference(x, x, x, attn_mask=~allowed, need_weights=False)
        converted, _ = ours(x, attn_mask=allowed)
        unconverted, _ = ours(x, attn_mask=~allowed)
    torch.testing.assert_close(converted, expected, atol=ATOL, rtol=ATOL)
    assert not torch.allclose(unconverted, expected, atol=1e-2)


def test_three_dimensional_attn_mask_is_per_batch_and_head():
    reference, ours = pair()
    x = randn(B, T, E, seed=1)
    allowed = random_mask(B * HEADS, T, T, seed=7)
    with torch.no_grad():
        expected, _ = reference(x, x, x, attn_mask=~allowed, need_weights=False)
        out, _ = ours(x, attn_mask=allowed)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=ATOL)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_dropout_only_in_training(impl):
    _, ours = pair(dropout=0.5)
    ours.impl = impl
    x = randn(B, T, E, seed=1)
    with torch.no_grad():
        first, second = ours.eval()(x)[0], ours(x)[0]
        assert torch.equal(first, second)
        ours.train()
        torch.manual_seed(0)
        dropped = ours(x)[0]
        torch.manual_seed(1)
        other = ours(x)[0]
    assert not torch.allclose(dropped, first) and not torch.allclose(dropped, other)


# -- what masks promise -----------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_what_the_padding_mask_hides_never_changes_an_output(impl):
    _, ours = pair()
    ours.impl = impl
    padding = padding_mask()
    x = randn(B, T, E, seed=1)
    noisy = torch.where(padding[:, :, None], 100 * randn(B, T, E, seed=2), x)
    with torch.no_grad():
        out, weights = ours(x, key_padding_mask=padding, need_weights=True)
        perturbed, _ = ours(noisy, key_padding_mask=padding)
    real = ~padding
    torch.testing.assert_close(perturbed[real], out[real], atol=ATOL, rtol=ATOL)
    assert bool((weights.transpose(1, 2)[padding] == 0).all())  # no weight on padded keys


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_what_the_attn_mask_hides_never_changes_an_output(impl):
    """A key (and its value) hidden from query i can change in any way: output i stays."""
    _, ours = pair()
    ours.impl = impl
    x, memory = randn(B, T, E, seed=1), randn(B, T, E, seed=2)
    allowed = random_mask(T, T, seed=8)
    for j in range(1, T):
        changed = memory.clone()
        changed[:, j] += 50 * randn(B, E, seed=j)
        with torch.no_grad():
            out, _ = ours(x, memory, attn_mask=allowed)
            perturbed, _ = ours(x, changed, attn_mask=allowed)
        blind = ~allowed[:, j]  # the queries that may not see key j
        assert blind.any() or allowed[:, j].all()
        torch.testing.assert_close(perturbed[:, blind], out[:, blind], atol=ATOL, rtol=ATOL)
        if allowed[:, j].any():
            assert not torch.allclose(perturbed[:, ~blind], out[:, ~blind])


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_a_causal_output_never_depends_on_later_inputs(impl):
    _, ours = pair()
    ours.impl = impl
    x = randn(B, T, E, seed=1)
    with torch.no_grad():
        out, _ = ours(x, is_causal=True)
        for t in range(T - 1):
            future = x.clone()
            future[:, t + 1 :] = 100 * randn(B, T - t - 1, E, seed=t)
            perturbed, _ = ours(future, is_causal=True)
            torch.testing.assert_close(perturbed[:, : t + 1], out[:, : t + 1], atol=ATOL, rtol=ATOL)
            assert not torch.allclose(perturbed[:, t + 1 :], out[:, t + 1 :])


def test_gradients_of_the_two_paths_agree():
    _, fast = pair()
    _, literal = pair()
    literal.impl = "reference"
    x = randn(B, T, E, seed=1)
    for module in (fast, literal):
        out, _ = module(x, key_padding_mask=padding_mask(), is_causal=True)
        out[~padding_mask()].square().sum().backward()
    for (name, a), b in zip(fast.named_parameters(), literal.parameters()):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-4, rtol=1e-4, msg=name)


# -- refusals ---------------------------------------------------------------------------------


def test_heads_must_divide_the_width():
    with pytest.raises(ZooError, match=named("embed_dim=10", "num_heads=4")):
        MultiHeadAttention(10, 4)


def test_a_dropout_outside_0_1_is_refused_when_built():
    with pytest.raises(ZooError, match=named("dropout", "1.5")):
        MultiHeadAttention(8, 2, dropout=1.5)


def test_bad_inputs_and_masks_are_refused():
    _, ours = pair()
    with pytest.raises(ZooError, match=named(f"(batch, steps, {E})", f"({B}, {T}, {E + 1})")):
        ours(randn(B, T, E + 1))
    with pytest.raises(ZooError, match=named("key_padding_mask", "(3, 6)")):
        ours(randn(B, T, E), key_padding_mask=torch.zeros(B, T))
    with pytest.raises(ZooError, match=named("impl", "fast", "reference", "'flash'")):
        MultiHeadAttention(E, HEADS, impl="flash")
