"""GPT-2's weights in Hugging Face's layout (zoo/models/gpt2_weights.py) against the reference,
``transformers``' GPT2LMHeadModel: a small one with random weights, saved as ``save_pretrained``
writes it, gives the same logits in zoo's GPT, through a full pass and step by step through
both key/value caches; its byte-level BPE tokenizer round-trips text, and ``python -m
zoo.generate`` on the folder continues a prompt with HF's greedy tokens. The Hub is never
reached: ``hf:`` downloads go through a stand-in for ``hf_hub_download``."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip(
    "transformers", reason="the GPT-2 reference needs transformers: pip install -e '.[reference]'"
)
tokenizers = pytest.importorskip(
    "tokenizers", reason="GPT-2's tokenizer needs tokenizers: pip install -e '.[dev]'"
)

from conftest import named  # noqa: E402

from zoo import ZooError, create_model, load_pretrained  # noqa: E402
from zoo.apps.generate import generate, load_for_generation  # noqa: E402
from zoo.apps.generate import main as generate_main  # noqa: E402

SIZES = {"vocab_size": 300, "n_positions": 32, "n_embd": 64, "n_layer": 2, "n_head": 4}
SENTENCES = [
    "Hello, I'm a language model, and I read bytes.",
    "The quick brown fox jumps over the lazy dog.",
    "Language models predict the next token from the ones before it.",
    "GPT-2 reads byte-level byte-pair encodings: every text encodes.",
]


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    """A small GPT2LMHeadModel with random weights (every parameter, biases and layer norms
    included, so a swapped or untransposed tensor shows), saved with its tokenizer."""
    folder = tmp_path_factory.mktemp("gpt2")
    config = transformers.GPT2Config(**SIZES, bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    reference = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.normal_(0.0, 0.2)
    reference.save_pretrained(folder)  # safetensors (the default since transformers 4.35)
    tokenizer = tokenizers.ByteLevelBPETokenizer()
    tokenizer.train_from_iterator(
        SENTENCES, vocab_size=SIZES["vocab_size"], min_frequency=1, show_progress=False
    )
    tokenizer.save_model(str(folder))  # vocab.json, merges.txt
    return folder, reference


def tokens(batch: int, steps: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, SIZES["vocab_size"], (batch, steps), generator=generator)


def reference_step(reference, idx: torch.Tensor, past) -> tuple[torch.Tensor, object]:
    """transformers' logits for ``idx`` after its key/value cache ``past``, and the new cache
    (the argument is ``cache`` since transformers 5.x, ``past_key_values`` before)."""
    name = "cache" if "cache" in inspect.signature(reference.forward).parameters else None
    name = name or "past_key_values"
    out = reference(idx, use_cache=True, **({name: past} if past is not None else {}))
    return out.logits, getattr(out, name)


def test_logits_equal_transformers_full_pass_and_cached(hf_folder):
    folder, reference = hf_folder
    model = create_model("gpt", weights=folder).eval()
    assert (model.n_layer, model.n_head, model.n_embd) == (2, 4, 64)
    assert model.block_size == SIZES["n_positions"] and model.vocab_size == SIZES["vocab_size"]
    idx = tokens(2, 20)
    with torch.no_grad():
        expected = reference(idx).logits  # (B, T, V)
        torch.testing.assert_close(model(idx), expected, rtol=0, atol=1e-5)
        # a prompt, then one token at a time: zoo's cache against transformers' past_key_values
        prompt = 8
        ours, cache = model(idx[:, :prompt], return_state=True)
        logits, past = reference_step(reference, idx[:, :prompt], None)
        torch.testing.assert_close(ours, logits, rtol=0, atol=1e-5)
        for t in range(prompt, idx.shape[1]):
            ours, cache = model(idx[:, t : t + 1], state=cache, return_state=True)
            logits, past = reference_step(reference, idx[:, t : t + 1], past)
            torch.testing.assert_close(ours, logits, rtol=0, atol=1e-5)
            torch.testing.assert_close(ours, expected[:, t : t + 1], rtol=0, atol=1e-5)
    # the head stays tied to the token embedding, and load_pretrained reads the folder too
    assert model.head.weight is model.token_embedding.weight
    again = load_pretrained(folder)
    assert again.zoo_spec["kwargs"]["gelu"] == "tanh"
    torch.testing.assert_close(again.eval()(idx), model(idx), rtol=0, atol=0)


def test_tokenizer_round_trips_and_generation_matches_greedy_transformers(hf_folder, capsys):
    folder, reference = hf_folder
    model, tokenizer = load_for_generation(folder)
    for text in [*SENTENCES, "Unseen wörds ✓ and\ttabs\n"]:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    prompt = "Hello, I'm a language model,"
    ids = tokenizer.encode(prompt).unsqueeze(0)  # (1, T)
    assert ids.shape[1] < len(prompt)  # merges learned: fewer tokens than bytes
    length = 10
    expected = reference.generate(
        ids, max_new_tokens=length, do_sample=False, pad_token_id=0, attention_mask=None
    )[:, ids.shape[1] :]
    assert torch.equal(generate(model, ids, length, top_k=1), expected)
    assert (
        generate_main([str(folder), "--prompt", prompt, "--length", str(length), "--top-k", "1"])
        == 0
    )
    assert capsys.readouterr().out == prompt + tokenizer.decode(expected[0]) + "\n"


def copy_folder(folder: Path, destination: Path, **config) -> Path:
    shutil.copytree(folder, destination)
    path = destination / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    return destination


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("model_type", "llama"),
        ("activation_function", "relu"),
        ("layer_norm_epsilon", 1e-6),
        ("n_inner", 100),
        ("tie_word_embeddings", False),
        ("scale_attn_by_inverse_layer_idx", True),
        ("n_head", "four"),
    ],
)
def test_a_config_that_is_not_gpt2s_is_refused(hf_folder, tmp_path, key, value):
    folder = copy_folder(hf_folder[0], tmp_path / "bad", **{key: value})
    with pytest.raises(ZooError, match=named(key, repr(value))):
        create_model("gpt", weights=folder)


def test_every_tensor_shape_is_checked(hf_folder, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = copy_folder(hf_folder[0], tmp_path / "bad")
    tensors = load_file(folder / "model.safetensors")
    key = "transformer.h.1.mlp.c_fc.weight"
    tensors[key] = tensors[key].t().contiguous()  # nn.Linear's layout, not Conv1D's
    save_file(tensors, folder / "model.safetensors")
    with pytest.raises(ZooError, match=named("h.1.mlp.c_fc.weight", "(256, 64)", "(64, 256)")):
        create_model("gpt", weights=folder)
    del tensors[key]
    save_file(tensors, folder / "model.safetensors")
    with pytest.raises(ZooError, match=named("missing", "h.1.mlp.c_fc.weight")):
        create_model("gpt", weights=folder)
    (folder / "model.safetensors").unlink()  # a folder with pytorch_model.bin only
    with pytest.raises(ZooError, match=named("model.safetensors", "pytorch_model.bin")):
        create_model("gpt", weights=folder)
    with pytest.raises(ZooError, match=named("Hugging Face's", "'gpt'", "'lstm'")):
        create_model("lstm", weights=hf_folder[0])


def test_the_hubs_file_layout_loads(hf_folder, tmp_path):
    """The Hub's gpt2 file is GPT2Model's: no ``transformer.`` prefix, each block's causal
    mask saved as a buffer (``attn.bias``, ``attn.masked_bias``); some files also hold the
    tied ``lm_head.weight``, which must equal ``wte.weight``."""
    from safetensors.torch import load_file, save_file

    folder, reference = hf_folder
    hub = copy_folder(folder, tmp_path / "hub")
    tensors = {
        k.removeprefix("transformer."): v for k, v in load_file(hub / "model.safetensors").items()
    }
    size = SIZES["n_positions"]
    for layer in range(SIZES["n_layer"]):
        tensors[f"h.{layer}.attn.bias"] = torch.ones(size, size).tril().view(1, 1, size, size)
        tensors[f"h.{layer}.attn.masked_bias"] = torch.tensor(-1e4)
    tensors["lm_head.weight"] = tensors["wte.weight"].clone()
    save_file(tensors, hub / "model.safetensors")
    idx = tokens(1, 12)
    with torch.no_grad():
        logits = create_model("gpt", weights=hub).eval()(idx)
        torch.testing.assert_close(logits, reference(idx).logits, rtol=0, atol=1e-5)
    tensors["lm_head.weight"] = tensors["lm_head.weight"] + 1
    save_file(tensors, hub / "model.safetensors")
    with pytest.raises(ZooError, match=named("lm_head.weight", "wte.weight")):
        create_model("gpt", weights=hub)


def test_hub_names_download_the_four_files_only(hf_folder, monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    asked = []

    def hf_hub_download(repo_id, filename, revision=None):
        asked.append((repo_id, filename, revision))
        return str(hf_folder[0] / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    model = create_model("gpt", weights="hf:openai-community/gpt2@main")
    files = ["config.json", "model.safetensors", "vocab.json", "merges.txt"]
    assert asked == [("openai-community/gpt2", file, "main") for file in files]
    assert model.vocab_size == SIZES["vocab_size"]

    def offline(repo_id, filename, revision=None):
        raise OSError("no network")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(ZooError, match=named("config.json", "'gpt2'", "huggingface.co/gpt2")):
        create_model("gpt", weights="hf:gpt2")


def test_default_gpt_keeps_the_exact_gelu_and_a_bad_gelu_is_refused():
    """The recorded char_gpt results were trained with the exact GELU: the default keeps it."""
    model = create_model("gpt", n_layer=1, n_embd=16, n_head=2)
    assert model.blocks[0].mlp.gelu.approximate == "none"
    with pytest.raises(ZooError, match=named("gelu", "'relu'", "exact", "tanh")):
        create_model("gpt", gelu="relu")
