"""Character-level text: the vocabulary, contiguous splits, sequential streams for truncated
backpropagation through time, seeded random windows, the unigram baseline, the default
corpus, and one clear error per mistake."""

from __future__ import annotations

import hashlib
import math
import sysconfig
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import named
from hydra.utils import instantiate

from zoo import ZooError
from zoo.data import CharTextDataModule, CharVocabulary
from zoo.data.text import DEFAULT_CORPUS

TEXT = "".join(f"line {i}: the quick brown fox {i * i % 97} jumps\n" for i in range(300))


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def module(path: Path, **kwargs) -> CharTextDataModule:
    kwargs = {"window": 16, "batch_size": 4, **kwargs}
    data = CharTextDataModule(path=str(path), **kwargs)
    data.setup()
    return data


def fake_trainer(*, epoch: int = 0, rank: int = 0, world_size: int = 1) -> SimpleNamespace:
    return SimpleNamespace(current_epoch=epoch, global_rank=rank, world_size=world_size)


# -- the vocabulary --------------------------------------------------------------------------
def test_vocabulary():
    vocab = CharVocabulary("hello world")
    assert vocab.chars == [" ", "d", "e", "h", "l", "o", "r", "w"] and len(vocab) == 8
    ids = vocab.encode("hello")
    assert ids.dtype == torch.int64 and ids.tolist() == [3, 2, 4, 4, 5]
    assert vocab.decode(ids) == "hello" and vocab.decode([7, 5]) == "wo"
    assert CharVocabulary.from_json(vocab.to_json()) == vocab
    assert vocab.to_json() == vocab.chars
    with pytest.raises(ZooError, match=named("'é'", "'€'")):
        vocab.encode("hé€llo€")
    with pytest.raises(ZooError, match=named("token id 8", "0..7")):
        vocab.decode([8])


# -- splits and batches ----------------------------------------------------------------------
def test_splits_are_contiguous(text_file):
    data = module(text_file, val_fraction=0.1, test_fraction=0.2)
    val, test = round(len(TEXT) * 0.1), round(len(TEXT) * 0.2)
    sizes = data.describe()["split_sizes"]
    assert sizes == {"train": len(TEXT) - val - test, "val": val, "test": test}
    joined = "".join(data.vocab.decode(data.split_ids[s]) for s in ("train", "val", "test"))
    assert joined == TEXT
    assert data.vocab.chars == sorted(set(TEXT))


def test_sequential_streams_reproduce_the_text(text_file):
    data = module(text_file)
    assert data.carries_state
    loader = data.train_dataloader()
    assert loader.carries_state
    batches = list(loader)
    assert len(batches) == len(loader) > 1
    train = data.vocab.decode(data.split_ids["train"])
    length = loader.stream_length
    assert length == (len(train) - 1) // 4
    for inputs, targets in batches:
        assert inputs.shape == targets.shape == (4, 16) and inputs.dtype == torch.int64
        assert torch.equal(targets[:, :-1], inputs[:, 1:])  # shifted by one character
    for stream in range(4):
        read = "".join(data.vocab.decode(inputs[stream]) for inputs, _ in batches)
        start = stream * length
        assert read == train[start : start + len(batches) * 16]
        shifted = "".join(data.vocab.decode(targets[stream]) for _, targets in batches)
        assert shifted == train[start + 1 : start + 1 + len(batches) * 16]


@pytest.mark.parametrize("split", ["val", "test"])
def test_evaluation_covers_the_split_once(text_file, split):
    data = module(text_file, eval_batch_size=3, val_fraction=0.1, test_fraction=0.1)
    loader = data.val_dataloader() if split == "val" else data.test_dataloader()
    batches = list(loader)
    text = data.vocab.decode(data.split_ids[split])
    streams = ["".join(data.vocab.decode(inputs[s]) for inputs, _ in batches) for s in range(3)]
    assert "".join(streams) == text[: 3 * loader.stream_length]
    assert len(text) - 1 - 3 * loader.stream_length < 3  # fewer characters left than streams
    assert all(inputs.shape[1] <= 16 for inputs, _ in batches)
    assert sum(t.numel() for _, t in batches) == 3 * loader.stream_length


def test_streams_shrink_to_fit_a_short_split(text_file):
    data = module(text_file, eval_batch_size=1000)
    loader = data.val_dataloader()
    assert loader.streams == (len(data.split_ids["val"]) - 1) // 16
    assert len(loader) == 1


def test_random_windows(text_file):
    data = module(text_file, sampling="random", seed=5)
    assert not data.carries_state
    loader = data.train_dataloader()
    assert not loader.carries_state
    sequential = module(text_file).train_dataloader()
    assert len(loader) == len(sequential)
    first, second = list(loader), list(loader)  # epochs 0 and 1
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, second))
    again = module(text_file, sampling="random", seed=5).train_dataloader()
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, list(again)))
    other = module(text_file, sampling="random", seed=6).train_dataloader()
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, list(other)))
    train = data.vocab.decode(data.split_ids["train"])
    for inputs, targets in first:
        assert inputs.shape == targets.shape == (4, 16)
        for row_in, row_out in zip(inputs, targets):
            window = data.vocab.decode(row_in) + data.vocab.decode(row_out[-1:])
            assert window in train
            assert torch.equal(row_out[:-1], row_in[1:])
    # a resumed run (the trainer at epoch 1) draws epoch 1's windows
    data.trainer = fake_trainer(epoch=1)
    resumed = list(data.train_dataloader())
    assert all(torch.equal(a[0], b[0]) for a, b in zip(second, resumed))


def test_distributed_ranks_take_their_own_streams(text_file):
    whole = module(text_file, batch_size=4).train_dataloader()
    halves = []
    for rank in range(2):
        data = module(text_file, batch_size=2)
        data.trainer = fake_trainer(rank=rank, world_size=2)
        halves.append(data.train_dataloader())
    assert len(halves[0]) == len(halves[1]) == len(whole)
    for (x, _), (a, _), (b, _) in zip(whole, *halves):
        assert torch.equal(torch.cat([a, b]), x)
    random = []
    for rank in range(2):
        data = module(text_file, batch_size=2, sampling="random")
        data.trainer = fake_trainer(rank=rank, world_size=2)
        random.append(list(data.train_dataloader()))
    assert not torch.equal(random[0][0][0], random[1][0][0])


# -- the unigram baseline --------------------------------------------------------------------
def test_unigram_cross_entropy(text_file):
    data = module(text_file, val_fraction=0.1, test_fraction=0.15)
    described = data.describe()
    sizes = described["split_sizes"]
    train = TEXT[: sizes["train"]]
    counts, vocab = Counter(train), sorted(set(TEXT))
    for split, text in (
        ("val", TEXT[sizes["train"] : sizes["train"] + sizes["val"]]),
        ("test", TEXT[sizes["train"] + sizes["val"] :]),
    ):
        expected = -sum(math.log((counts[c] + 1) / (len(train) + len(vocab))) for c in text) / len(
            text
        )
        assert described["unigram_cross_entropy"][split] == pytest.approx(expected, rel=1e-9)
        assert described["unigram_perplexity"][split] == pytest.approx(math.exp(expected))


def test_describe(text_file):
    described = module(text_file).describe()
    assert described["input_kind"] == "tokens" and described["input_shape"] == [16]
    assert described["target_kind"] == "next_token"
    assert described["vocab_size"] == len(set(TEXT)) == len(described["vocab"])
    assert described["num_classes"] is None and described["normalization"] is None
    assert described["source"] == str(text_file)
    assert described["sha256"] == hashlib.sha256(TEXT.encode()).hexdigest()
    assert described["sampling"] == "sequential"
    source = CharTextDataModule.describe_source(
        _target_="zoo.data.CharTextDataModule", path=str(text_file), window=16, vocab_size=None
    )
    assert source == {
        "input_kind": "tokens",
        "input_shape": [16],
        "target_kind": "next_token",
        "vocab_size": len(set(TEXT)),
        "num_classes": None,
        "target_shape": None,
    }


# -- errors ----------------------------------------------------------------------------------
def test_errors(tmp_path, text_file):
    with pytest.raises(ZooError, match=named("data.path", f"'{tmp_path / 'missing.txt'}'")):
        CharTextDataModule(path=str(tmp_path / "missing.txt"))
    with pytest.raises(ZooError, match=named("data.path", f"'{tmp_path}'", "folder")):
        CharTextDataModule(path=str(tmp_path))
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ZooError, match=named("data.path", f"'{tmp_path / 'empty.txt'}'", "empty")):
        CharTextDataModule(path=str(tmp_path / "empty.txt")).setup()
    (tmp_path / "latin1.txt").write_bytes("caf\u00e9 au lait".encode("latin-1"))
    with pytest.raises(ZooError, match=named("latin1.txt", r"b'\xe9'")):
        CharTextDataModule(path=str(tmp_path / "latin1.txt")).setup()
    with pytest.raises(ZooError, match=named("data.window", "got 0")):
        CharTextDataModule(path=str(text_file), window=0)
    with pytest.raises(ZooError, match=named("data.sampling", "'shuffled'")):
        CharTextDataModule(path=str(text_file), sampling="shuffled")
    with pytest.raises(ZooError, match=named("data.batch_size", "got 0")):
        CharTextDataModule(path=str(text_file), batch_size=0)
    val = round(len(TEXT) * 0.05)
    with pytest.raises(ZooError, match=named("data.window=1000", f"{val} characters")):
        module(text_file, window=1000, max_chars=None)
    with pytest.raises(
        ZooError, match=named("data.batch_size=64", "data.window=200", "data.sampling=random")
    ):
        module(text_file, window=200, batch_size=64)
    module(text_file, window=200, batch_size=64, sampling="random")  # fine when random
    with pytest.raises(ZooError, match=named("vocab_size 3", "data.vocab_size=null")):
        module(text_file, vocab_size=3)
    with pytest.raises(ZooError, match=named("data.input_kind", "'tokens'", "'sequence'")):
        CharTextDataModule(path=str(text_file), input_kind="sequence")


# -- the default corpus ----------------------------------------------------------------------
def test_default_corpus():
    assert DEFAULT_CORPUS == (
        "argparse.py", "ast.py", "calendar.py", "csv.py", "dataclasses.py", "difflib.py",
        "fractions.py", "heapq.py", "inspect.py", "pprint.py", "random.py", "shutil.py",
        "statistics.py", "textwrap.py", "tokenize.py",
    )  # fmt: skip
    data = CharTextDataModule(window=64, batch_size=8, max_chars=None)
    data.setup()
    described = data.describe()
    assert described["source"] == list(DEFAULT_CORPUS)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = "".join((stdlib / name).read_text(encoding="utf-8") for name in DEFAULT_CORPUS)
    assert 400_000 < len(text) < 1_200_000
    assert described["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert sum(described["split_sizes"].values()) == len(text)
    assert (
        data.vocab.decode(data.split_ids["val"][:200])
        == text[described["split_sizes"]["train"] : described["split_sizes"]["train"] + 200]
    )
    short = CharTextDataModule(window=8, batch_size=2, max_chars=5000)
    short.setup()
    assert short.describe()["split_sizes"] == {"train": 4500, "val": 250, "test": 250}


def test_config(make_config):
    cfg = make_config("data=text", "data.max_chars=20000", "data.window=32")
    assert not cfg.get("augmentation")
    assert list(cfg.data.input_shape) == [32] and cfg.data.vocab_size is None
    data = instantiate(cfg.data)
    data.setup()
    described = data.describe()
    assert described["input_kind"] == cfg.data.input_kind
    assert described["target_kind"] == cfg.data.target_kind
    assert described["input_shape"] == [32]
    assert len(data.val_dataloader()) >= 1
