"""The Transformer encoder: our block against torch.nn.TransformerEncoderLayer with the same
weights (post-norm and pre-norm), the sinusoidal encoding against its closed form, and the
``transformer`` classifier's inputs, pooling, padding, attention maps and refusals."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import named
from torch import nn

from zoo import ZooError, create_model
from zoo.models.transformer import (
    LearnedPositionalEncoding,
    SinusoidalPositionalEncoding,
    TransformerEncoderLayer,
    sinusoidal_table,
)

B, T, D, HEADS, FF = 3, 7, 16, 4, 24
ATOL = 1e-5


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def layer_pair(norm_first: bool, activation: str, dropout: float = 0.0):
    """torch.nn's layer with random weights, and ours loaded from its state dict."""
    torch.manual_seed(0)
    reference = nn.TransformerEncoderLayer(
        D, HEADS, FF, dropout, activation, batch_first=True, norm_first=norm_first
    )
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.normal_(0, 0.3)
    ours = TransformerEncoderLayer(D, HEADS, FF, dropout, activation, norm_first=norm_first)
    assert list(ours.state_dict()) == list(reference.state_dict())
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_layer_equals_torch_transformer_encoder_layer(norm_first, activation, mode):
    """Eval mode takes torch's fused fast path, training mode (dropout 0) its plain one."""
    reference, ours = layer_pair(norm_first, activation)
    reference.train(mode == "train")
    ours.train(mode == "train")
    x = randn(B, T, D, seed=1)
    padding = torch.arange(T) >= torch.tensor([T, 4, 2])[:, None]
    with torch.no_grad():
        for masks in ({}, {"src_key_padding_mask": padding}):
            expected = reference(x, **masks)
            ours_masks = {"key_padding_mask": masks["src_key_padding_mask"]} if masks else {}
            out, weights = ours(x, **ours_masks)
            assert weights is None
            real = ~padding if masks else torch.ones(B, T, dtype=torch.bool)
            # torch's fast path zeroes padded positions; only real ones are compared
            torch.testing.assert_close(out[real], expected[real], atol=ATOL, rtol=ATOL)


def test_layer_attention_weights_and_causal_mask_match_torch():
    reference, ours = layer_pair(True, "gelu")
    x = randn(B, T, D, seed=1)
    causal = nn.Transformer.generate_square_subsequent_mask(T)
    with torch.no_grad():
        expected = reference(x, src_mask=causal, is_causal=True)
        out, weights = ours(x, is_causal=True, need_weights=True)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=ATOL)
    assert weights.shape == (B, HEADS, T, T)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, HEADS, T))
    assert bool((weights.triu(1) == 0).all())


def test_sinusoidal_encoding_is_the_closed_form():
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d))."""
    for d_model in (16, 7):
        table = sinusoidal_table(50, d_model)
        for pos in (0, 1, 13, 49):
            for j in range(d_model):
                angle = pos / 10000 ** ((j - j % 2) / d_model)
                value = math.sin(angle) if j % 2 == 0 else math.cos(angle)
                assert table[pos, j].item() == pytest.approx(value, abs=1e-6)
    encoding = SinusoidalPositionalEncoding(50, 16)
    x = randn(2, 9, 16)
    torch.testing.assert_close(encoding(x), x + sinusoidal_table(9, 16))
    assert not list(encoding.state_dict())  # a function of the sizes, not state


def test_learned_encoding_adds_a_table_entry_per_position():
    encoding = LearnedPositionalEncoding(10, 16)
    assert encoding.weight.shape == (1, 10, 16)
    x = randn(2, 4, 16)
    torch.testing.assert_close(encoding(x), x + encoding.weight[:, :4])


# -- the classifier ---------------------------------------------------------------------------

SMALL = {"input_size": 5, "num_classes": 3, "d_model": D, "num_heads": HEADS}


def build(**kwargs) -> nn.Module:
    torch.manual_seed(0)
    return create_model("transformer", **{**SMALL, **kwargs}).eval()


@pytest.mark.parametrize("pooling", ["cls", "mean"])
@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
@pytest.mark.parametrize("norm_first", [True, False])
def test_classifier_variants_and_fast_equals_reference(pooling, positional, norm_first):
    kwargs = {"pooling": pooling, "positional": positional, "norm_first": norm_first}
    fast = build(**kwargs)
    reference = build(impl="reference", **kwargs)
    reference.load_state_dict(fast.state_dict(), strict=True)
    x = randn(B, T, 5)
    with torch.no_grad():
        torch.testing.assert_close(reference(x), fast(x), atol=ATOL, rtol=ATOL)
    assert fast(x).shape == (B, 3)
    assert ("cls_token" in dict(fast.named_parameters())) == (pooling == "cls")
    learned = [k for k in fast.state_dict() if k.startswith("positional.")]
    assert learned == (["positional.weight"] if positional == "learned" else [])
    assert isinstance(fast.encoder.norm, nn.LayerNorm if norm_first else nn.Identity)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_padded_steps_never_change_the_output(pooling):
    model = build(pooling=pooling)
    lengths = torch.tensor([T, 4, 2])
    x = randn(B, T, 5)
    noisy = torch.where(torch.arange(T)[None, :, None] >= lengths[:, None, None], 99.0, x)
    with torch.no_grad():
        out = model(x, lengths)
        torch.testing.assert_close(model(noisy, lengths), out, atol=ATOL, rtol=ATOL)
        alone = model(x[1:2, :4])  # the second sequence without its padding
    torch.testing.assert_close(out[1:2], alone, atol=ATOL, rtol=ATOL)
    with pytest.raises(ZooError, match=named("lengths", f"[1, {T}]", f"[{T}, 0, 2]")):
        model(x, torch.tensor([T, 0, 2]))


def test_attention_maps_one_per_layer_with_the_class_token():
    model = build(num_layers=3)
    x = randn(B, T, 5)
    with torch.no_grad():
        maps = model.attention_maps(x)
        logits = model(x)
    assert len(maps) == 3
    for weights in maps:
        assert weights.shape == (B, HEADS, T + 1, T + 1)
        torch.testing.assert_close(weights.sum(-1), torch.ones(B, HEADS, T + 1))
    torch.testing.assert_close(model(x), logits)  # asking for maps changes nothing
    padded = model.attention_maps(x, torch.tensor([T, 4, 2]))
    assert bool((padded[0][2, :, :, 3:] == 0).all())  # 2 steps + the class token


def test_token_ids_through_an_embedding():
    model = build(input_size=None, vocab_size=11)
    assert model.embedding.weight.shape == (11, D)
    ids = torch.randint(0, 11, (B, T))
    assert model(ids).shape == (B, 3)
    with pytest.raises(ZooError, match=named("vocab_size=11", "(batch, steps)", f"({B}, {T}, 5)")):
        model(randn(B, T, 5))


def test_a_sequence_longer_than_max_len_is_refused_naming_both():
    model = build(max_len=6)
    model(randn(1, 6, 5))
    with pytest.raises(ZooError, match=named("7 steps", "max_len=6")):
        model(randn(1, 7, 5))


def test_dropout_trains_and_evaluates_differently():
    model = build(dropout=0.5).train()
    x = randn(B, T, 5)
    assert not torch.allclose(model(x), model(x))
    model.eval()
    torch.testing.assert_close(model(x), model(x))


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"d_model": 18}, ("d_model=18", "num_heads=4")),
        ({"activation": "tanh"}, ("activation", "relu", "gelu", "'tanh'")),
        ({"pooling": "max"}, ("pooling", "cls", "mean", "'max'")),
        ({"positional": "rotary"}, ("positional", "sinusoidal", "learned", "'rotary'")),
        ({"max_len": 0}, ("max_len", ">= 1", "0")),
        ({"norm_first": "yes"}, ("norm_first", "true", "false", "'yes'")),
        ({"impl": "flash"}, ("impl", "fast", "reference", "'flash'")),
        ({"input_size": None}, ("input_size", ">= 1", "None")),
        ({"vocab_size": 0, "input_size": None}, ("vocab_size", "null", ">= 1", "0")),
    ],
)
def test_bad_arguments_name_what_is_allowed(kwargs, fragments):
    with pytest.raises(ZooError, match=named("'transformer'", *fragments)):
        create_model("transformer", **{**SMALL, **kwargs})


def test_the_config_reads_the_sequence_shape_from_the_data(make_config):
    """configs/model/transformer.yaml on data=digits_rows: the data's 8 steps of 8 features
    become input_size and max_len (the contract test checks the config passes every check)."""
    from zoo.config.checks import model_kwargs

    cfg = make_config("model=transformer", "data=digits_rows")
    kwargs = model_kwargs(cfg)
    assert (kwargs["input_size"], kwargs["max_len"], kwargs["num_classes"]) == (8, 8, 10)
    assert kwargs["vocab_size"] is None
