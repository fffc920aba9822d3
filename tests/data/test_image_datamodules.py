"""The torchvision-backed image DataModules (MNIST, Fashion-MNIST, CIFAR-10/100) and the
ImageFolder one, on tiny fixtures written in each dataset's native on-disk format: IDX files,
pickled CIFAR batches, PNG folders. No network: downloads are made to fail on purpose.

CIFAR's MD5 checks: torchvision verifies every CIFAR file against the MD5 of the official
file (``CIFAR10.train_list`` / ``test_list`` / ``meta``). The fixture files cannot match
those, so the ``cifar_checksums`` fixture replaces, for the test only, those class
attributes with the MD5s of the files it wrote. torchvision's own integrity code still runs
on every load, and a test corrupts a file to show it does.
"""

from __future__ import annotations

import pickle
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import named
from PIL import Image
from torchvision import datasets
from torchvision.datasets.utils import calculate_md5

from zoo.data import (
    CIFAR10DataModule,
    CIFAR100DataModule,
    FashionMNISTDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
)
from zoo.errors import ZooError
from zoo.training.run import train

MNIST_FILES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
FAST = ["debug=fdr", "model=mlp", "data.download=false", "data.batch_size=4"]


# -- fixtures in the native formats -------------------------------------------------------
def balanced_labels(num_classes: int, per_class: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.repeat(np.arange(num_classes), per_class)).astype(np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file: big-endian magic (0x08 = unsigned byte, then the number of dimensions:
    2051 for images, 2049 for labels), the dimensions, then the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.tobytes())


def write_mnist(root: Path, folder: str, *, train: int = 100, test: int = 20) -> dict:
    """``root/<folder>/raw/`` with the four uncompressed IDX files torchvision reads. Test
    images are brighter than training ones, so statistics that include them would show."""
    rng = np.random.default_rng(0)
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    arrays = {
        "train_x": rng.integers(0, 128, (train, 28, 28), dtype=np.uint8),
        "train_y": balanced_labels(10, train // 10, rng),
        "test_x": rng.integers(128, 256, (test, 28, 28), dtype=np.uint8),
        "test_y": balanced_labels(10, test // 10, rng),
    }
    for name, key in zip(MNIST_FILES, ("train_x", "train_y", "test_x", "test_y")):
        write_idx(raw / name, arrays[key])
    return arrays


def write_cifar(root: Path, *, hundred: bool) -> dict:
    """The pickled batches of cifar-10-batches-py (five training batches, test_batch,
    batches.meta) or cifar-100-python (train, test, meta): rows of 3072 bytes, the red,
    green and blue 32x32 planes one after the other."""
    rng = np.random.default_rng(1)
    num_classes, per_class = (100, 2) if hundred else (10, 5)
    train_x = rng.integers(0, 128, (num_classes * per_class, 3072), dtype=np.uint8)
    train_y = balanced_labels(num_classes, per_class, rng).astype(int)
    test_x = rng.integers(128, 256, (num_classes, 3072), dtype=np.uint8)
    test_y = rng.permutation(num_classes)
    names = [f"class_{i:03d}" for i in range(num_classes)]

    def dump(path: Path, entry: dict) -> None:
        with open(path, "wb") as f:
            pickle.dump(entry, f)

    if hundred:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        for name, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
            dump(
                folder / name,
                {"data": x, "fine_labels": list(y), "coarse_labels": [int(c) // 5 for c in y]},
            )
        dump(
            folder / "meta",
            {"fine_label_names": names, "coarse_label_names": [f"super_{i}" for i in range(20)]},
        )
    else:
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        for batch in range(5):
            rows = slice(batch * 10, (batch + 1) * 10)
            dump(
                folder / f"data_batch_{batch + 1}",
                {"data": train_x[rows], "labels": list(train_y[rows])},
            )
        dump(folder / "test_batch", {"data": test_x, "labels": list(test_y)})
        dump(folder / "batches.meta", {"label_names": names, "num_vis": 3072})
    return {
        "folder": folder,
        "train_x": train_x.reshape(-1, 3, 32, 32),
        "train_y": train_y,
        "test_x": test_x.reshape(-1, 3, 32, 32),
        "test_y": test_y,
        "names": names,
    }


@pytest.fixture
def cifar_checksums(monkeypatch):
    """``use(dataset_class, folder)``: make torchvision expect the MD5s of the fixture files
    in ``folder`` instead of the official files' (patched on the class for this test only)."""

    def use(dataset_class, folder: Path) -> None:
        def md5(name: str) -> str:
            return calculate_md5(folder / name)

        monkeypatch.setattr(
            dataset_class, "train_list", [[n, md5(n)] for n, _ in dataset_class.train_list]
        )
        monkeypatch.setattr(
            dataset_class, "test_list", [[n, md5(n)] for n, _ in dataset_class.test_list]
        )
        meta = dict(dataset_class.meta, md5=md5(dataset_class.meta["filename"]))
        monkeypatch.setattr(dataset_class, "meta", meta)

    return use


def write_image_folder(root: Path, counts: dict[str, int], seed: int = 2) -> None:
    """PNGs of assorted sizes and modes (RGB, grayscale, palette) under root/<class>/."""
    rng = np.random.default_rng(seed)
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            height, width = (int(s) for s in rng.integers(6, 20, 2))
            pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            image = Image.fromarray(pixels)
            if i % 3 == 1:
                image = image.convert("L")
            elif i % 3 == 2:
                image = image.convert("P")
            image.save(root / name / f"{i:03d}.png")


@pytest.fixture
def no_network(monkeypatch):
    """Every download attempt fails at once with the URLError an offline machine raises."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# -- helpers --------------------------------------------------------------------------------
def row_index(reference: np.ndarray) -> dict[bytes, int]:
    """Random images are unique: their bytes identify them."""
    index = {np.ascontiguousarray(image).tobytes(): i for i, image in enumerate(reference)}
    assert len(index) == len(reference)
    return index


def rows_of(images: torch.Tensor, reference: np.ndarray) -> list[int]:
    index = row_index(reference)
    return [index[image.numpy().tobytes()] for image in images]


def check_splits(module, train_x, train_y, test_x, test_y, *, val_per_class: int) -> None:
    """Official test split; val carved from train, stratified; statistics from train only."""
    x_train, y_train = module.splits["train"]
    x_val, y_val = module.splits["val"]
    x_test, y_test = module.splits["test"]
    for x in (x_train, x_val, x_test):
        assert x.dtype == torch.uint8
    # test = the official test files, in order
    assert torch.equal(x_test, torch.from_numpy(np.asarray(test_x)))
    assert y_test.tolist() == [int(v) for v in test_y]
    # train and val partition the official training files, labels kept with their images
    train_rows, val_rows = rows_of(x_train, train_x), rows_of(x_val, train_x)
    assert sorted(train_rows + val_rows) == list(range(len(train_x)))
    assert y_train.tolist() == [int(train_y[i]) for i in train_rows]
    assert y_val.tolist() == [int(train_y[i]) for i in val_rows]
    num_classes = module.num_classes
    assert torch.bincount(y_val, minlength=num_classes).tolist() == [val_per_class] * num_classes
    # normalization: per channel, of the training split's pixels only, on the [0, 1] scale
    pixels = np.asarray(train_x)[train_rows].astype(np.float64) / 255.0
    channels = pixels.transpose(1, 0, 2, 3).reshape(pixels.shape[1], -1)
    np.testing.assert_allclose(module.mean, channels.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(module.std, channels.std(axis=1), rtol=1e-4)
    all_pixels = np.concatenate([np.asarray(train_x), np.asarray(test_x)]) / 255.0
    assert abs(module.mean[0] - all_pixels[:, 0].mean()) > 0.05  # the bright test set is out


def check_batches_are_slices(module) -> None:
    x_val, y_val = module.splits["val"]
    first_x, first_y = next(iter(module.val_dataloader()))
    assert torch.equal(first_x, x_val[: module.eval_batch_size])
    assert torch.equal(first_y, y_val[: module.eval_batch_size])
    x_train = module.splits["train"][0]
    batches = list(module.train_dataloader())
    assert all(len(x) <= module.batch_size for x, _ in batches)
    seen = torch.cat([x for x, _ in batches])
    assert sorted(rows_of(seen, x_train.numpy())) == list(range(len(x_train)))


# -- MNIST and Fashion-MNIST ------------------------------------------------------------------
MNIST_KINDS = [
    (MNISTDataModule, "MNIST", datasets.MNIST),
    (FashionMNISTDataModule, "FashionMNIST", datasets.FashionMNIST),
]


@pytest.mark.parametrize(("module_class", "folder", "dataset_class"), MNIST_KINDS)
def test_mnist_loads_the_idx_files(tmp_path, no_network, module_class, folder, dataset_class):
    arrays = write_mnist(tmp_path, folder)
    module = module_class(data_dir=str(tmp_path), download=True, batch_size=16)
    module.prepare_data()  # the files are there: no download attempted
    module.setup("fit")
    assert module.input_shape == (1, 28, 28)
    assert module.input_kind == "image"
    assert module.num_classes == 10
    assert module.class_names == dataset_class.classes
    described = module.describe()
    assert described["split_sizes"] == {"train": 90, "val": 10, "test": 20}
    assert described["input_kind"] == "image" and described["target_kind"] == "class"
    check_splits(
        module,
        arrays["train_x"][:, None],
        arrays["train_y"],
        arrays["test_x"][:, None],
        arrays["test_y"],
        val_per_class=1,
    )
    check_batches_are_slices(module)


def test_mnist_zero_pads_to_image_size(tmp_path):
    arrays = write_mnist(tmp_path, "MNIST")
    module = MNISTDataModule(data_dir=str(tmp_path), download=False, image_size=32)
    module.setup()
    assert module.input_shape == (1, 32, 32)
    x_test = module.splits["test"][0]
    assert torch.equal(x_test[:, 0, 2:30, 2:30], torch.from_numpy(arrays["test_x"]))
    border = x_test.clone()
    border[:, :, 2:30, 2:30] = 0
    assert border.sum() == 0
    with pytest.raises(ZooError, match=named("data.image_size", ">= 28", "24")):
        MNISTDataModule(data_dir=str(tmp_path), image_size=24)


@pytest.mark.parametrize(("module_class", "folder", "dataset_class"), MNIST_KINDS)
def test_mnist_missing_files_offline(tmp_path, module_class, folder, dataset_class):
    module = module_class(data_dir=str(tmp_path), download=False)
    module.prepare_data()  # download=False: never fetches
    with pytest.raises(ZooError) as error:
        module.setup()
    message = str(error.value)
    assert str(tmp_path / folder / "raw") in message
    assert all(name in message for name in MNIST_FILES)
    assert "data.download=true" in message
    assert "\n" not in message


@pytest.mark.parametrize(("module_class", "folder", "dataset_class"), MNIST_KINDS)
def test_mnist_failing_download(tmp_path, no_network, module_class, folder, dataset_class):
    module = module_class(data_dir=str(tmp_path), download=True)
    with pytest.raises(ZooError) as error:
        module.prepare_data()
    message = str(error.value)
    assert str(tmp_path / folder / "raw") in message
    assert all(name in message for name in MNIST_FILES)
    assert "download failed" in message and "no network in tests" in message
    assert "\n" not in message


def test_mnist_names_only_the_missing_file(tmp_path):
    write_mnist(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    raw = str(tmp_path / "MNIST" / "raw")
    with pytest.raises(ZooError, match=named(raw, "missing: t10k-labels-idx1-ubyte")):
        MNISTDataModule(data_dir=str(tmp_path), download=False).setup()


# -- CIFAR-10 and CIFAR-100 -------------------------------------------------------------------
CIFAR_KINDS = [
    (CIFAR10DataModule, datasets.CIFAR10, False),
    (CIFAR100DataModule, datasets.CIFAR100, True),
]


@pytest.mark.parametrize(("module_class", "dataset_class", "hundred"), CIFAR_KINDS)
def test_cifar_loads_the_pickled_batches(
    tmp_path, no_network, cifar_checksums, module_class, dataset_class, hundred
):
    arrays = write_cifar(tmp_path, hundred=hundred)
    cifar_checksums(dataset_class, arrays["folder"])
    val_fraction = 0.5 if hundred else 0.2  # one val image per class
    module = module_class(
        data_dir=str(tmp_path), download=True, batch_size=16, val_fraction=val_fraction
    )
    module.prepare_data()  # the files are there: no download attempted
    module.setup("fit")
    num_classes = 100 if hundred else 10
    assert module.input_shape == (3, 32, 32)
    assert module.num_classes == num_classes
    assert module.class_names == arrays["names"]
    assert module.describe()["split_sizes"] == {
        "train": len(arrays["train_y"]) - num_classes,
        "val": num_classes,
        "test": num_classes,
    }
    check_splits(
        module,
        arrays["train_x"],
        arrays["train_y"],
        arrays["test_x"],
        arrays["test_y"],
        val_per_class=1,
    )
    check_batches_are_slices(module)


def test_cifar_checksums_are_still_checked(tmp_path, cifar_checksums):
    arrays = write_cifar(tmp_path, hundred=False)
    cifar_checksums(datasets.CIFAR10, arrays["folder"])
    with open(arrays["folder"] / "test_batch", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ZooError, match=named(str(arrays["folder"]), "data.download=true")):
        CIFAR10DataModule(data_dir=str(tmp_path), download=False).setup()


@pytest.mark.parametrize(("module_class", "dataset_class", "hundred"), CIFAR_KINDS)
def test_cifar_missing_files_offline(tmp_path, module_class, dataset_class, hundred):
    module = module_class(data_dir=str(tmp_path), download=False)
    module.prepare_data()
    with pytest.raises(ZooError) as error:
        module.setup()
    message = str(error.value)
    assert str(tmp_path / dataset_class.base_folder) in message
    expected = ["train", "test", "meta"] if hundred else ["data_batch_5", "test_batch"]
    assert all(name in message for name in expected)
    assert dataset_class.url in message
    assert "\n" not in message


@pytest.mark.parametrize(("module_class", "dataset_class", "hundred"), CIFAR_KINDS)
def test_cifar_failing_download(tmp_path, no_network, module_class, dataset_class, hundred):
    module = module_class(data_dir=str(tmp_path), download=True)
    with pytest.raises(ZooError) as error:
        module.prepare_data()
    message = str(error.value)
    assert str(tmp_path / dataset_class.base_folder) in message
    assert dataset_class.meta["filename"] in message
    assert "download failed" in message and "no network in tests" in message
    assert "\n" not in message


# -- ImageFolder ------------------------------------------------------------------------------
def test_image_folder_with_a_test_folder(tmp_path):
    write_image_folder(tmp_path / "train", {"cat": 10, "dog": 10, "frog": 10})
    write_image_folder(tmp_path / "test", {"dog": 3, "frog": 2}, seed=3)  # no cats
    module = ImageFolderDataModule(
        root=str(tmp_path / "train"),
        test_root=str(tmp_path / "test"),
        image_size=8,
        val_fraction=0.2,
        batch_size=4,
        num_classes=3,
        input_shape=[3, 8, 8],
    )
    module.setup("fit")
    assert module.input_shape == (3, 8, 8)
    assert module.class_names == ["cat", "dog", "frog"]
    assert module.describe()["split_sizes"] == {"train": 24, "val": 6, "test": 5}
    for x, _ in module.splits.values():
        assert x.dtype == torch.uint8
    assert torch.bincount(module.splits["val"][1], minlength=3).tolist() == [2, 2, 2]
    # test_root's classes are mapped by name onto root's indices
    assert module.splits["test"][1].tolist() == [1, 1, 1, 2, 2]
    assert module.splits["test"][0].shape == (5, 3, 8, 8)
    # normalization from the training split alone
    train_pixels = module.splits["train"][0].double().div(255).transpose(0, 1).reshape(3, -1)
    np.testing.assert_allclose(module.mean, train_pixels.mean(dim=1).numpy(), rtol=1e-5)
    check_batches_are_slices(module)


def test_image_folder_resizes_and_converts(tmp_path):
    root = tmp_path / "images"
    for name, color in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (root / name).mkdir(parents=True)
        for i, size in enumerate([(12, 6), (5, 9), (8, 8), (20, 10), (7, 7)]):
            Image.new("RGB", size, color).save(root / name / f"{i}.png")
    rgb = ImageFolderDataModule(root=str(root), image_size=4, val_fraction=0.2, test_fraction=0.2)
    rgb.setup()
    assert rgb.describe()["split_sizes"] == {"train": 6, "val": 2, "test": 2}
    assert rgb.input_shape == (3, 4, 4)
    x, y = (torch.cat(t) for t in zip(*rgb.splits.values()))
    assert x.dtype == torch.uint8
    assert (x[y == 1, 0] == 255).all() and (x[y == 1, 2] == 0).all()  # "red" sorts after "blue"
    assert (x[y == 0, 2] == 255).all() and (x[y == 0, 0] == 0).all()
    for resize in ("crop", "stretch"):
        gray = ImageFolderDataModule(
            root=str(root), image_size=6, channels=1, resize=resize, val_fraction=0.2
        )
        gray.setup()
        assert gray.input_shape == (1, 6, 6)
        x, y = (torch.cat(t) for t in zip(*gray.splits.values()))
        # PIL's ITU-R 601-2 luma: L = R * 299/1000 + G * 587/1000 + B * 114/1000
        assert (x[y == 1] == 76).all() and (x[y == 0] == 29).all()


def test_image_folder_crop_keeps_the_centre(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pixels = np.zeros((4, 12, 3), dtype=np.uint8)  # 12 wide, 4 high: white centre square
    pixels[:, 4:8] = 255
    for folder in ("a", "b"):
        for i in range(3):
            Image.fromarray(pixels).save(tmp_path / folder / f"{i}.png")
    module = ImageFolderDataModule(
        root=str(tmp_path), image_size=4, val_fraction=0.34, test_fraction=0.0
    )
    module.setup()
    assert (module.splits["train"][0] == 255).all()
    stretched = ImageFolderDataModule(
        root=str(tmp_path), image_size=4, resize="stretch", val_fraction=0.34, test_fraction=0.0
    )
    stretched.setup()
    assert stretched.splits["train"][0][:, :, :, 0].max() < 128  # the black left border


def test_image_folder_errors(tmp_path):
    with pytest.raises(ZooError, match=named("nothing", "does not exist")):
        ImageFolderDataModule(root=str(tmp_path / "nothing")).setup()
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ZooError, match=named("notes.txt", "not a folder")):
        ImageFolderDataModule(root=str(tmp_path / "notes.txt")).setup()
    with pytest.raises(ZooError, match=named("data.channels", "3", "1", "2")):
        ImageFolderDataModule(root=str(tmp_path), channels=2)
    with pytest.raises(ZooError, match=named("data.resize", "crop", "stretch", "'pad'")):
        ImageFolderDataModule(root=str(tmp_path), resize="pad")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match=named("data.root", f"'{tmp_path / 'empty'}'", "sub-folder")):
        ImageFolderDataModule(root=str(tmp_path / "empty")).setup()
    write_image_folder(tmp_path / "train", {"cat": 6, "dog": 6})
    write_image_folder(tmp_path / "test", {"cat": 1, "emu": 1})
    with pytest.raises(ZooError, match=named("data.test_root", "emu", "cat", "dog")):
        ImageFolderDataModule(
            root=str(tmp_path / "train"), test_root=str(tmp_path / "test"), image_size=4
        ).setup()
    with pytest.raises(ZooError, match=named("num_classes", "5", "2")):
        ImageFolderDataModule(
            root=str(tmp_path / "train"), image_size=4, val_fraction=0.2, num_classes=5
        ).setup()
    write_image_folder(tmp_path / "single", {"cat": 6})
    with pytest.raises(ZooError, match=named("1 class folder", "(cat)")):
        ImageFolderDataModule(root=str(tmp_path / "single"), image_size=4).setup()
    write_image_folder(tmp_path / "tiny", {"cat": 1, "dog": 5})
    fragments = ("6 samples", "{'cat': 1, 'dog': 5}", "data.stratify=false")
    with pytest.raises(ZooError, match=named(*fragments)):
        ImageFolderDataModule(root=str(tmp_path / "tiny"), image_size=4).setup()
    (tmp_path / "train" / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ZooError, match=named(str(tmp_path / "train" / "dog" / "broken.png"))):
        ImageFolderDataModule(root=str(tmp_path / "train"), image_size=4).setup()


# -- one fast_dev_run each through the training system ---------------------------------------
def check_run(make_config, *overrides: str) -> None:
    cfg = make_config(*FAST, *overrides)
    metrics = train(cfg)
    assert metrics["test/loss"] == metrics["test/loss"]  # not NaN
    assert (Path(cfg.paths.output_dir) / "results.json").is_file()


@pytest.mark.parametrize(
    ("data", "folder", "augmentation"),
    [("mnist", "MNIST", "digits"), ("fashion_mnist", "FashionMNIST", "none")],
)
def test_train_mnist(tmp_path, make_config, data, folder, augmentation):
    write_mnist(tmp_path / "data", folder)
    check_run(
        make_config,
        f"data={data}",
        f"data.data_dir={tmp_path / 'data'}",
        f"augmentation=[{augmentation}]",
    )


def test_train_lenet5_on_padded_mnist(tmp_path, make_config):
    write_mnist(tmp_path / "data", "MNIST")
    check_run(
        make_config,
        "data=mnist",
        f"data.data_dir={tmp_path / 'data'}",
        "data.image_size=32",
        "model=lenet5",
        "augmentation=[digits]",
    )


@pytest.mark.parametrize(
    ("data", "dataset_class", "hundred", "augmentation"),
    [("cifar10", datasets.CIFAR10, False, "cifar"), ("cifar100", datasets.CIFAR100, True, "none")],
)
def test_train_cifar(
    tmp_path, make_config, cifar_checksums, data, dataset_class, hundred, augmentation
):
    arrays = write_cifar(tmp_path / "data", hundred=hundred)
    cifar_checksums(dataset_class, arrays["folder"])
    check_run(
        make_config,
        f"data={data}",
        f"data.data_dir={tmp_path / 'data'}",
        f"data.val_fraction={0.5 if hundred else 0.2}",
        f"augmentation=[{augmentation}]",
    )


def test_train_image_folder(tmp_path, make_config):
    write_image_folder(tmp_path / "images", {"cat": 8, "dog": 8, "frog": 8})
    overrides = [
        "data=image_folder",
        f"data.root={tmp_path / 'images'}",
        "data.image_size=16",
        "data.val_fraction=0.25",
        "data.test_fraction=0.25",
        "augmentation=[cifar]",
    ]
    fast = [o for o in FAST if not o.startswith("data.download")]
    cfg = make_config(*fast, *overrides)  # data.num_classes counted from the class folders
    metrics = train(cfg)
    assert metrics["test/loss"] == metrics["test/loss"]
    assert cfg.data.num_classes == 3 and cfg.model.num_classes == 3
    with pytest.raises(ZooError, match=named("data.num_classes=4", "data.root")):
        train(make_config(*fast, *overrides, "data.num_classes=4", name="declared"))


def test_lenet5_is_refused_on_28_pixel_mnist_with_the_size_it_needs(tmp_path, make_config):
    write_mnist(tmp_path / "data", "MNIST", train=40, test=10)
    cfg = make_config("data=mnist", f"data.data_dir={tmp_path / 'data'}", "model=lenet5")
    with pytest.raises(ZooError, match=named("32x32", "28x28")):
        train(cfg)
