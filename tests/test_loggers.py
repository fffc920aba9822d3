"""logger=mlflow and logger=wandb: a tiny train.py with each, offline, and its metrics read
back from the logger's own store; a missing package refused in one line naming its extra."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import names

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "model=mlp",
    "data=digits_flat",
    "augmentation=[none]",
    "trainer.max_epochs=2",
    "+trainer.limit_train_batches=2",
    "+trainer.limit_val_batches=1",
    "callbacks.rich_progress_bar=null",
    "callbacks.model_summary=null",
]
# Any HTTP(S) request a logger makes goes to a closed port and fails: offline means offline.
NO_NETWORK = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "WANDB_BASE_URL": "http://127.0.0.1:9",
}


def test_a_logger_without_its_package_is_refused_naming_the_extra(refusal, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    assert names(refusal("logger=mlflow"), "logger.mlflow", '".[mlflow]"')


@pytest.mark.parametrize(
    ("target", "missing", "extra"),
    [
        ("zoo.training.loggers.OfflineWandbLogger", ["wandb"], "wandb"),
        ("lightning.pytorch.loggers.WandbLogger", ["wandb"], "wandb"),
        (
            "lightning.pytorch.loggers.TensorBoardLogger",
            ["tensorboard", "tensorboardX"],
            "tensorboard",
        ),
        ("lightning.pytorch.loggers.TensorBoardLogger", ["tensorboard"], None),  # tensorboardX
        ("lightning.pytorch.loggers.CSVLogger", ["mlflow", "wandb"], None),
    ],
)
def test_each_logger_needs_its_own_package(monkeypatch, target, missing, extra):
    from omegaconf import OmegaConf

    from zoo.errors import ZooError
    from zoo.training.loggers import check_logger_packages

    for module in ["mlflow", "wandb", "tensorboard", "tensorboardX"]:
        monkeypatch.setitem(sys.modules, module, None if module in missing else sys)
    loggers = OmegaConf.create({"mine": {"_target_": target}})
    if extra is None:
        check_logger_packages(loggers)
    else:
        with pytest.raises(ZooError) as refused:
            check_logger_packages(loggers)
        assert names(str(refused.value), "logger.mine", f'".[{extra}]"')


def run_tiny(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "MLFLOW_"))}
    env.pop("HYDRA_FULL_ERROR", None)
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "train.py"),
            *TINY,
            *overrides,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=run_dir.parent,
        env={**env, **NO_NETWORK},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run_dir / "csv" / "metrics.csv").is_file() and (run_dir / "curves.png").is_file()
    return result


@pytest.mark.slow
def test_mlflow_logs_the_runs_metrics_into_a_store_in_the_run_folder(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    run_dir = tmp_path / "run"
    run_tiny(run_dir, "logger=mlflow")
    client = MlflowClient(tracking_uri=f"sqlite:///{run_dir / 'mlflow.db'}")
    [experiment] = [e for e in client.search_experiments() if e.name == "train"]
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    history = client.get_metric_history(run.info.run_id, "val/loss")
    assert len(history) == 2  # one validation an epoch
    assert {"train/loss", "val/acc", "test/acc"} <= set(run.data.metrics)
    assert Path(experiment.artifact_location.removeprefix("file://")).is_relative_to(run_dir)


def wandb_history(path: Path) -> dict[str, list[str]]:
    """The logged values by key of an offline W&B run file (``run-*.wandb``): a header, then
    LevelDB-log records (32 KiB blocks; each record a CRC, a length, a type and its bytes) of
    wandb's protobuf ``Record``s. Read here without wandb's internals, which change."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, offset, pending, history = 32768, 7, b"", {}
    while offset + 7 <= len(data):
        if block - offset % block < 7:  # a block's tail too short for a record header
            offset += block - offset % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[offset : offset + 7])
        chunk = data[offset + 7 : offset + 7 + length]
        offset += 7 + length
        if kind == 0 and length == 0:
            continue  # padding
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind not in (1, 4):  # FIRST and MIDDLE pieces wait for the LAST
            continue
        record = pb.Record()
        record.ParseFromString(pending)
        if record.WhichOneof("record_type") == "history":
            for item in record.history.item:
                key = item.key or "/".join(item.nested_key)
                history.setdefault(key, []).append(item.value_json)
    return history


@pytest.mark.slow
def test_wandb_logs_offline_under_the_run_folder_without_a_network_call(tmp_path):
    pytest.importorskip("wandb")
    run_dir = tmp_path / "run"
    result = run_tiny(run_dir, "logger=wandb")  # WANDB_MODE unset: the logger sets it
    [offline_run] = (run_dir / "wandb").glob("offline-run-*")
    history = wandb_history(next(offline_run.glob("run-*.wandb")))
    assert len(history["val/loss"]) == 2  # one validation an epoch
    assert {"train/loss", "val/acc", "test/acc"} <= set(history)
    logs = result.stderr + "".join(p.read_text() for p in run_dir.rglob("*.log"))
    assert "127.0.0.1:9" not in logs  # no request to the (unreachable) server
