"""Files of ours damaged after they were written are named when they are read, and a write
that fails (a full disk) ends the run in one line that keeps the last checkpoint whole.

Exported weights record the sha256 of ``model.safetensors`` in their ``config.json``;
checkpoints record a sha256 of their contents. Damage is 200 bytes overwritten in the tensor
data, as a failing disk or a bad copy leaves it: before, such files loaded (a model
predicting "8 (1.000)", a resume blaming the learning rate for a diverged loss).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import named
from PIL import Image

from zoo import ZooError, create_model, load_pretrained, save_pretrained
from zoo.errors import WRITE_FAILED_EXIT
from zoo.models.pretrained import load_checkpoint
from zoo.training.checkpointing import AtomicCheckpointIO
from zoo.training.run import train
from zoo.training.stopping import write_failure
from zoo.weights import CHECKPOINT_DIGEST_KEY, read_checkpoint, with_checkpoint_digest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = REPO_ROOT / "zoo" / "pretrained"
FAST_FLAT = ["model=mlp", "data=digits_flat", "+trainer.limit_train_batches=2"]
# the full disk is simulated for files named by their descriptors in /proc/self/fd
needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="Linux's /proc")


def damage(path: Path, count: int = 200) -> None:
    """Flip ``count`` bytes in the middle of ``path`` (its tensor data), in place."""
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.seek(size // 2)
        original = file.read(count)
        file.seek(size // 2)
        file.write(bytes(byte ^ 0xFF for byte in original))


def damaged(path: Path) -> str:
    """A pattern for the error naming ``path`` as damaged: the file and its sha256."""
    return named(repr(str(path)), "damaged", "sha256")


# -- exported weights ------------------------------------------------------------------------
def test_exported_weights_record_their_sha256_and_damaged_ones_are_named(tmp_path):
    folder = save_pretrained(create_model("lenet5"), tmp_path / "m")
    weights = folder / "model.safetensors"
    config = json.loads((folder / "config.json").read_text())
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert config["sha256"] == {"model.safetensors": digest}
    load_pretrained(folder)  # whole: it loads
    damage(weights)
    for load in (
        lambda: load_pretrained(folder),
        lambda: create_model("lenet5", weights=folder),
        lambda: create_model("lenet5", weights=str(folder), num_classes=3),
    ):
        with pytest.raises(ZooError, match=damaged(weights)):
            load()


def test_shipped_weights_record_their_sha256_and_predict_names_a_damaged_copy(tmp_path, capsys):
    from zoo.apps.predict import main

    shipped = sorted(p for p in SHIPPED.iterdir() if (p / "config.json").is_file())
    assert shipped
    for folder in shipped:
        recorded = json.loads((folder / "config.json").read_text())["sha256"]
        data = (folder / "model.safetensors").read_bytes()
        assert recorded == {"model.safetensors": hashlib.sha256(data).hexdigest()}, folder.name
    run = tmp_path / "run"  # the probe's case: a run folder whose model was damaged
    shutil.copytree(SHIPPED / "lenet5.digits", run / "model")
    image = tmp_path / "digit.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8), mode="L").save(image)
    assert main([str(run), str(image)]) == 0
    capsys.readouterr()
    damage(run / "model" / "model.safetensors")
    assert main([str(run), str(image)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert re.match(damaged(run / "model" / "model.safetensors"), lines[0].removeprefix("error: "))
    from zoo.models.pretrained import _shipped_entry  # the registry's loader checks the digest too

    with pytest.raises(ZooError, match=damaged(run / "model" / "model.safetensors")):
        _shipped_entry(run / "model").load_state_dict()


def test_a_folder_written_without_a_digest_still_loads(tmp_path):
    folder = save_pretrained(create_model("lenet5"), tmp_path / "old")
    config = json.loads((folder / "config.json").read_text())
    del config["sha256"]  # as written before digests were recorded
    (folder / "config.json").write_text(json.dumps(config))
    load_pretrained(folder)
    config["sha256"] = {"model.safetensors": "not a digest"}
    (folder / "config.json").write_text(json.dumps(config))
    fragments = (repr(str(folder / "config.json")), "sha256", str(config["sha256"]))
    with pytest.raises(ZooError, match=named(*fragments)):
        load_pretrained(folder)


# -- checkpoints -----------------------------------------------------------------------------
def a_checkpoint() -> dict:
    """Tensors nested as in a Lightning checkpoint's model, optimizer and loop states; its
    middle lies in the model's weight."""
    return {
        "epoch": 3,
        "global_step": 12,
        "state_dict": OrderedDict(weight=torch.randn(64, 256), count=torch.tensor(7)),
        "optimizer_states": [
            {"state": {0: {"exp_avg": torch.randn(256)}}, "param_groups": [{"lr": 0.1}]}
        ],
        "loops": {"fit_loop": {"progress": (1, 2.5, "x", None, True)}},
    }


@pytest.mark.parametrize("background", [True, False])
def test_checkpoints_record_a_digest_and_damaged_ones_are_named(tmp_path, background):
    io = AtomicCheckpointIO(background=background)
    checkpoint, path = a_checkpoint(), tmp_path / "last.ckpt"
    io.save_checkpoint(checkpoint, path)
    io.teardown()
    assert CHECKPOINT_DIGEST_KEY in torch.load(path, weights_only=True)
    assert CHECKPOINT_DIGEST_KEY not in checkpoint  # the caller's dict is left alone
    for load in (read_checkpoint, io.load_checkpoint):
        loaded = load(path)
        assert CHECKPOINT_DIGEST_KEY not in loaded
        assert torch.equal(loaded["state_dict"]["weight"], checkpoint["state_dict"]["weight"])
        assert loaded["loops"] == checkpoint["loops"]
    damage(path)
    for load in (read_checkpoint, io.load_checkpoint):
        with pytest.raises(ZooError, match=damaged(path)):
            load(path)


def test_checkpoints_without_a_digest_load_and_an_unreadable_one_is_one_line(tmp_path):
    """Lightning's own checkpoints and those written before digests were recorded load as
    before; a damaged zip (torch.load fails) is one line too, from Lightning's load as well."""
    io = AtomicCheckpointIO()
    plain = tmp_path / "plain.ckpt"
    torch.save(a_checkpoint(), plain)
    for load in (read_checkpoint, io.load_checkpoint):
        assert load(plain)["epoch"] == 3
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(plain.read_bytes()[:-300])
    for load in (read_checkpoint, io.load_checkpoint):
        with pytest.raises(ZooError, match=named(repr(str(truncated)))):
            load(truncated)


def test_resuming_or_loading_a_damaged_checkpoint_names_it(make_config):
    cfg = make_config(*FAST_FLAT, "trainer.max_epochs=1")
    train(cfg)
    last = Path(cfg.paths.output_dir, "checkpoints", "last.ckpt")
    load_checkpoint(last)  # whole: it loads
    damage(last)
    with pytest.raises(ZooError, match=damaged(last)):
        load_checkpoint(last)
    resumed = make_config(*FAST_FLAT, "trainer.max_epochs=2", f"ckpt_path={last}", name="resumed")
    with pytest.raises(ZooError, match=damaged(last)):
        train(resumed)


# -- a failed write (a full disk) ------------------------------------------------------------
def no_space(path: Path) -> OSError:
    error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    error.zoo_write_path = path
    return error


@needs_proc
def test_a_failed_checkpoint_write_keeps_the_checkpoints_before_it(tmp_path, monkeypatch):
    """The removal of the previous best and the link of last.ckpt, queued behind a write that
    failed, are skipped: the previous checkpoints stay, whole; the temporary file is gone."""
    io = AtomicCheckpointIO()
    first, last = tmp_path / "epoch_000.ckpt", tmp_path / "last.ckpt"
    io.save_checkpoint(a_checkpoint(), first)
    io.link_checkpoint(first, last)
    io.teardown()
    real_fsync, queued = os.fsync, threading.Event()

    def full_disk(fd: int) -> None:
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).endswith(".partial"):
            queued.wait(timeout=30)  # fail once the work after this write is queued
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    second = tmp_path / "epoch_001.ckpt"
    io.save_checkpoint({**a_checkpoint(), "epoch": 4}, second)
    io.remove_checkpoint(first)  # Lightning removes the previous best after saving the new
    io.link_checkpoint(second, last)
    queued.set()
    with pytest.raises(OSError) as failure:
        io.teardown()
    assert failure.value.errno == errno.ENOSPC and failure.value.zoo_write_path == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    assert read_checkpoint(last)["epoch"] == 3
    monkeypatch.undo()
    io.save_checkpoint(a_checkpoint(), second)  # the next fit's writes are not skipped
    io.teardown()
    assert second.is_file()


def test_a_failed_write_is_one_line_with_the_file_what_is_kept_and_the_resume(make_config):
    cfg = make_config(*FAST_FLAT, "trainer.max_epochs=3")
    run = Path(cfg.paths.output_dir)
    export = run / "model" / "model.safetensors"
    line, code = write_failure(cfg, no_space(export))
    assert code == WRITE_FAILED_EXIT
    assert line == (
        f"the run stopped: writing {str(export)!r} failed (No space left on device, ENOSPC); "
        "no checkpoint had been written, so there is nothing to resume from"
    )
    last = run / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"")
    try:  # the disk refused a logger's write too, while Lightning handled the first failure
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from no_space(export)
    except OSError as error:
        line, _ = write_failure(cfg, error)
    assert line.startswith(f"the run stopped: writing {str(export)!r} failed (No space left")
    assert f"the checkpoints written before are whole, the last {str(last)!r}" in line
    assert line.endswith(
        f"once that is fixed, to resume: python train.py {' '.join(FAST_FLAT)} "
        f"trainer.max_epochs=3 ckpt_path={last}"
    )
    # a write anywhere that the disk refused; not other OSErrors (a missing input file)
    assert write_failure(cfg, OSError(errno.EROFS, "Read-only file system", "/x/y")) is not None
    assert write_failure(cfg, FileNotFoundError(errno.ENOENT, "No such file", "/x")) is None
    assert write_failure(cfg, ValueError("no")) is None


# Runs train.py in this process with the disk "full" for the Nth fsync of a temporary file
# whose name ends with ZOO_TEST_FULL_AT's suffix (after its bytes were written, as ext4 and
# network filesystems report a full disk).
FULL_DISK_RUN = """
import errno, os, runpy, sys
suffix, nth = os.environ["ZOO_TEST_FULL_AT"].split(":")
seen = {"count": 0}
real_fsync = os.fsync
def fsync(fd):
    name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
    if name.endswith(suffix + ".partial"):
        seen["count"] += 1
        if seen["count"] == int(nth):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    real_fsync(fd)
os.fsync = fsync
sys.argv = ["train.py", *sys.argv[1:]]
runpy.run_path(sys.argv.pop(1), run_name="__main__")
"""


# 2 runs of train.py, 25 s each case
@needs_proc
@pytest.mark.slow
@pytest.mark.parametrize(
    ("full_at", "failed", "epoch_kept"),
    [(".ckpt:2", "checkpoints/", 0), ("model.safetensors:1", "model/model.safetensors", 2)],
    ids=["checkpoint", "export"],
)
def test_a_full_disk_is_one_line_and_its_resume_command_finishes_the_run(
    tmp_path, full_at, failed, epoch_kept
):
    run = tmp_path / "run"
    overrides = ["model=mlp", "data=digits_flat", "trainer.max_epochs=3", f"hydra.run.dir={run}"]
    command = [sys.executable, "-c", FULL_DISK_RUN, str(REPO_ROOT / "train.py"), *overrides]
    env = {**os.environ, "ZOO_TEST_FULL_AT": full_at}
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == WRITE_FAILED_EXIT, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == result.stderr.splitlines()[-1:], result.stderr[-3000:]
    line = errors[0]
    assert f"writing '{run}/{failed}" in line and "No space left on device" in line
    last = run / "checkpoints" / "last.ckpt"
    assert f"the checkpoints written before are whole, the last {str(last)!r}" in line
    assert read_checkpoint(last)["epoch"] == epoch_kept
    assert not [p for p in run.rglob("*.partial")]
    resume = shlex.split(line.split("to resume: ", 1)[1])
    assert resume[:2] == ["python", "train.py"] and f"ckpt_path={last}" in resume
    resumed = subprocess.run(
        [sys.executable, *resume[1:]], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run / "results.json").read_text())["metrics"]["test/acc"] > 0
    load_pretrained(run)


# -- crafted checkpoints: their digests recomputed, their entries of the wrong type ----------
def crafted(path: Path, checkpoint: dict, edit) -> Path:
    """``checkpoint`` with ``edit`` applied, written to ``path`` with its digest recomputed
    (the digest is unkeyed: anyone sharing the file can)."""
    checkpoint = {k: v for k, v in checkpoint.items() if k != CHECKPOINT_DIGEST_KEY}
    edit(checkpoint)
    torch.save(with_checkpoint_digest(checkpoint), path)
    return path


def _set(*keys, value):
    def edit(checkpoint: dict) -> None:
        node = checkpoint
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


WRONG_TYPES = {
    "zoo.config": _set("zoo", "config", value=["lr", 0.1]),
    "zoo.config.optimizer": _set("zoo", "config", "optimizer", value="adam"),
    "zoo": _set("zoo", value="x"),
    "zoo.rng.torch": _set("zoo", "rng", "torch", value="x"),
    "optimizer_states": _set("optimizer_states", value="x"),
    "optimizer_states.0.state.0.exp_avg": _set(
        "optimizer_states", 0, "state", 0, "exp_avg", value="x"
    ),
    "optimizer_states.0.param_groups": _set("optimizer_states", 0, "param_groups", value={}),
    "lr_schedulers.0": _set("lr_schedulers", value=[[1]]),
    "hyper_parameters": _set("hyper_parameters", value=[1]),
    "state_dict.weight": _set("state_dict", "weight", value="x"),
    "epoch": _set("epoch", value="3"),
}


@pytest.mark.parametrize("entry", list(WRONG_TYPES))
def test_a_checkpoint_entry_of_the_wrong_type_is_named_when_read(tmp_path, entry):
    checkpoint = {
        **a_checkpoint(),
        "lr_schedulers": [],
        "zoo": {
            "model": {"name": "mlp", "kwargs": {}},
            "config": {"optimizer": {"lr": 0.1}},
            "rng": {"torch": torch.get_rng_state()},
        },
    }
    checkpoint["optimizer_states"][0]["state"][0]["exp_avg"] = torch.zeros(3)
    path = crafted(tmp_path / "crafted.ckpt", checkpoint, WRONG_TYPES[entry])
    with pytest.raises(ZooError, match=named(repr(str(path)), entry)):
        read_checkpoint(path)
    with pytest.raises(ZooError, match=named(repr(str(path)), entry)):
        AtomicCheckpointIO().load_checkpoint(path)  # Lightning's read, for resume and test


@pytest.mark.parametrize(
    "entry, train_flag",
    [
        ("zoo.config", "train=true"),
        ("optimizer_states.0.state.0.exp_avg", "train=true"),
        ("zoo.rng.torch", "train=true"),
        ("zoo.config", "train=false"),
    ],
)
def test_resuming_or_testing_a_crafted_checkpoint_is_one_line(make_config, entry, train_flag):
    """Each was a traceback (AttributeError, TypeError) from the resume or the test."""
    cfg = make_config(*FAST_FLAT, "trainer.max_epochs=1")
    train(cfg)
    last = Path(cfg.paths.output_dir, "checkpoints", "last.ckpt")
    path = crafted(
        last.with_name("crafted.ckpt"), torch.load(last, weights_only=True), WRONG_TYPES[entry]
    )
    resumed = make_config(
        *FAST_FLAT, "trainer.max_epochs=2", f"ckpt_path={path}", train_flag, name="resumed"
    )
    with pytest.raises(ZooError, match=named(repr(str(path)), entry)):
        train(resumed)


def test_an_interpolation_in_a_checkpoints_config_is_shown_never_resolved(make_config, monkeypatch):
    """``${oc.env:...}`` planted in a shared checkpoint's recorded config was resolved into
    the refusal of a changed setting, showing the environment variable's value."""
    monkeypatch.setenv("ZOO_TEST_SECRET", "s3cr3t-value")
    cfg = make_config(*FAST_FLAT, "trainer.max_epochs=1")
    train(cfg)
    last = Path(cfg.paths.output_dir, "checkpoints", "last.ckpt")
    planted = "${oc.env:ZOO_TEST_SECRET}"
    path = crafted(
        last.with_name("crafted.ckpt"),
        torch.load(last, weights_only=True),
        _set("zoo", "config", "optimizer", "lr", value=planted),
    )
    resumed = make_config(*FAST_FLAT, "trainer.max_epochs=2", f"ckpt_path={path}", name="resumed")
    with pytest.raises(ZooError) as refused:
        train(resumed)
    assert "s3cr3t-value" not in str(refused.value)
    assert planted in str(refused.value)
