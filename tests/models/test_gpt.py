"""What is specific to GPT (zoo/models/gpt.py): the key/value cache gives the logits of a full
pass, generation with it picks the same tokens, the model is causal, the head is tied to the
token embedding (also through save_pretrained), the parameter count has its closed form, the
two attention implementations agree, and bad sizes are refused. The contract every model
keeps is in test_contract.py."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import named
from safetensors.torch import load_file

from zoo import ZooError, create_model, load_pretrained, save_pretrained
from zoo.apps.generate import generate
from zoo.tasks.optim import parameter_groups

# A small configuration: quick, yet several layers and heads.
SMALL = {"vocab_size": 11, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 16}


def small_model(**kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("gpt", **{**SMALL, **kwargs}).eval()


def tokens(batch: int, steps: int, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, SMALL["vocab_size"], (batch, steps), generator=generator)


def test_attributes():
    model = small_model()
    assert model.stateful is False  # each training window is read afresh
    assert model.kv_cache is True
    assert model.block_size == SMALL["block_size"]


# -- the key/value cache ------------------------------------------------------------------------
@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_cached_logits_equal_a_full_pass(impl):
    """A prompt, then one token at a time through the cache: the logits of every position
    are those of one pass over the whole sequence."""
    model = small_model(impl=impl)
    idx = tokens(3, SMALL["block_size"])
    with torch.no_grad():
        full = model(idx)  # (B, T, V)
        prompt = 5
        logits, cache = model(idx[:, :prompt], return_state=True)
        pieces = [logits]
        for t in range(prompt, idx.shape[1]):
            logits, cache = model(idx[:, t : t + 1], state=cache, return_state=True)
            pieces.append(logits)
    assert len(cache) == SMALL["n_layer"]
    head_dim = SMALL["n_embd"] // SMALL["n_head"]
    for keys, values in cache:
        assert keys.shape == values.shape == (3, SMALL["n_head"], idx.shape[1], head_dim)
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=0, atol=1e-5)


def test_a_cache_extended_by_several_tokens_at_once():
    model = small_model()
    idx = tokens(2, 12)
    with torch.no_grad():
        _, cache = model(idx[:, :4], return_state=True)
        logits = model(idx[:, 4:], state=cache)
        torch.testing.assert_close(logits, model(idx)[:, 4:], rtol=0, atol=1e-5)


def greedy_without_cache(model, prompt: torch.Tensor, length: int) -> torch.Tensor:
    """Greedy decoding that reads the whole context (its last block_size tokens) each step."""
    context = prompt
    for _ in range(length):
        logits = model(context[:, -model.block_size :])  # (B, T, V)
        context = torch.cat([context, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    return context[:, prompt.shape[1] :]


def greedy_with_cache(model, prompt: torch.Tensor, length: int) -> torch.Tensor:
    """Greedy decoding that feeds each new token once, restarting the cache from the last
    block_size tokens when the context outgrows it (as zoo.apps.generate does)."""
    context = prompt
    logits, cache = model(context, return_state=True)
    for _ in range(length):
        token = logits[:, -1].argmax(dim=-1, keepdim=True)  # (B, 1)
        context = torch.cat([context, token], dim=1)
        if context.shape[1] > model.block_size:
            logits, cache = model(context[:, -model.block_size :], return_state=True)
        else:
            logits, cache = model(token, state=cache, return_state=True)
    return context[:, prompt.shape[1] :]


@pytest.mark.parametrize("length", [8, 30])  # within the block, and past it
def test_greedy_decoding_with_the_cache_equals_without(length):
    model = small_model()
    prompt = tokens(2, 4)
    with torch.no_grad():
        expected = greedy_without_cache(model, prompt, length)
        assert torch.equal(greedy_with_cache(model, prompt, length), expected)
    # zoo.apps.generate's cached path: top-k 1 is greedy decoding
    assert torch.equal(generate(model, prompt, length, top_k=1), expected)


# -- causality ----------------------------------------------------------------------------------
def test_generation_runs_in_eval_mode_and_restores_the_mode():
    """Dropout off while sampling (the same tokens as from the model in eval mode), and the
    caller's mode back after."""
    model = small_model(dropout=0.5).train()
    prompt = tokens(2, 3)
    sampled = generate(model, prompt, 6, generator=torch.Generator().manual_seed(0))
    assert model.training and all(m.training for m in model.modules())
    expected = generate(model.eval(), prompt, 6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(sampled, expected)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_future_tokens_never_change_earlier_logits(impl):
    model = small_model(impl=impl)
    idx = tokens(2, SMALL["block_size"])
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        logits = model(idx)
        for t in range(1, idx.shape[1]):
            changed = idx.clone()
            changed[:, t:] = torch.randint(
                0, SMALL["vocab_size"], changed[:, t:].shape, generator=generator
            )
            other = model(changed)
            torch.testing.assert_close(other[:, :t], logits[:, :t], rtol=0, atol=1e-6)
            assert not torch.allclose(other[:, t:], logits[:, t:])


def test_no_gradient_flows_from_a_position_to_earlier_ones():
    model = small_model()
    embedded = model.token_embedding(tokens(1, 10)).detach().requires_grad_(True)
    x = embedded + model.position_embedding(torch.arange(10))
    for block in model.blocks:
        x = block(x)[0]
    model.head(model.final_norm(x))[0, 4].sum().backward()
    assert embedded.grad[0, 5:].abs().max() == 0  # later tokens: no influence
    assert embedded.grad[0, :5].abs().sum(dim=-1).min() > 0  # earlier ones: some


# -- the two attention implementations ----------------------------------------------------------
def test_reference_and_fast_attention_agree():
    fast = small_model(impl="fast", dropout=0.1)
    reference = small_model(impl="reference", dropout=0.1)
    reference.load_state_dict(fast.state_dict())
    idx = tokens(3, SMALL["block_size"])
    with torch.no_grad():
        torch.testing.assert_close(reference(idx), fast(idx), rtol=0, atol=1e-5)
    # and their gradients
    fast.zero_grad()
    reference.zero_grad()
    fast(idx).square().mean().backward()
    reference(idx).square().mean().backward()
    for (name, p), q in zip(fast.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_attention_maps_are_causal_distributions():
    model = small_model()
    idx = tokens(2, 9)
    with torch.no_grad():
        maps = model.attention_maps(idx)
    assert len(maps) == SMALL["n_layer"]
    for weights in maps:
        assert weights.shape == (2, SMALL["n_head"], 9, 9)
        torch.testing.assert_close(weights.sum(dim=-1), torch.ones(2, SMALL["n_head"], 9))
        above = torch.triu(torch.ones(9, 9, dtype=torch.bool), diagonal=1)
        assert weights[..., above].abs().max() == 0  # nothing after the query's own position
    # the first token can only attend to itself
    assert torch.all(maps[0][..., 0, 0] == 1)


def test_attention_maps_match_the_reference_computation_of_the_first_layer():
    model = small_model()
    idx = tokens(1, 6)
    with torch.no_grad():
        x = model.token_embedding(idx) + model.position_embedding(torch.arange(6))
        block = model.blocks[0]
        q, k, _ = block.attention.qkv(block.norm1(x)).split(SMALL["n_embd"], dim=2)
        q, k = block.attention.split_heads(q), block.attention.split_heads(k)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        scores = scores.masked_fill(torch.triu(torch.ones(6, 6, dtype=torch.bool), 1), -torch.inf)
        torch.testing.assert_close(model.attention_maps(idx)[0], scores.softmax(dim=-1))


# -- weight tying --------------------------------------------------------------------------------
def test_the_head_is_the_token_embedding():
    model = small_model()
    assert model.head.weight is model.token_embedding.weight
    assert model.head.bias is None
    names = [n for n, _ in model.named_parameters()]
    assert "head.weight" not in names  # one tensor, listed once
    groups = parameter_groups(model, 0.1)
    decayed = groups[0]["params"]
    assert sum(p is model.token_embedding.weight for p in decayed) == 1
    assert all(p.ndim == 2 for p in decayed)  # weight decay on matrices only
    assert all(p.ndim == 1 for p in groups[1]["params"])  # biases and layer norms
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(
        p.numel() for p in model.parameters()
    )


def test_save_pretrained_round_trip_keeps_the_head_tied(tmp_path):
    model = small_model()
    with torch.no_grad():
        model.token_embedding.weight.add_(1.0)  # weights that differ from a fresh model's
    save_pretrained(model, tmp_path / "gpt")
    stored = load_file(tmp_path / "gpt" / "model.safetensors")
    assert "token_embedding.weight" in stored and "head.weight" not in stored  # stored once
    loaded = load_pretrained(tmp_path / "gpt").eval()
    assert loaded.head.weight is loaded.token_embedding.weight
    torch.testing.assert_close(loaded.head.weight, model.head.weight, rtol=0, atol=0)
    idx = tokens(2, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(idx), model(idx), rtol=0, atol=0)


def test_the_tie_survives_a_training_step():
    model = small_model().train()
    optimizer = torch.optim.AdamW(parameter_groups(model, 0.1), lr=1e-2)
    before = model.token_embedding.weight.detach().clone()
    model(tokens(2, 8)).square().mean().backward()
    optimizer.step()
    assert model.head.weight is model.token_embedding.weight
    assert not torch.equal(model.token_embedding.weight, before)


# -- sizes ---------------------------------------------------------------------------------------
def closed_form_parameter_count(
    vocab_size: int, block_size: int, n_layer: int, n_embd: int, bias: bool
) -> int:
    """Counted by hand, C = n_embd:

    embeddings: tokens vocab·C, positions block·C (the head is the token embedding: 0 more);
    per block: qkv C·3C (+3C), attention projection C·C (+C), MLP C·4C (+4C) and 4C·C (+C),
    so 12·C² weights and 9C biases; two layer norms of C weights (+C biases) each;
    the final layer norm: C weights (+C biases).
    """
    c = n_embd
    per_block = 12 * c * c + (9 * c if bias else 0) + 2 * (2 * c if bias else c)
    final_norm = 2 * c if bias else c
    return vocab_size * c + block_size * c + n_layer * per_block + final_norm


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # the default, nanoGPT's shakespeare_char CPU model
        {"bias": False},
        {"vocab_size": 100, "block_size": 32, "n_layer": 3, "n_head": 6, "n_embd": 48},
        {"vocab_size": 7, "block_size": 5, "n_layer": 1, "n_head": 1, "n_embd": 8, "bias": False},
    ],
)
def test_parameter_count_has_its_closed_form(kwargs):
    model = create_model("gpt", **kwargs)
    config = {"vocab_size": 65, "block_size": 64, "n_layer": 4, "n_embd": 128, "bias": True}
    config.update({k: v for k, v in kwargs.items() if k in config})
    assert sum(p.numel() for p in model.parameters()) == closed_form_parameter_count(**config)


def test_default_parameter_count():
    # 12·4·128² + 13·4·128 + 2·128 + (65 + 64)·128: nanoGPT's "0.80M" plus 8,192 positions
    assert sum(p.numel() for p in create_model("gpt").parameters()) == 809_856


def test_gpt2_initialization():
    torch.manual_seed(0)
    model = create_model("gpt", n_layer=8, n_embd=64, n_head=4)
    residual = 0.02 / math.sqrt(2 * 8)
    block = model.blocks[3]
    for weight, std in [
        (model.token_embedding.weight, 0.02),
        (model.position_embedding.weight, 0.02),
        (block.attention.qkv.weight, 0.02),
        (block.mlp.fc.weight, 0.02),
        (block.attention.proj.weight, residual),
        (block.mlp.proj.weight, residual),
    ]:
        assert weight.std().item() == pytest.approx(std, rel=0.1)
    assert torch.all(block.attention.qkv.bias == 0) and torch.all(block.norm1.weight == 1)


# -- errors --------------------------------------------------------------------------------------
def test_a_sequence_longer_than_the_block_is_refused():
    model = small_model()
    with pytest.raises(ZooError, match=named("17 tokens", "block_size 16")):
        model(tokens(1, 17))
    with torch.no_grad():
        _, cache = model(tokens(1, 10), return_state=True)
    with pytest.raises(ZooError, match=named("17 tokens", "10 cached", "7 new", "block_size 16")):
        model(tokens(1, 7), state=cache)


def test_a_bad_cache_is_refused():
    model = small_model()
    with torch.no_grad():
        _, cache = model(tokens(2, 4), return_state=True)
    with pytest.raises(ZooError, match=named("state", "batch=3", "(2, 2, 4, 8)")):
        model(tokens(3, 1), state=cache)  # another batch size
    with pytest.raises(ZooError, match=named("state", "2 (keys, values) pairs", "tuple of 1")):
        model(tokens(2, 1), state=cache[:1])  # one layer short


def test_bad_sizes_are_refused():
    with pytest.raises(ZooError, match=named("n_embd=10", "n_head=4")):
        create_model("gpt", n_embd=10, n_head=4)
    with pytest.raises(ZooError, match=named("num_classes", "vocab_size=65", "7")):
        create_model("gpt", num_classes=7)
    for key in ("block_size", "n_layer", "n_head", "vocab_size"):
        with pytest.raises(ZooError, match=named("'gpt'", key, ">= 1", "0")):
            create_model("gpt", **{key: 0})
    with pytest.raises(ZooError, match=named("impl", "fast", "reference", "'flash'")):
        create_model("gpt", impl="flash")
    with pytest.raises(ZooError, match=named("(batch, steps)", "torch.float32", "(2, 3, 4)")):
        small_model()(torch.zeros(2, 3, 4))


def test_dropout_acts_in_training_only():
    model = small_model(dropout=0.5)
    idx = tokens(2, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(idx), model(idx), rtol=0, atol=0)
        model.train()
        assert not torch.allclose(model(idx), model(idx))
