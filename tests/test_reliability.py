"""Nothing written is lost: last.ckpt is the last epoch, checkpoints are written atomically,
a diverging run stops with one line and exports nothing, results.json is strict JSON, and
runs started together get their own folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from zoo import ZooError
from zoo.checkpointing import AtomicCheckpointIO
from zoo.run import train
from zoo.weights import write_json

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST_FLAT = ["model=mlp", "data=digits_flat", "+trainer.limit_train_batches=2"]


def test_last_checkpoint_holds_the_most_recent_epoch(make_config):
    # val/acc_best never decreases, so with mode=min the best checkpoint stays epoch 0 while
    # training goes on: last.ckpt must still move on with every epoch.
    cfg = make_config(
        *FAST_FLAT, "trainer.max_epochs=3", "monitor.metric=val/acc_best", "monitor.mode=min"
    )
    train(cfg)
    folder = Path(cfg.paths.output_dir, "checkpoints")
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    last = torch.load(folder / "last.ckpt", weights_only=True, map_location="cpu")
    assert last["epoch"] == 2 and last["global_step"] == 6


def test_a_diverging_run_stops_with_one_line_and_exports_nothing(make_config):
    cfg = make_config(*FAST_FLAT, "optimizer=sgd", "optimizer.lr=1e6", "trainer.max_epochs=3")
    with pytest.raises(ZooError, match=r"training diverged: the loss is (nan|inf) at step \d+"):
        train(cfg)
    run = Path(cfg.paths.output_dir)
    assert not (run / "results.json").exists() and not (run / "model").exists()


def test_results_json_is_strict(tmp_path):
    write_json(tmp_path / "r.json", {"metrics": {"a": float("nan"), "b": [float("inf"), 1.0]}})

    def refuse(constant):
        raise ValueError(constant)

    loaded = json.loads((tmp_path / "r.json").read_text(), parse_constant=refuse)
    assert loaded == {"metrics": {"a": None, "b": [None, 1.0]}}


def test_a_failed_checkpoint_write_keeps_the_previous_file(tmp_path):
    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"epoch": 1, "weights": torch.ones(3)}, target)
    good = target.read_bytes()
    with pytest.raises(Exception):  # noqa: B017  (pickling a lambda fails mid-save)
        io.save_checkpoint({"epoch": 2, "bad": lambda: None}, target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left
    assert io.load_checkpoint(target, weights_only=True)["epoch"] == 1


def test_runs_started_together_get_their_own_folders(tmp_path):
    command = [
        sys.executable,
        str(REPO_ROOT / "train.py"),
        "debug=fdr",
        "model=mlp",
        "data=digits_flat",
        "callbacks=none",
        f"paths.log_dir={tmp_path}",
    ]
    runs = [subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE) for _ in range(2)]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr.decode()[-2000:]
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2
    assert all((folder / "results.json").is_file() for folder in folders)
