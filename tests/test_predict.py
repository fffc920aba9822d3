"""A trained model predicts on its own: the exported folder carries its preprocessing, and
``python -m zoo.predict`` classifies image files as the test split is classified."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import names
from PIL import Image

from zoo import ZooError, load_pretrained
from zoo.apps.predict import main, predict
from zoo.data import DigitsDataModule


@pytest.fixture(scope="module")
def test_digits(tmp_path_factory) -> tuple[Path, torch.Tensor, torch.Tensor]:
    """The digits test split (the one the shipped weights were tested on) as PNG files."""
    data = DigitsDataModule()
    data.setup("test")
    images, labels = data.splits["test"]
    folder = tmp_path_factory.mktemp("pngs")
    for index, image in enumerate(images):
        pixels = (image[0].numpy() * 255).round().astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{index:04d}.png")
    return folder, images, labels


def accuracy_through_predict(source: str, folder: Path, labels, capsys) -> float:
    assert main([source, str(folder), "--json", "--top", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # test-split digits are like the training digits: no warning
    results = json.loads(captured.out)
    predicted = [int(r["top"][0]["class"]) for r in results]  # files sorted = test order
    return float((torch.tensor(predicted) == labels).float().mean())


def test_predict_from_named_weights_equals_the_test_split(test_digits, capsys):
    folder, images, labels = test_digits
    model = load_pretrained("lenet5.digits").eval()
    with torch.no_grad():
        expected = (model(model.preprocess(images)).argmax(1) == labels).float().mean()
    recorded = model.pretrained_config["metrics"]["test/acc"]
    assert float(expected) == pytest.approx(recorded, abs=1e-6)
    # PNGs hold 8-bit pixels: allow one image of 360 to flip
    assert accuracy_through_predict("lenet5.digits", folder, labels, capsys) == pytest.approx(
        recorded, abs=1 / 360 + 1e-6
    )


def test_predict_from_a_run_folder_and_its_model_folder(test_digits, tmp_path, capsys):
    folder, _, labels = test_digits
    import shutil

    run = tmp_path / "run"
    shutil.copytree(
        Path(__file__).resolve().parents[1] / "zoo/pretrained/lenet5.digits", run / "model"
    )
    from_run = accuracy_through_predict(str(run), folder, labels, capsys)
    from_model = accuracy_through_predict(str(run / "model"), folder, labels, capsys)
    assert from_run == from_model > 0.98


def test_predict_runs_a_model_in_training_mode_as_in_eval_mode(test_digits):
    """An imported model (``load_pretrained`` gives it in training mode) predicts with its
    batch-norm running statistics, which stay untouched, and gets its mode back."""
    folder = test_digits[0]
    files = sorted(folder.glob("*.png"))[:16]
    model = load_pretrained("resnet20.digits")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        expected = model.eval()(model.preprocess(files)).softmax(-1).max(-1).values
    results = predict(model.train(), files, top=1)
    assert model.training and all(m.training for m in model.modules())
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    probabilities = torch.tensor([r["top"][0]["probability"] for r in results])
    torch.testing.assert_close(probabilities, expected)


def test_raw_images_need_the_recorded_preprocessing(test_digits):
    """Without its normalization the model does much worse: the folder's is what matters."""
    _, images, labels = test_digits
    model = load_pretrained("lenet5.digits").eval()
    with torch.no_grad():
        raw = (model(images).argmax(1) == labels).float().mean()
        preprocessed = (model(model.preprocess(images)).argmax(1) == labels).float().mean()
    assert preprocessed > 0.98 and raw < preprocessed - 0.05
    assert model.class_names == [str(i) for i in range(10)]


def test_text_output_and_mistakes(test_digits, tmp_path, capsys):
    folder, _, _ = test_digits
    assert main(["lenet5.digits", str(folder / "0000.png"), "--top", "2"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(str(folder / "0000.png") + ": ") and line.count("(") == 2
    (tmp_path / "broken.png").write_text("not an image")
    from zoo import create_model, save_pretrained

    data = {"input_kind": "image", "input_shape": [1, 32, 32], "normalization": None}
    save_pretrained(create_model("dcgan", image_size=32, width=4), tmp_path / "gan", data=data)
    broken = create_model("lenet5", num_classes=10)
    with torch.no_grad():
        broken.f6[0].weight[0, 0] = float("nan")
    save_pretrained(broken, tmp_path / "nan", data=data)
    cases = [
        (
            [str(tmp_path / "gan" / "model.safetensors"), str(folder / "0000.png")],
            ("one file of a pretrained-model folder", f"'{tmp_path / 'gan'}'"),
        ),
        ([str(tmp_path / "nan"), str(folder / "0000.png")], ("not finite", "f6.0.weight")),
        ([str(tmp_path / "gan"), str(folder / "0000.png")], ("dcgan", "python -m zoo.sample")),
        (["lenet5.digits", str(tmp_path / "missing.png")], ("does not exist",)),
        (["lenet5.digits", str(tmp_path / "broken.png")], ("cannot read image",)),
        # a model of table rows reads .csv, .npy and .npz files
        (["mlp.digits_flat", str(folder / "0000.png")], ("0000.png", ".csv", ".npy", "64")),
        (["nope", str(folder / "0000.png")], ("neither a pretrained-model folder",)),
        (["lenet5.digits", str(folder), "--top", "0"], ("--top", "--batch-size", "0")),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and names(err[0], *message), err


def test_an_unreadable_image_is_named_and_the_others_classified(test_digits, tmp_path, capsys):
    folder, _, _ = test_digits
    images = tmp_path / "images"
    images.mkdir()
    for name in ("0000.png", "0001.png"):
        (images / name).write_bytes((folder / name).read_bytes())
    (images / "0000b.png").write_text("not an image")  # sorted between the two good ones
    assert main(["lenet5.digits", str(images), "--top", "1"]) == 1
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        str(images / "0000.png"),
        str(images / "0001.png"),
    ]
    alone = {}
    for name in ("0000.png", "0001.png"):
        assert main(["lenet5.digits", str(folder / name), "--top", "1"]) == 0
        alone[name] = capsys.readouterr().out.split(": ", 1)[1]
    assert [line.split(": ", 1)[1] + "\n" for line in lines] == list(alone.values())
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "cannot read image" in err[0] and "0000b.png" in err[0], err


def test_a_missing_image_is_named_and_the_others_classified(test_digits, tmp_path, capsys):
    folder, _, _ = test_digits
    missing = tmp_path / "missing.png"
    assert main(["lenet5.digits", str(folder / "0000.png"), str(missing), "--top", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(str(folder / "0000.png") + ": ")
    assert captured.err.strip() == f"error: {str(missing)!r} does not exist."


def test_a_run_folder_that_exported_nothing_says_so(tmp_path, capsys):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    assert main([str(tmp_path / "run"), str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "training run's folder without an exported model/" in err[0], err


def test_a_training_checkpoint_points_to_the_exported_model(tmp_path, capsys):
    """A checkpoint file or a run's checkpoints/ folder is refused in one line that names the
    run's exported model folder, or how to export one when there is none."""
    from zoo import create_model, save_pretrained

    checkpoints = tmp_path / "run" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "last.ckpt").write_bytes(b"training state")
    for source in (checkpoints / "last.ckpt", checkpoints):
        assert main([str(source), str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "train=false ckpt_path=" in err[0], err
    save_pretrained(create_model("lenet5"), tmp_path / "run" / "model")
    for source in (checkpoints / "last.ckpt", checkpoints):
        assert main([str(source), str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert f"the run's exported model is {str(tmp_path / 'run' / 'model')!r}" in err[0]


def test_a_dark_on_light_digit_is_predicted_with_a_warning(test_digits, tmp_path, capsys):
    """The digits models learned light digits on a dark background: an inverted one is still
    predicted, and named on stderr in one line saying what the model expects."""
    folder, _, _ = test_digits
    inverted = tmp_path / "inverted"
    inverted.mkdir()
    for name in ("0000.png", "0001.png"):
        pixels = np.asarray(Image.open(folder / name))
        Image.fromarray(255 - pixels, mode="L").save(inverted / name)
    assert main(["lenet5.digits", str(inverted), str(folder / "0002.png"), "--json"]) == 0
    captured = capsys.readouterr()
    results, lines = json.loads(captured.out), captured.err.splitlines()
    assert len(results) == 3 and "warning" not in results[2]
    assert len(lines) == 2, lines
    for line, name in zip(lines, ("0000.png", "0001.png")):
        assert line.startswith("warning: ") and names(line, str(inverted / name), "mean pixel")
        assert "inverted" in line and "training" in line


def test_the_shipped_models_record_the_range_of_their_training_inputs():
    """What the unusual-input check compares with is what export records for the digits: each
    training image's mean pixel and spread (or each feature), over the training split."""
    for name, data in (
        ("lenet5.digits", DigitsDataModule()),
        ("mlp.digits_flat", DigitsDataModule(flatten=True, input_kind="vector")),
    ):
        data.setup()
        inputs = data.splits["train"][0].double().flatten(1)  # (N, pixels)
        values = (
            torch.stack([inputs.mean(1), inputs.std(1, correction=0)], 1)
            if name == "lenet5.digits"
            else inputs
        )
        recorded = load_pretrained(name).pretrained_config["config"]["data"]["input_statistics"]
        torch.testing.assert_close(torch.tensor(recorded["min"]).double(), values.min(0).values)
        torch.testing.assert_close(torch.tensor(recorded["max"]).double(), values.max(0).values)
        torch.testing.assert_close(torch.tensor(recorded["mean"]).double(), values.mean(0))
        torch.testing.assert_close(
            torch.tensor(recorded["std"]).double(), values.std(0, correction=0)
        )


def test_vector_models_preprocess_arrays():
    model = load_pretrained("mlp.digits_flat").eval()
    from sklearn.datasets import load_digits

    digits = load_digits()
    batch = model.preprocess(digits.data / 16.0)
    assert batch.shape == (1797, 64)
    with torch.no_grad():
        accuracy = (model(batch).argmax(1) == torch.tensor(digits.target)).float().mean()
    assert accuracy > 0.95  # train, validation and test digits together
    with pytest.raises(ZooError):
        from zoo.preprocessing import Preprocess

        Preprocess("tokens", [8])


def test_a_command_piped_into_a_reader_that_stops_early_ends_quietly():
    """``python -m zoo.generate ... | head``: the reader closes the pipe, and the command ends
    without Python's BrokenPipeError traceback."""
    import subprocess
    import sys

    program = (
        "from zoo.apps.command import run_command\n"
        "def main():\n"
        "    for _ in range(100_000):\n"
        "        print('a line of generated text')\n"
        "    return 0\n"
        "run_command(main)\n"
    )
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(program)} | head -c 10"
    result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert result.stdout == "a line of "
    assert result.stderr == ""
