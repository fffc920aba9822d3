"""Character-level text for language models (primer: "Recurrent Neural Networks", language
modeling).

The text is one long string; its vocabulary is the sorted set of its characters; the
train/val/test splits are contiguous parts of it (the first part trains). A batch is
``(inputs, targets)``, both ``(B, window)`` token ids, the targets the inputs shifted by one
character. Two ways to draw training batches:

- ``sequential`` (truncated backpropagation through time, Williams & Peng 1990; the batching
  of PyTorch's word-language-model example and of Karpathy's char-rnn): the split is cut into
  ``B`` parallel streams and batch k holds window k of every stream, so a recurrent model's
  state after batch k is the right initial state for batch k + 1
  (:attr:`CharTextDataModule.carries_state`).
- ``random`` (nanoGPT): every batch is ``B`` windows at random places, drawn anew each epoch
  from a generator seeded by ``seed`` and the epoch, so a resumed run draws the same windows.

Validation and test batches are always sequential and cover their whole split once.

Without a path the text is a fixed list of pure-Python modules of the Python standard library
(:data:`DEFAULT_CORPUS`, about 0.7 MB), read from the running interpreter: no download. Their
exact contents vary a little between Python versions; ``describe()`` gives the text's sha256 to
compare runs by.
"""

from __future__ import annotations

import hashlib
import math
import sysconfig
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

from zoo.data.base import check_loading, contiguous_split_sizes, placement_device
from zoo.errors import ZooError

SAMPLING_CHOICES = ("sequential", "random")
SPLITS = ("train", "val", "test")

# The default corpus: pure-Python modules found, as single files, in every CPython from 3.10
# to 3.14, concatenated in this (sorted) order. Fixed: changing it changes every result.
DEFAULT_CORPUS = (
    "argparse.py",
    "ast.py",
    "calendar.py",
    "csv.py",
    "dataclasses.py",
    "difflib.py",
    "fractions.py",
    "heapq.py",
    "inspect.py",
    "pprint.py",
    "random.py",
    "shutil.py",
    "statistics.py",
    "textwrap.py",
    "tokenize.py",
)


# -- the vocabulary ----------------------------------------------------------------------------
class CharVocabulary:
    """The sorted distinct characters of a text; character ``chars[i]`` is token id ``i``.

    ``CharVocabulary(text)`` builds it from a text (or any iterable of characters);
    :meth:`to_json` / :meth:`from_json` store it as a plain list of characters.
    """

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars: list[str] = sorted(set(chars))
        self.index = {c: i for i, c in enumerate(self.chars)}
        # Code points in increasing order (sorted strings of one character sort by them).
        self._codes = np.array([ord(c) for c in self.chars], dtype=np.uint32)

    def __len__(self) -> int:
        return len(self.chars)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharVocabulary) and self.chars == other.chars

    def __repr__(self) -> str:
        return f"CharVocabulary({len(self)} characters)"

    def encode(self, text: str) -> torch.Tensor:
        """The token ids of ``text``, a 1-D ``int64`` tensor."""
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        if len(self._codes) == 0:
            positions = np.zeros(len(codes), dtype=np.int64)
            unknown = np.ones(len(codes), dtype=bool)
        else:
            positions = np.searchsorted(self._codes, codes).clip(max=len(self._codes) - 1)
            unknown = self._codes[positions] != codes
        if unknown.any():
            missing = sorted({chr(c) for c in codes[unknown].tolist()})
            shown = ", ".join(repr(c) for c in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise ZooError(f"characters not in the vocabulary: {shown}{more}.")
        return torch.from_numpy(positions.astype(np.int64))

    def decode(self, ids: torch.Tensor | Iterable[int]) -> str:
        """The text of token ids (a tensor of any shape is read in flattened order)."""
        values = ids.flatten().tolist() if isinstance(ids, torch.Tensor) else [int(i) for i in ids]
        bad = [i for i in values if not 0 <= i < len(self.chars)]
        if bad:
            raise ZooError(
                f"token id {bad[0]} is not in the vocabulary of {len(self.chars)} characters "
                f"(ids 0..{len(self.chars) - 1})."
            )
        return "".join(self.chars[i] for i in values)

    def to_json(self) -> list[str]:
        """The characters in id order: a JSON-ready list."""
        return list(self.chars)

    @classmethod
    def from_json(cls, chars: list[str]) -> CharVocabulary:
        """The vocabulary :meth:`to_json` wrote."""
        single = isinstance(chars, list) and all(isinstance(c, str) and len(c) == 1 for c in chars)
        if not single:
            raise ZooError("a character vocabulary must be a list of single-character strings.")
        if chars != sorted(set(chars)):
            raise ZooError("a character vocabulary must list distinct characters in sorted order.")
        return cls(chars)


# -- reading the text --------------------------------------------------------------------------
def _decode_utf8(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = data[error.start : error.start + 1]
        raise ZooError(
            f"{source!r} is not UTF-8 text: byte {error.start} is {byte!r} ({error.reason}); "
            "give a UTF-8 text file as data.path."
        ) from None


@lru_cache(maxsize=4)
def _read_file(path: str, mtime: float) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ZooError(f"cannot read data.path {path!r}: {error}") from error
    if not data:
        raise ZooError(f"data.path {path!r} is empty; expected a UTF-8 text file.")
    return _decode_utf8(data, path)


def default_corpus_files() -> list[Path]:
    """The paths of :data:`DEFAULT_CORPUS` in this interpreter's standard library."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return [stdlib / name for name in DEFAULT_CORPUS]


@lru_cache(maxsize=1)
def read_default_corpus() -> str:
    """The default corpus: the :data:`DEFAULT_CORPUS` files concatenated in order."""
    parts = []
    for file in default_corpus_files():
        if not file.is_file():
            raise ZooError(
                f"the default text corpus needs {str(file)!r} from Python's standard library, "
                "which this installation lacks; give a text file as data.path."
            )
        parts.append(_decode_utf8(file.read_bytes(), str(file)))
    return "".join(parts)


def read_text(path: str | None) -> str:
    """The whole text of ``path`` (UTF-8), or the default corpus for None."""
    if path is None:
        return read_default_corpus()
    file = Path(path).expanduser()
    _require_text_file(file)
    return _read_file(str(file), file.stat().st_mtime)


def _require_text_file(file: Path) -> None:
    if not file.is_file():
        what = "is a folder" if file.is_dir() else "does not exist"
        raise ZooError(f"data.path {str(file)!r} {what}; expected a UTF-8 text file.")


# -- batches -----------------------------------------------------------------------------------
class SequentialTextLoader:
    """Batches of ``streams`` parallel streams of a text, window after window.

    ``ids`` is cut into ``streams * world_size`` contiguous streams of equal length; this rank
    takes streams ``rank * streams .. (rank + 1) * streams - 1``. Batch k is window k of each
    stream (``(streams, window)`` inputs, targets shifted by one), so batch k + 1 continues
    batch k row by row (:attr:`carries_state`). With ``full_windows=False`` a last, shorter
    window covers the end of the streams.
    """

    carries_state = True

    def __init__(
        self,
        ids: torch.Tensor,
        *,
        streams: int,
        window: int,
        full_windows: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        total = streams * world_size
        self.stream_length = (len(ids) - 1) // total if len(ids) > 1 else 0
        self.window, self.full_windows = window, full_windows
        self.streams = streams
        starts = (torch.arange(streams) + rank * streams) * self.stream_length
        offsets = torch.arange(self.stream_length + 1)
        self.rows = ids[(starts.unsqueeze(1) + offsets).to(ids.device)]  # (streams, length + 1)

    def __len__(self) -> int:
        if self.full_windows:
            return self.stream_length // self.window
        return math.ceil(self.stream_length / self.window)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for k in range(len(self)):
            start = k * self.window
            end = min(start + self.window, self.stream_length)
            yield (
                self.rows[:, start:end].contiguous(),
                self.rows[:, start + 1 : end + 1].contiguous(),
            )


class RandomWindowLoader:
    """``num_batches`` batches of ``batch_size`` windows at random places of a text, drawn
    from a generator seeded by ``seed`` and the epoch. All ranks draw the same starts; rank r
    takes columns ``r * batch_size .. (r + 1) * batch_size - 1`` of them."""

    carries_state = False

    def __init__(
        self,
        ids: torch.Tensor,
        *,
        batch_size: int,
        window: int,
        num_batches: int,
        seed: int = 0,
        epoch: Callable[[], int] | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.ids, self.batch_size, self.window = ids, batch_size, window
        self.num_batches, self.seed = num_batches, seed
        self._epoch, self._iterations = epoch, 0
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        return self.num_batches

    def starts(self, epoch: int) -> torch.Tensor:
        """This rank's window starts of ``epoch``, ``(num_batches, batch_size)``."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        shape = (self.num_batches, self.batch_size * self.world_size)
        starts = torch.randint(0, len(self.ids) - self.window, shape, generator=generator)
        return starts[:, self.rank * self.batch_size : (self.rank + 1) * self.batch_size]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        epoch = self._epoch() if self._epoch is not None else self._iterations
        starts = self.starts(epoch).to(self.ids.device)
        self._iterations += 1
        offsets = torch.arange(self.window + 1, device=self.ids.device)
        for batch_starts in starts:
            chunk = self.ids[batch_starts.unsqueeze(1) + offsets]  # (B, window + 1)
            yield chunk[:, :-1], chunk[:, 1:]


# -- the data module ---------------------------------------------------------------------------
class CharTextDataModule(L.LightningDataModule):
    """Character-level language modeling on a UTF-8 text file, or on the default corpus of
    Python standard-library sources (``path=None``).

    Args:
        path: a UTF-8 text file; None for :data:`DEFAULT_CORPUS`.
        window: characters per input (and per target) sequence.
        batch_size: sequences per training batch (streams, for ``sequential``).
        eval_batch_size: streams of the val and test loaders (``batch_size`` when None;
            fewer when a split is too short to give each a window).
        sampling: ``sequential`` (streams, for truncated backpropagation through time) or
            ``random`` (windows at random places, nanoGPT style).
        val_fraction, test_fraction: the shares of the text, at its end, for val and test.
        max_chars: use only the first ``max_chars`` characters of the text.
        seed: seeds the random windows (with the epoch).
        on_device: ``auto`` moves the text to the accelerator when it has room, ``always``,
            ``never``.
        input_kind, input_shape, target_kind, vocab_size, num_classes, target_shape: what the
            config declares; ``setup`` refuses a declaration the text contradicts.
    """

    name = "text"
    rebuildable = True

    def __init__(
        self,
        *,
        path: str | None = None,
        window: int = 128,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        sampling: str = "sequential",
        val_fraction: float = 0.05,
        test_fraction: float = 0.05,
        max_chars: int | None = None,
        seed: int = 0,
        on_device: str = "auto",
        input_kind: str | None = None,
        input_shape: list[int] | None = None,
        target_kind: str | None = None,
        vocab_size: int | None = None,
        num_classes: int | None = None,
        target_shape: list[int] | None = None,
    ) -> None:
        super().__init__()
        if window < 1:
            raise ZooError(f"data.window must be >= 1, got {window}.")
        check_loading(batch_size, eval_batch_size, val_fraction, test_fraction, on_device)
        if sampling not in SAMPLING_CHOICES:
            raise ZooError(
                f"data.sampling must be one of {', '.join(SAMPLING_CHOICES)}, got {sampling!r}."
            )
        if max_chars is not None and max_chars < 1:
            raise ZooError(f"data.max_chars must be >= 1 or null, got {max_chars}.")
        for key, value, allowed in (
            ("input_kind", input_kind, "tokens"),
            ("target_kind", target_kind, "next_token"),
        ):
            if value is not None and value != allowed:
                raise ZooError(f"data.{key} of text is {allowed!r}, got {value!r}.")
        if input_shape is not None and list(input_shape) != [window]:
            raise ZooError(
                f"data.input_shape of text is [data.window] = [{window}], got {list(input_shape)}."
            )
        for key, value in (("num_classes", num_classes), ("target_shape", target_shape)):
            if value is not None:
                raise ZooError(
                    f"data.{key} does not apply to text (next-token targets), got {value!r}; "
                    "set it to null."
                )
        if path is not None:
            _require_text_file(Path(str(path)).expanduser())
        self.path = None if path is None else str(path)
        self.window, self.batch_size = window, batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.sampling = sampling
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.max_chars, self.seed, self.on_device = max_chars, seed, on_device
        self.declared_vocab_size = vocab_size
        self.vocab: CharVocabulary | None = None
        self.split_ids: dict[str, torch.Tensor] = {}  # token ids of each split
        self.sha256 = ""
        self.unigram_cross_entropy: dict[str, float | None] = {}

    # -- what the data gives -------------------------------------------------------------------
    def load(self) -> str:
        """The text (the first ``max_chars`` characters of it when set)."""
        text = read_text(self.path)
        return text[: self.max_chars] if self.max_chars is not None else text

    @classmethod
    def describe_source(cls, **config: Any) -> dict[str, Any]:
        """What the text gives, before any training (reading it refuses a text too short
        for the window): ``input_kind``, ``input_shape``, ``target_kind``, ``vocab_size``."""
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        module = cls(**config)
        module.setup()
        return {
            "input_kind": "tokens",
            "input_shape": [module.window],
            "target_kind": "next_token",
            "vocab_size": module.vocab_size,
            "num_classes": None,
            "target_shape": None,
        }

    @property
    def source(self) -> str | list[str]:
        """The file's path, or the default corpus's file names."""
        return self.path if self.path is not None else list(DEFAULT_CORPUS)

    def setup(self, stage: str | None = None) -> None:
        if self.split_ids:  # read before the trainer was built (zoo.training.run): placed now
            self.split_ids = self._place_on_device(self.split_ids)
            return
        text = self.load()
        if not text:
            raise ZooError(f"the text of {self.source!r} is empty.")
        vocab = CharVocabulary(text)
        if len(vocab) < 2:
            cut = f" (its first data.max_chars={self.max_chars})" if self.max_chars else ""
            raise ZooError(
                f"the text of {self.source!r}{cut} is one character, {vocab.chars[0]!r}, "
                "repeated: every next character is known, so there is nothing to learn; a "
                "language model needs a text of at least 2 distinct characters."
            )
        if self.declared_vocab_size is not None and self.declared_vocab_size != len(vocab):
            raise ZooError(
                f"{self.name}: the config declares vocab_size {self.declared_vocab_size} but "
                f"the text has {len(vocab)} distinct characters; set data.vocab_size=null."
            )
        ids = vocab.encode(text)
        sizes = contiguous_split_sizes(len(ids), self.val_fraction, self.test_fraction)
        fractions = {"train": 1.0, "val": self.val_fraction, "test": self.test_fraction}
        for split in SPLITS:
            if fractions[split] > 0 and sizes[split] < self.window + 1:
                raise ZooError(
                    f"data.window={self.window} is longer than the {split} split's text "
                    f"({sizes[split]} characters; a window and its next character need "
                    f"{self.window + 1}); lower data.window, or use a longer text."
                )
        self._check_streams(sizes["train"], world_size=1)
        bounds = np.cumsum([0] + [sizes[s] for s in SPLITS]).tolist()
        splits = {s: ids[bounds[i] : bounds[i + 1]] for i, s in enumerate(SPLITS)}
        self.vocab = vocab
        self.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self.unigram_cross_entropy = unigram_cross_entropy(splits, len(vocab))
        self.split_ids = self._place_on_device(splits)

    def _check_streams(self, train_chars: int, world_size: int) -> None:
        if self.sampling != "sequential":
            return
        streams = self.batch_size * world_size
        if (train_chars - 1) // streams < self.window:
            processes = f" over {world_size} processes" if world_size > 1 else ""
            raise ZooError(
                f"the train split's text ({train_chars} characters) is too short for "
                f"{streams} streams{processes} (data.batch_size={self.batch_size}) of at least "
                f"one window of data.window={self.window}: it needs "
                f"{streams * self.window + 1}; lower data.batch_size or data.window, or use "
                "data.sampling=random."
            )

    def _place_on_device(self, splits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        device = placement_device(self.trainer, self.on_device, splits.values())
        return splits if device is None else {k: v.to(device) for k, v in splits.items()}

    def example_input(self) -> torch.Tensor:
        """One window of training tokens, ``(1, window)``: what the model summary runs to
        count the FLOPs of one input."""
        if not self.split_ids:
            raise RuntimeError("call setup() before example_input()")
        return self.split_ids["train"][: self.window].unsqueeze(0)

    @property
    def vocab_size(self) -> int:
        if self.vocab is None:
            raise RuntimeError("call setup() before asking for the vocabulary")
        return len(self.vocab)

    @property
    def carries_state(self) -> bool:
        """Whether training batch k + 1 continues batch k row by row (``sequential``)."""
        return self.sampling == "sequential"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.window,)

    @property
    def normalization(self) -> None:
        """Token ids are never standardized."""
        return None

    def describe(self) -> dict[str, Any]:
        """What the data gives, JSON-ready, with the unigram baseline: the cross-entropy
        (nats per character) of each split under the training split's character
        frequencies, add-one smoothed over the vocabulary, and its perplexity."""
        if not self.split_ids:
            raise RuntimeError("call setup() before describe()")
        assert self.vocab is not None
        return {
            "name": self.name,
            "input_kind": "tokens",
            "input_shape": [self.window],
            "target_kind": "next_token",
            "num_classes": None,
            "class_names": None,
            "target_shape": None,
            "vocab_size": len(self.vocab),
            "vocab": self.vocab.to_json(),
            "normalization": None,
            "split_sizes": {k: len(v) for k, v in self.split_ids.items()},
            "source": self.source,
            "sha256": self.sha256,
            "sampling": self.sampling,
            "window": self.window,
            "unigram_cross_entropy": dict(self.unigram_cross_entropy),
            "unigram_perplexity": {
                k: (None if v is None else math.exp(v))
                for k, v in self.unigram_cross_entropy.items()
            },
        }

    # -- loaders ------------------------------------------------------------------------------
    def _distribution(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _epoch(self) -> Callable[[], int] | None:
        trainer = self.trainer
        return (lambda: trainer.current_epoch) if trainer is not None else None

    def train_dataloader(self) -> SequentialTextLoader | RandomWindowLoader:
        if not self.split_ids:
            raise RuntimeError("call setup() before asking for data loaders")
        ids = self.split_ids["train"]
        rank, world_size = self._distribution()
        self._check_streams(len(ids), world_size)
        streams = self.batch_size * world_size
        num_batches = (len(ids) - 1) // streams // self.window
        if self.sampling == "random":
            return RandomWindowLoader(
                ids,
                batch_size=self.batch_size,
                window=self.window,
                num_batches=max(num_batches, 1),
                seed=self.seed,
                epoch=self._epoch(),
                rank=rank,
                world_size=world_size,
            )
        return SequentialTextLoader(
            ids, streams=self.batch_size, window=self.window, rank=rank, world_size=world_size
        )

    def _eval_loader(self, split: str) -> SequentialTextLoader:
        if not self.split_ids:
            raise RuntimeError("call setup() before asking for data loaders")
        ids = self.split_ids[split]
        rank, world_size = self._distribution()
        # As many streams as give each at least one whole window (one at least).
        fitting = (len(ids) - 1) // (self.window * world_size)
        streams = max(1, min(self.eval_batch_size, fitting))
        return SequentialTextLoader(
            ids,
            streams=streams,
            window=self.window,
            full_windows=False,
            rank=rank,
            world_size=world_size,
        )

    def val_dataloader(self) -> SequentialTextLoader:
        return self._eval_loader("val")

    def test_dataloader(self) -> SequentialTextLoader:
        return self._eval_loader("test")

    predict_dataloader = test_dataloader  # predictions are made on the test split


def unigram_cross_entropy(
    splits: dict[str, torch.Tensor], vocab_size: int
) -> dict[str, float | None]:
    """The cross-entropy (nats per character) of the val and test splits under the training
    split's character frequencies with add-one (Laplace) smoothing over the vocabulary:
    ``p(c) = (count_train(c) + 1) / (len(train) + vocab_size)``. None for an empty split."""
    counts = torch.bincount(splits["train"], minlength=vocab_size).double()
    log_p = ((counts + 1.0) / (counts.sum() + vocab_size)).log()
    return {
        split: (-log_p[splits[split]].mean().item() if len(splits[split]) else None)
        for split in ("val", "test")
    }
