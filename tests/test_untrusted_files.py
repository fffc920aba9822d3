"""A run folder someone shared runs no code: the configs recorded in its results.json and
config.json are data. Two payloads Hydra's own blocklist lets through (``torch.load`` and
``numpy.load`` of a pickle) are planted in each file, and every tool that reads the folder
is run on it; the pickles' side effect (creating a marker file) must never happen."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import compose_config
from hydra.core.global_hydra import GlobalHydra
from lightning import LightningDataModule

from zoo import ZooError, load_pretrained
from zoo.apps.autoencode import main as autoencode_main
from zoo.config.recorded import build_recorded
from zoo.data import DigitsDataModule


class _Touch:
    """Unpickling this creates the file ``path``: the stand-in for arbitrary code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished autoencoder run (one epoch): results.json + model/."""
    from zoo.training.run import train

    folder = tmp_path_factory.mktemp("shared") / "run"
    cfg = compose_config(
        [
            "model=autoencoder",
            "model.hidden_sizes=[16]",
            "model.latent_dim=2",
            "task=autoencoder",
            "trainer.max_epochs=1",
            "+trainer.limit_train_batches=2",
            "logger=none",
            "callbacks=none",
        ],
        folder,
    )
    try:
        train(cfg)
    finally:
        GlobalHydra.instance().clear()
    return folder


def payloads(folder: Path) -> tuple[Path, list[dict]]:
    """The marker file and the two configs that create it when Hydra instantiates them."""
    marker = folder / "code_ran"
    evil_pt, evil_npy = folder / "evil.pt", folder / "evil.npy"
    torch.save({"x": _Touch(marker)}, evil_pt)
    np.save(evil_npy, np.array([_Touch(marker)], dtype=object), allow_pickle=True)
    return marker, [
        {"_target_": "torch.load", "f": str(evil_pt), "weights_only": False},
        {"_target_": "numpy.load", "file": str(evil_npy), "allow_pickle": True},
    ]


def test_the_payloads_run_code_through_hydra(tmp_path):
    """The payloads are live: Hydra's instantiate runs them (so the tests below can fail)."""
    from hydra.utils import instantiate

    for payload in payloads(tmp_path)[1]:
        marker = tmp_path / "code_ran"
        marker.unlink(missing_ok=True)
        instantiate(payload)
        assert marker.exists(), payload["_target_"]


@pytest.mark.parametrize("command", ["latents", "denoise", "anomaly"])
@pytest.mark.parametrize("which", [0, 1], ids=["torch.load", "numpy.load"])
def test_a_payload_in_results_json_runs_no_code(run_dir, tmp_path, capsys, command, which):
    shared = tmp_path / "run"
    shutil.copytree(run_dir, shared)
    marker, planted = payloads(tmp_path)
    results = json.loads((shared / "results.json").read_text())
    results["config"]["data"] = planted[which]
    (shared / "results.json").write_text(json.dumps(results))
    out = tmp_path / ("out.png" if command == "denoise" else "out.csv")
    assert autoencode_main([command, str(shared), "--out", str(out)]) == 2
    assert not marker.exists()
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and planted[which]["_target_"] in error, error


@pytest.mark.parametrize("which", [0, 1], ids=["torch.load", "numpy.load"])
def test_a_payload_in_config_json_runs_no_code(run_dir, tmp_path, which):
    shared = tmp_path / "run"
    shutil.copytree(run_dir, shared)
    marker, planted = payloads(tmp_path)
    config_path = shared / "model" / "config.json"
    config = json.loads(config_path.read_text())
    config["data"]["normalization"] = planted[which]
    config["model"]["kwargs"]["latent_dim"] = planted[which]
    config_path.write_text(json.dumps(config))
    with pytest.raises(ZooError):
        load_pretrained(shared / "model")
    assert autoencode_main(["latents", str(shared), "--out", str(tmp_path / "codes.csv")]) == 2
    assert not marker.exists()


@pytest.mark.parametrize(
    "node, refused",
    [
        ({"_target_": "zoo.data.arrays.np.load", "file": "x.npy"}, "zoo.data.arrays.np.load"),
        ({"_target_": "zoo.create_model", "name": "mlp"}, "zoo.create_model"),
        ({"_target_": "os.system", "command": "true"}, "os.system"),
        ({"batch_size": 8}, "None"),
        (
            {"_target_": "zoo.data.DigitsDataModule", "batch_size": {"_target_": "torch.load"}},
            "batch_size._target_",
        ),
        ({"_target_": "zoo.data.DigitsDataModule", "_partial_": True}, "_partial_"),
    ],
)
def test_a_recorded_config_builds_only_the_zoos_own_classes(node, refused):
    with pytest.raises(ZooError, match=r"allowed|not allowed") as error:
        build_recorded(node, base=LightningDataModule, where="config.data")
    assert refused in str(error.value)


def test_a_recorded_config_builds_the_zoo_class_it_names():
    data = build_recorded(
        {"_target_": "zoo.data.DigitsDataModule", "batch_size": 8, "holdout_classes": [3]},
        base=LightningDataModule,
        where="config.data",
    )
    assert isinstance(data, DigitsDataModule) and data.hparams.get("batch_size", 8) == 8
    with pytest.raises(ZooError, match="bach_size"):
        build_recorded(
            {"_target_": "zoo.data.DigitsDataModule", "bach_size": 8},
            base=LightningDataModule,
            where="config.data",
        )


def test_pickle_marker_is_a_real_pickle(tmp_path):
    """The stand-in payload creates its marker when unpickled (a sanity check of _Touch)."""
    marker = tmp_path / "m"
    pickle.loads(pickle.dumps(_Touch(marker)))
    assert marker.exists()
