"""A run folder someone shared runs no code: the configs recorded in its results.json and
config.json are data. Two payloads Hydra's own blocklist lets through (``torch.load`` and
``numpy.load`` of a pickle) are planted in each file, and every tool that reads the folder
is run on it; the pickles' side effect (creating a marker file) must never happen."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import named
from lightning import LightningDataModule
from PIL import Image

from zoo import ZooError, create_model, load_pretrained
from zoo.apps.autoencode import main as autoencode_main
from zoo.config.recorded import build_recorded
from zoo.data import DigitsDataModule, ImageFolderDataModule


class _Touch:
    """Unpickling this creates the file ``path``: the stand-in for arbitrary code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


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
def test_a_payload_in_results_json_runs_no_code(autoencoder_run, tmp_path, capsys, command, which):
    shared = tmp_path / "run"
    shutil.copytree(autoencoder_run, shared)
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
def test_a_payload_in_config_json_runs_no_code(autoencoder_run, tmp_path, which):
    shared = tmp_path / "run"
    shutil.copytree(autoencoder_run, shared)
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
        ({"_target_": "zoo.data.arrays.np.load", "file": "x.npy"}, "'zoo.data.arrays.np.load'"),
        ({"_target_": "zoo.create_model", "name": "mlp"}, "'zoo.create_model'"),
        ({"_target_": "os.system", "command": "true"}, "'os.system'"),
        ({"batch_size": 8}, "None"),
    ],
)
def test_a_recorded_config_builds_only_the_zoos_own_classes(node, refused):
    fragments = ("config.data._target_", refused, "LightningDataModule")
    with pytest.raises(ZooError, match=named(*fragments)):
        build_recorded(node, base=LightningDataModule, where="config.data")


@pytest.mark.parametrize(
    "node, refused",
    [
        (
            {"_target_": "zoo.data.DigitsDataModule", "batch_size": {"_target_": "torch.load"}},
            "config.data.batch_size._target_",
        ),
        ({"_target_": "zoo.data.DigitsDataModule", "_partial_": True}, "config.data._partial_"),
    ],
)
def test_a_recorded_config_names_only_at_its_top_level(node, refused):
    with pytest.raises(ZooError, match=named(refused)):
        build_recorded(node, base=LightningDataModule, where="config.data")


def test_a_recorded_config_builds_the_zoo_class_it_names():
    data = build_recorded(
        {"_target_": "zoo.data.DigitsDataModule", "batch_size": 8, "holdout_classes": [3]},
        base=LightningDataModule,
        where="config.data",
    )
    assert isinstance(data, DigitsDataModule) and data.hparams.get("batch_size", 8) == 8
    with pytest.raises(ZooError, match=named("config.data", "'bach_size'")):
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


# -- crafted files whose digests were recomputed: one line, never a traceback or a hog ------
SHIPPED = Path(__file__).resolve().parents[1] / "zoo" / "pretrained" / "lenet5.digits"


def crafted_copy(folder: Path, edit=None) -> Path:
    """A copy of the shipped LeNet-5 folder with ``edit`` applied to its config.json, and the
    sha256 of its model.safetensors recomputed (as anyone sharing the folder can)."""
    if not folder.exists():
        shutil.copytree(SHIPPED, folder)
    config = json.loads((folder / "config.json").read_text())
    if edit is not None:
        edit(config)
    weights = (folder / "model.safetensors").read_bytes()
    config["sha256"] = {"model.safetensors": hashlib.sha256(weights).hexdigest()}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def a_digit(tmp_path: Path) -> Path:
    image = tmp_path / "digit.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8), mode="L").save(image)
    return image


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err[-2000:]
    return lines[0]


def test_a_folder_naming_weights_is_refused_not_followed_in_a_cycle(tmp_path, capsys):
    from zoo.apps.predict import main as predict_main

    first, second = tmp_path / "first", tmp_path / "second"
    crafted_copy(second)

    def naming(folder: Path):
        return lambda config: config["model"]["kwargs"].update(weights=str(folder))

    crafted_copy(first, naming(first))  # itself
    config = repr(str(first / "config.json"))
    for load in (lambda: load_pretrained(first), lambda: create_model("lenet5", weights=first)):
        with pytest.raises(ZooError, match=named(config, "model.kwargs.weights", repr(str(first)))):
            load()
    crafted_copy(first, naming(second))  # a cycle of two folders
    crafted_copy(second, naming(first))
    with pytest.raises(ZooError, match=named(config, "model.kwargs.weights", repr(str(second)))):
        load_pretrained(first)
    assert predict_main([str(second), str(a_digit(tmp_path))]) == 2
    assert "weights" in one_error_line(capsys)


def test_class_names_fewer_than_the_outputs_are_refused_when_loading(tmp_path, capsys):
    from zoo.apps.predict import main as predict_main

    def three_names(config: dict) -> None:
        config["data"]["class_names"] = ["zero", "one", "two"]
        del config["data"]["num_classes"]

    folder = crafted_copy(tmp_path / "m", three_names)
    config = str(folder / "config.json")
    with pytest.raises(ZooError, match=named(config, "data.class_names", "3", "10")):
        load_pretrained(folder)
    assert predict_main([str(folder), str(a_digit(tmp_path))]) == 2
    assert "class_names" in one_error_line(capsys)
    crafted_copy(folder, lambda config: config["data"].update(num_classes=10))
    with pytest.raises(ZooError, match=named(config, "['zero', 'one', 'two']", "10")):
        load_pretrained(folder)


@pytest.mark.parametrize(
    "shape",
    [[1, 100000, 100000], [3, 32, 32], [1, 16, 16], [1, 32], [0, 32, 32], [1, 32.0, 32]],
)
def test_an_input_shape_too_large_or_not_the_models_is_refused_when_loading(
    tmp_path, capsys, shape
):
    """[1, 100000, 100000] made zoo.predict allocate 40 GB for one batch."""
    from zoo.apps.predict import main as predict_main

    folder = crafted_copy(tmp_path / "m", lambda config: config["data"].update(input_shape=shape))
    with pytest.raises(ZooError, match=named(str(folder / "config.json"), str(shape))):
        load_pretrained(folder)
    assert predict_main([str(folder), str(a_digit(tmp_path))]) == 2
    assert "input_shape" in one_error_line(capsys)


def grow_safetensors(path: Path, name: str, nbytes: int) -> None:
    """Declare one more float32 tensor ``name`` of ``nbytes`` in ``path``'s header, its data
    a hole at the end of the file (sparse: nothing is written)."""
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    end = max(entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__")
    header[name] = {"dtype": "F32", "shape": [nbytes // 4], "data_offsets": [end, end + nbytes]}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as file:
        file.write(len(text).to_bytes(8, "little") + text + data[8 + length :])
        file.truncate(8 + len(text) + end + nbytes)


@pytest.mark.parametrize("name", ["extra", "aux_head.weight"], ids=["unexpected", "optional"])
def test_a_weights_file_larger_than_the_model_is_refused_before_it_is_read(
    tmp_path, monkeypatch, name
):
    """A 2 GB model.safetensors was read whole (2.6 GB of memory) before it was checked;
    its header is checked against the model, and its size bounded, first."""
    import zoo.weights

    folder = tmp_path / "m"
    shutil.copytree(SHIPPED, folder)
    grow_safetensors(folder / "model.safetensors", name, 64 * 2**20)
    crafted_copy(folder)

    read = []
    monkeypatch.setattr(zoo.weights, "load", lambda data: read.append(len(data)))
    with pytest.raises(ZooError, match=named(repr(str(folder / "model.safetensors")))):
        load_pretrained(folder)
    assert not read, "the tensors were read before the header was checked"


@pytest.mark.parametrize(
    "data",
    [
        {"_target_": "zoo.data.base.TensorDataModule"},
        {"_target_": "zoo.data.downloaded.DownloadedDataModule", "data_dir": "."},
        {"_target_": "zoo.data.image_folder.ImageFolderDataModule", "root": "/"},
    ],
    ids=["TensorDataModule", "DownloadedDataModule", "root"],
)
def test_recorded_data_that_cannot_be_rebuilt_is_one_line(
    autoencoder_run, tmp_path, capsys, monkeypatch, data
):
    """A base class has no data of its own (a traceback); an image folder at the file
    system's root listed every file."""
    import torchvision.datasets.folder

    def never(*args, **kwargs):
        raise AssertionError("the file system was listed")

    monkeypatch.setattr(torchvision.datasets.folder, "make_dataset", never)
    shared = tmp_path / "run"
    shutil.copytree(autoencoder_run, shared)
    results = json.loads((shared / "results.json").read_text())
    results["config"]["data"] = data
    (shared / "results.json").write_text(json.dumps(results))
    assert autoencode_main(["latents", str(shared), "--out", str(tmp_path / "codes.csv")]) == 2
    line = one_error_line(capsys)
    assert data["_target_"] in line or "'/'" in line, line


def test_recorded_data_values_of_the_wrong_type_are_one_line(autoencoder_run, tmp_path, capsys):
    """A results.json's data with a string where a count goes ("${oc.env:HOME}" as text:
    nothing from a file is resolved) failed inside the data module's comparison."""
    shared = tmp_path / "run"
    shutil.copytree(autoencoder_run, shared)
    results = json.loads((shared / "results.json").read_text())
    results["config"]["data"]["batch_size"] = "${oc.env:HOME}"
    (shared / "results.json").write_text(json.dumps(results))
    assert autoencode_main(["latents", str(shared), "--out", str(tmp_path / "codes.csv")]) == 2
    line = one_error_line(capsys)
    assert "data.batch_size" in line and "${oc.env:HOME}" in line, line


def test_a_folder_of_a_later_format_is_refused(tmp_path):
    folder = crafted_copy(tmp_path / "m", lambda config: config.update(format_version=999))
    config = repr(str(folder / "config.json"))
    with pytest.raises(ZooError, match=named(config, "format_version", "999")):
        load_pretrained(folder)


def test_an_image_folder_with_a_link_to_its_parent_lists_each_image_once(tmp_path, monkeypatch):
    """Links to folders were followed: a link to a parent listed images over and over (two
    links in a folder: exponentially, a hang); and the listing is bounded."""
    import zoo.data.image_folder as image_folder

    root = tmp_path / "images"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for index in range(5):
            Image.fromarray(np.full((6, 6), index * 40, dtype=np.uint8)).save(
                root / name / f"{index}.png"
            )
    (root / "cat" / "up").symlink_to(root)
    module = ImageFolderDataModule(root=str(root), image_size=4, val_fraction=0.2)
    module.setup()
    assert sum(len(inputs) for inputs, _ in module.splits.values()) == 10
    monkeypatch.setattr(image_folder, "MAX_LISTED_ENTRIES", 3)
    with pytest.raises(ZooError, match=named("data.root", repr(str(root)), "3")):
        ImageFolderDataModule(root=str(root), image_size=4).setup()
