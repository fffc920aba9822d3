"""Training checkpoints: written atomically, and resumable into a new run folder.

Lightning's ``TorchCheckpointIO`` opens the target file for writing and then streams into
it, so a kill during the write leaves a truncated ``last.ckpt`` in place of the previous
good one. :class:`AtomicCheckpointIO` serializes the checkpoint in memory, writes it to a
temporary file beside the target, flushes and fsyncs it, and renames it over the target:
at any moment the folder holds the previous checkpoint or the new one, whole. The write
happens in a background thread, off the training loop's path.

:class:`RunCheckpoint` is Lightning's ``ModelCheckpoint`` that, resumed from a checkpoint of
another run folder, keeps the scores it had (Lightning drops them when the folder changes,
so the first epoch after a resume became "best") and copies the checkpoints it tracks into
the new folder, so the resumed run ranks, tests and exports exactly what the uninterrupted
run would, and never deletes a file in the other run's folder.

Its ``save_last`` writes ``last.ckpt`` every epoch (Lightning's, only in epochs that write a
top-k checkpoint); in an epoch where the best checkpoint was just written, ``last.ckpt``
becomes a hard link to it instead of a second serialization of the same state. One callback
does both: Lightning calls every hook of every callback at every step.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import re
import shlex
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from zoo.errors import ZooError
from zoo.weights import (
    atomic_write_bytes,
    partial_path,
    take_kept_checkpoint,
    unreadable_checkpoint,
    verify_checkpoint,
    with_checkpoint_digest,
)

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` with atomic writes, done in a background thread.

    The checkpoint's tensors are copied when it is saved (a consistent snapshot while
    training goes on), then serialized and written by one worker thread, in order; removals
    of old checkpoints queue behind the writes, so the best checkpoint on disk is never
    removed before its successor is written. Once a write fails (a full disk), the work
    queued after it is skipped: no checkpoint is removed, or replaced by a link to a file that
    was not written, so those on disk stay whole and consistent. The failure is raised at the
    next save, or by ``teardown`` (Lightning calls it when fit ends), which waits for the
    queue.

    Each checkpoint records the sha256 of its contents (:func:`zoo.weights.checkpoint_digest`):
    :meth:`load_checkpoint` (Lightning's, ``weights_only``) checks it, and names a damaged or
    unreadable file in one line (a ``ZooError``).
    """

    def __init__(self, *, background: bool = True) -> None:
        super().__init__()
        self.background = background
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []
        self._failed = False  # a queued write failed: the work queued after it is skipped

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        snapshot = _snapshot(checkpoint) if self.background else checkpoint
        self._submit(_write, snapshot, Path(path))

    def link_checkpoint(self, source: str | Path, path: str | Path) -> None:
        """Make ``path`` a hard link to the checkpoint ``source`` (atomically, after the
        queued write of ``source``); a copy where the filesystem has no hard links."""
        self._submit(_link, Path(source), Path(path))

    def remove_checkpoint(self, path: str | Path) -> None:
        """Remove the checkpoint file ``path`` (after the queued writes): one file, never a
        folder (Lightning's removes recursively whatever the path names)."""
        self._submit(super().remove_checkpoint if "://" in str(path) else _remove_file, path)

    def load_checkpoint(
        self, path: str | Path, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        """Lightning's load, with the checkpoint's recorded digest checked (and removed); a
        ``ZooError`` naming the file if it is damaged or cannot be read. A checkpoint the
        config check has just read and verified (``ckpt_path``) is not read again."""
        if map_location is None and "://" not in str(path):
            kept = take_kept_checkpoint(path)
            if kept is not None:
                return kept
        kwargs = {} if map_location is None else {"map_location": map_location}
        try:
            checkpoint = super().load_checkpoint(path, weights_only=weights_only, **kwargs)
        except FileNotFoundError:
            raise
        except Exception:  # torch's own errors: a damaged zip, a truncated file, ...
            raise unreadable_checkpoint(path) from None
        if not isinstance(checkpoint, dict):
            return checkpoint
        return verify_checkpoint(checkpoint, path)

    def _submit(self, function: Any, *args: Any) -> None:
        """Queue ``function(*args)`` for the worker thread; run it now when not ``background``."""
        if not self.background:
            function(*args)
            return
        self._raise_failures(wait=False)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._pending.append(self._executor.submit(self._unless_failed, function, *args))

    def _unless_failed(self, function: Any, *args: Any) -> None:
        """Run ``function`` in the worker, unless work queued before it failed."""
        if self._failed:
            return
        try:
            function(*args)
        except BaseException:
            self._failed = True
            raise

    def _raise_failures(self, *, wait: bool) -> None:
        done = [f for f in self._pending if wait or f.done()]
        self._pending = [f for f in self._pending if f not in done]
        for future in done:
            future.result()  # re-raises the worker's exception

    def teardown(self) -> None:
        """Wait for the queued writes and removals; raise the first that failed."""
        try:
            self._raise_failures(wait=True)
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            self._failed = False


def _snapshot(value: Any) -> Any:
    """``value`` with every tensor in its dicts, lists and tuples copied to the CPU.

    A plain recursion over the containers a checkpoint holds: Lightning's generic
    ``apply_to_collection`` took 4x as long, as much as a small model's training step.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        copied = copy.copy(value)  # the same type: dict, OrderedDict, defaultdict
        for key, item in value.items():
            copied[key] = _snapshot(item)
        return copied
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        if all(isinstance(item, int | float | str) for item in value):
            return value  # the Python random state: 625 ints
        return tuple(_snapshot(item) for item in value)
    return value


def _write(checkpoint: dict[str, Any], path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(with_checkpoint_digest(checkpoint), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _remove_file(path: str | Path) -> None:
    """Remove the file ``path`` (a link itself, not what it points to); a folder stays."""
    if os.path.isdir(path) and not os.path.islink(path):
        log.warning("%s is a folder, not a checkpoint: it is not removed", path)
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _link(source: Path, path: Path) -> None:
    """``path`` as a hard link to ``source``, put in place by a rename like a write."""
    tmp = partial_path(path)
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, tmp)
        except OSError:  # no hard links here (some network and FAT filesystems)
            shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        if not hasattr(error, "zoo_write_path"):
            error.zoo_write_path = path  # for zoo.training.stopping.write_failure's line
        raise


def ckpt_path_override(path: Path | str) -> str:
    """``ckpt_path=PATH`` as a shell command line takes it: quoted for Hydra when the path
    holds an '=' (as Lightning's checkpoint names do), a space or another character its
    override grammar reads, and then for the shell."""
    return path_override("ckpt_path", path)


def path_override(key: str, path: Path | str) -> str:
    """``KEY=PATH`` quoted as :func:`ckpt_path_override` quotes it."""
    text = str(path)
    if re.fullmatch(r"[\w./+@%-]+", text):
        return f"{key}={text}"
    hydra_quoted = '"' + text.replace('"', '\\"') + '"'
    return shlex.quote(f"{key}={hydra_quoted}")


def train_command(overrides: list[str], *extra: str) -> str:
    """``python train.py`` with a run's ``overrides`` quoted for the shell, its ``ckpt_path``
    left out, and ``extra`` (already quoted) after them."""
    kept = [o for o in overrides if o.lstrip("+~").split("=", 1)[0] != "ckpt_path"]
    return " ".join(["python train.py", *map(shlex.quote, kept), *extra])


def latest_checkpoint(run_dir: Path, checkpoint_dir: Path | None = None) -> Path | None:
    """The run's ``last.ckpt`` (in ``checkpoint_dir``, the zoo's checkpoint folder, by default
    ``run_dir/checkpoints``), else its newest checkpoint (Lightning's own checkpoint callback,
    when the zoo's is not configured, writes ``<logger>/checkpoints/epoch=N-step=M.ckpt``),
    not one of a run in a folder below it; None if there is none."""
    checkpoint_dir = checkpoint_dir or run_dir / "checkpoints"
    last = checkpoint_dir / "last.ckpt"
    if last.is_file():
        return last
    found = [
        path
        for pattern in _CHECKPOINT_FOLDERS
        for path in run_dir.glob(pattern)
        if not any(part.startswith(".") for part in path.relative_to(run_dir).parts)
        and not _in_another_run(path, run_dir)
    ]
    if checkpoint_dir.parent != run_dir:  # a checkpoint folder set outside the run folder
        found += [p for p in checkpoint_dir.glob("*.ckpt") if not p.name.startswith(".")]
    return max(found, key=lambda path: path.stat().st_mtime) if found else None


def checkpoint_folder(cfg: Any) -> Path:
    """Where the zoo's checkpoint callback writes in the run config ``cfg``
    (``callbacks.model_checkpoint.dirpath``, by default the run folder's ``checkpoints/``)."""
    callback = (cfg.get("callbacks") or {}).get("model_checkpoint")
    dirpath = callback.get("dirpath") if hasattr(callback, "get") else None
    if isinstance(dirpath, str) and dirpath:
        return Path(dirpath)
    return Path(cfg.paths.output_dir) / "checkpoints"


# Where a run's checkpoints are: zoo's callback's folder, and Lightning's default callback's
# ``<logger>/checkpoints`` or ``<logger>/<version>/checkpoints``.
_CHECKPOINT_FOLDERS = ("checkpoints/*.ckpt", "*/checkpoints/*.ckpt", "*/*/checkpoints/*.ckpt")


def _in_another_run(checkpoint: Path, run_dir: Path) -> bool:
    """Whether ``checkpoint`` lies in a run folder inside ``run_dir`` (``run_dir`` being a
    folder of runs, such as outputs/runs): a folder with Hydra's record of its config."""
    folder = checkpoint.parent.parent
    while folder != run_dir:
        if (folder / ".hydra").is_dir():
            return True
        folder = folder.parent
    return False


class RunCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose state survives a resume into another run folder, and whose
    ``last.ckpt`` holds the most recent epoch.

    With ``save_last`` Lightning refreshes ``last.ckpt`` only in epochs that write a top-k
    checkpoint (``"link"``: links it to the newest top-k file, an older epoch's state). Here
    ``save_last`` (true or ``"link"``) writes ``last.ckpt`` at every epoch's end, to resume
    from; in an epoch whose state was just written as a top-k checkpoint it is a hard link to
    that file instead of a second serialization. Its name never takes a version suffix.
    """

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        due = not self._should_skip_saving_checkpoint(trainer)
        due = due and not self._should_save_on_train_epoch_end(trainer)
        self._validating = True
        try:
            super().on_validation_end(trainer, pl_module)
            if due:
                self._refresh_last(trainer)
        finally:
            self._validating = False

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        due = not self._should_skip_saving_checkpoint(trainer)
        due = due and self._should_save_on_train_epoch_end(trainer)
        super().on_train_epoch_end(trainer, pl_module)
        if due:
            self._refresh_last(trainer)

    def _refresh_last(self, trainer: Any) -> None:
        """``last.ckpt`` at the end of an epoch in which Lightning wrote nothing."""
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def _save_last_checkpoint(self, trainer: Any, monitor_candidates: dict[str, Any]) -> None:
        if not self.save_last or self._inside_an_epoch(trainer):
            return
        filepath = self.format_checkpoint_name(monitor_candidates, self.CHECKPOINT_NAME_LAST)
        # set before saving: it is part of the state saved
        previous, self.last_model_path = self.last_model_path, filepath
        written = self._last_checkpoint_saved
        checkpoint_io = trainer.strategy.checkpoint_io
        if (
            self._last_global_step_saved == trainer.global_step
            and written
            and os.path.abspath(written) != os.path.abspath(filepath)
            and isinstance(checkpoint_io, AtomicCheckpointIO)
        ):
            self._link_checkpoint(trainer, written, filepath)
        else:
            self._save_checkpoint(trainer, filepath)
        if previous and self._should_remove_checkpoint(trainer, previous, filepath):
            self._remove_checkpoint(trainer, previous)

    def _inside_an_epoch(self, trainer: Any) -> bool:
        """Whether this is a validation inside an epoch (``trainer.val_check_interval`` < 1)
        that does not end training: ``last.ckpt`` is not refreshed there. Resumed from inside
        an epoch, Lightning draws the epoch's batches afresh, so the resumed run would differ
        from the uninterrupted one; from the epoch's end it is the same bit for bit. (The
        best checkpoint is still written there, and ``every_n_train_steps`` still refreshes
        ``last.ckpt`` inside an epoch, as asked.)"""
        if not getattr(self, "_validating", False) or trainer.should_stop:
            return False
        return not trainer.fit_loop.epoch_loop._is_training_done

    @staticmethod
    def _link_checkpoint(trainer: Any, filepath: str, linkpath: str) -> None:
        """``linkpath`` as a hard link to ``filepath``, put in place by the checkpoint IO
        after its queued write (Lightning's makes a symbolic link)."""
        if trainer.is_global_zero:
            trainer.strategy.checkpoint_io.link_checkpoint(filepath, linkpath)
        trainer.strategy.barrier()

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        self._trainer = trainer  # its ckpt_path, once a resume restores this callback's state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the scores and the checkpoints tracked, as files of this callback's folder.

        A checkpoint records absolute paths (``best_k_models``, ``best_model_path``, ...), and
        Lightning removes the files it tracks as better ones replace them: read from a crafted
        or moved checkpoint, such paths named files anywhere (``<dirpath>/../../victim``). Here
        each is taken by its name only, which must be a plain ``*.ckpt`` file name: in this
        run's folder, or, resumed into another folder, copied there from the folder of the
        checkpoint resumed (so the resumed run ranks, tests and exports what the uninterrupted
        run would, and never removes a file of the other run)."""
        here = Path(self.dirpath)
        origin = self._resumed_folder()
        carried_over = origin is not None and not _same_folder(origin, here)
        copied: dict[str, str] = {}

        def bring(path: Any, key: str) -> str:
            """The file in this run's folder that ``path`` of the resumed state names ("" if
            none)."""
            if path is None or path == "":
                return ""
            name = _tracked_name(path, key)
            if name not in copied:
                copied[name] = str(here / name)
                source = origin / name if origin is not None else None
                if carried_over and (source is None or not source.is_file() or source.is_symlink()):
                    log.warning("%s of the resumed run is gone: it is not carried over", source)
                    copied[name] = ""
                elif carried_over and rank_zero_only.rank == 0:
                    here.mkdir(parents=True, exist_ok=True)
                    partial = here / f".{name}.copy"
                    partial.unlink(missing_ok=True)
                    shutil.copyfile(source, partial)
                    partial.replace(here / name)
            return copied[name]

        # the types of the scores were checked when the file was read
        # (zoo.weights.check_checkpoint_contents); the paths are this callback's to check
        self.best_model_score = state_dict.get("best_model_score")
        self.kth_value = state_dict.get("kth_value", self.kth_value)
        self.best_k_models = {}
        for path, score in (state_dict.get("best_k_models") or {}).items():
            kept = bring(path, "best_k_models")
            if kept:
                self.best_k_models[kept] = score
        for key in ("kth_best_model_path", "last_model_path", "best_model_path"):
            setattr(self, key, bring(state_dict.get(key), key))

    def _resumed_folder(self) -> Path | None:
        """The folder of the checkpoint being resumed (None: not a local file)."""
        trainer = getattr(self, "_trainer", None)
        ckpt_path = getattr(trainer, "ckpt_path", None)
        if not ckpt_path or "://" in str(ckpt_path):
            return None
        return Path(ckpt_path).parent


def _tracked_name(path: Any, key: str) -> str:
    """The file name of a checkpoint path a resumed state tracks: a plain ``*.ckpt`` name."""
    name = Path(path).name if isinstance(path, str) else ""
    if not name.endswith(".ckpt") or name.startswith(".") or Path(path).name in ("..", "."):
        raise _bad_state(key, path)
    return name


def _bad_state(key: str, value: Any) -> ZooError:
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    return ZooError(
        f"the checkpoint's model_checkpoint state has {key}={text}: it tracks checkpoints by "
        "their *.ckpt names in its folder; the file was not written by a zoo run, or was "
        "altered, so it is not resumed."
    )


def _same_folder(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except OSError:
        return False
