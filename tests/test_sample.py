"""``python -m zoo.sample`` draws images from a GAN (primer: "Generative Adversarial
Networks") or a VAE (primer: "Autoencoders") saved as a model folder or a run folder: a
grid PNG of the requested shape, the same file for the same seed, other images for another
seed, and a classifier or a plain autoencoder refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from zoo import create_model, save_pretrained
from zoo.apps.sample import draw_samples, load_for_sampling, main, samplable_models

REPO_ROOT = Path(__file__).resolve().parents[1]
SIZE = 32  # the digits' size; a grid cell is the image plus 2 pixels of padding


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """Tiny models saved as model folders (the dcgan also as a run folder's model/)."""
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    models = {
        "dcgan": create_model("dcgan", image_size=SIZE, latent_dim=8, width=4),
        "vae": create_model("vae", image_size=SIZE, latent_dim=4, hidden_sizes=[16]),
        "conv_vae": create_model("conv_vae", image_size=SIZE, latent_dim=4, width=4),
        "lenet5": create_model("lenet5", num_classes=10),
        "conv_autoencoder": create_model("conv_autoencoder", image_size=SIZE, width=4),
    }
    for module in models["dcgan"].modules():  # running statistics of a trained model
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
    paths = {name: save_pretrained(model, root / name) for name, model in models.items()}
    paths["run"] = save_pretrained(models["dcgan"], root / "run" / "model").parent
    return paths


def grid_size(n: int, nrow: int) -> tuple[int, int]:
    """(width, height) of a grid of n images, nrow a row, 2 pixels of padding."""
    rows = -(-n // nrow)
    return nrow * (SIZE + 2) + 2, rows * (SIZE + 2) + 2


def test_the_samplers_are_the_gans_and_the_vaes():
    families = samplable_models()
    assert {"dcgan", "gan"} <= set(families["gan"])
    assert {"vae", "conv_vae"} <= set(families["autoencoder"])
    everything = {name for names in families.values() for name in names}
    assert not everything & {"lenet5", "resnet18", "autoencoder", "conv_autoencoder", "gpt"}


@pytest.mark.parametrize("name", ["dcgan", "vae", "conv_vae"])
def test_grid_png_is_deterministic_per_seed(folders, tmp_path, capsys, name):
    paths = [tmp_path / f"{tag}.png" for tag in ("a", "b", "c")]
    for path, seed in zip(paths, (3, 3, 4)):
        argv = [str(folders[name]), "--n", "12", "--seed", str(seed), "--out", str(path)]
        assert main([*argv, "--nrow", "5"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3 and out[0].startswith(f"wrote {paths[0]}: 12 1x32x32 samples of {name}")
    with Image.open(paths[0]) as image:
        assert image.size == grid_size(12, 5)
    assert paths[0].read_bytes() == paths[1].read_bytes()  # same seed, same file
    assert paths[0].read_bytes() != paths[2].read_bytes()  # another seed, other images


def test_samples_are_images_in_the_unit_interval(folders):
    model = load_for_sampling(folders["vae"])
    images = draw_samples(model, 6, seed=0)
    assert images.shape == (6, 1, SIZE, SIZE)
    assert images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, draw_samples(model, 6, seed=0))
    assert not torch.equal(images, draw_samples(model, 6, seed=1))


def test_run_folder_and_individual_images(folders, tmp_path, capsys):
    out, individual = tmp_path / "grid.png", tmp_path / "each"
    argv = [str(folders["run"]), "--n", "5", "--seed", "0", "--out", str(out)]
    assert main([*argv, "--individual", str(individual)]) == 0
    assert "samples of dcgan" in capsys.readouterr().out
    files = sorted(individual.glob("*.png"))
    assert [f.name for f in files] == [f"sample_{i:04d}.png" for i in range(5)]
    with Image.open(files[0]) as image:
        assert image.size == (SIZE, SIZE)
    with Image.open(out) as image:
        assert image.size == grid_size(5, 5)  # fewer images than --nrow: one row of them


@pytest.mark.parametrize("name", ["lenet5", "conv_autoencoder"])
def test_models_that_cannot_sample_are_refused_in_one_line(folders, tmp_path, capsys, name):
    out = tmp_path / "never.png"
    assert main([str(folders[name]), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ")
    assert f"model {name!r}" in err and "dcgan" in err and "conv_vae" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--n", "0"], "--n must be"),
        (["--n", "10001"], "--n must be an integer from 1 to 10000, got 10001"),
        (["--nrow", "0"], "--nrow must be"),
    ],
)
def test_bad_arguments_are_one_line(folders, tmp_path, capsys, argv, expected):
    assert main([str(folders["dcgan"]), "--out", str(tmp_path / "x.png"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and expected in err


def test_the_grid_is_written_in_the_format_its_suffix_names(folders, tmp_path, capsys):
    from PIL import Image

    for name, expected in [("grid.jpg", "JPEG"), ("grid.png", "PNG"), ("grid", "PNG")]:
        assert main([str(folders["dcgan"]), "--n", "4", "--out", str(tmp_path / name)]) == 0
        with Image.open(tmp_path / name) as image:
            assert image.format == expected, name
    capsys.readouterr()
    for out, message in [
        (tmp_path / "grid.xyz", "cannot write images as '.xyz'"),
        (tmp_path, "is a folder; give a file name"),
        (tmp_path / "grid.png" / "x.png", "which is a file"),
    ]:
        assert main([str(folders["dcgan"]), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and message in err, err
    assert not (tmp_path / "grid.xyz").exists()
    assert not list(tmp_path.parent.glob("*.partial"))


def test_missing_folder_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a folder" in err


@pytest.mark.slow  # a process of its own or a whole run: 2-6 s
def test_command_line(folders, tmp_path):
    """The module runs as a program: a GAN writes its grid (the refusals, the same code
    in-process, are tested above)."""
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    command = [sys.executable, "-m", "zoo.sample"]
    out = tmp_path / "cli.png"
    done = subprocess.run(
        [*command, str(folders["dcgan"]), "--n", "16", "--seed", "1", "--out", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    with Image.open(out) as image:
        assert image.size == grid_size(16, 8)
    # the same seed in-process writes the same file
    again = tmp_path / "again.png"
    assert main([str(folders["dcgan"]), "--n", "16", "--seed", "1", "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_a_training_checkpoint_is_refused_with_where_the_model_is(tmp_path, capsys):
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"training state")
    assert main([str(checkpoint), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is a training checkpoint" in err and "train=false" in err
