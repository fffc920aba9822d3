"""``python -m zoo.autoencode`` on a trained run (primer: "Autoencoders: Applications:
Dimensionality reduction, denoising, anomaly detection"): the codes of a split, a denoising
grid, and anomaly scores whose AUROC scikit-learn confirms; every mistake is one line and
exit code 2.

One tiny autoencoder is trained once for the session (1 epoch, a 2-D code, digit 3 held out:
tests/conftest.py's autoencoder_run, shared with test_untrusted_files.py);
the references are computed independently, through the model folder's own preprocessing
(``load_pretrained(...).preprocess``) and a data module built here.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import AUTOENCODER_HOLDOUT as HOLDOUT
from conftest import named
from PIL import Image
from sklearn.metrics import roc_auc_score

from zoo import ZooError, load_pretrained
from zoo.apps.autoencode import (
    anomaly_scores,
    denoise_rows,
    encode_split,
    load_run,
    main,
    project_2d,
)
from zoo.augment.noise import corrupt
from zoo.data import DigitsDataModule

REPO_ROOT = Path(__file__).resolve().parents[1]
SIZE = 32  # the digits' size; a grid cell is the image plus 2 pixels of padding


@pytest.fixture(scope="module")
def test_split() -> tuple[torch.Tensor, torch.Tensor]:
    """The run's test split, rebuilt here from the data module's own arguments."""
    data = DigitsDataModule(holdout_classes=[HOLDOUT])
    data.setup("test")
    return data.splits["test"]


@pytest.fixture(scope="module")
def reference_model(autoencoder_run):
    """The exported model with the preprocessing its folder records."""
    return load_pretrained(autoencoder_run / "model").eval()


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def test_latents_are_the_codes_of_the_test_split(
    autoencoder_run, test_split, reference_model, tmp_path, capsys
):
    images, labels = test_split
    npy, table, scatter = tmp_path / "z.npy", tmp_path / "z.csv", tmp_path / "z.png"
    assert (
        main(["latents", str(autoencoder_run), "--out", str(npy), "--scatter", str(scatter)]) == 0
    )
    assert main(["latents", str(autoencoder_run / "model"), "--out", str(table)]) == 0
    out = capsys.readouterr().out
    assert f"{len(labels)} test codes of 2 dimensions" in out and f"scatter: {scatter}" in out

    codes = np.load(npy)
    assert codes.shape == (len(labels), 2) and codes.dtype == np.float32
    with torch.no_grad():
        expected = reference_model.encode(reference_model.preprocess(images)).numpy()
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-5)

    header, rows = read_csv(table)
    assert header == ["label", "z0", "z1"]
    assert [int(r[0]) for r in rows] == labels.tolist()
    np.testing.assert_allclose(np.array([r[1:] for r in rows], dtype=np.float32), codes)

    with Image.open(scatter) as image:
        assert image.format == "PNG" and min(image.size) > 100


def test_other_splits_and_the_python_api(autoencoder_run):
    run = load_run(autoencoder_run)
    data = DigitsDataModule(holdout_classes=[HOLDOUT])
    data.setup("fit")
    for split in ("train", "val"):
        codes, labels = encode_split(run, split)
        assert labels.tolist() == data.splits[split][1].tolist()
        assert HOLDOUT not in labels  # held out of training and validation
        assert codes.shape == (len(labels), 2)


def test_codes_of_more_than_two_dimensions_are_projected_by_pca():
    codes = np.random.default_rng(0).normal(size=(50, 5)) * [5, 3, 1, 0.5, 0.1]
    points, (xlabel, ylabel) = project_2d(codes)
    assert points.shape == (50, 2)
    assert "PCA" in xlabel and "PC1" in xlabel and "PC2" in ylabel and "5-D" in xlabel
    assert points[:, 0].var() > points[:, 1].var() > 0  # the first component varies most
    same, labels = project_2d(codes[:, :2])
    assert labels == ("z0", "z1") and np.array_equal(same, codes[:, :2])


def cell(grid: np.ndarray, row: int, column: int) -> np.ndarray:
    """One image of a make_grid PNG (2 pixels of padding around every image)."""
    top, left = 2 + row * (SIZE + 2), 2 + column * (SIZE + 2)
    return grid[top : top + SIZE, left : left + SIZE]


def test_denoise_grid_rows_are_noisy_output_clean(
    autoencoder_run, test_split, reference_model, tmp_path
):
    images, _ = test_split
    n, path = 5, tmp_path / "denoise.png"
    assert (
        main(["denoise", str(autoencoder_run), "--n", str(n), "--seed", "3", "--out", str(path)])
        == 0
    )
    with Image.open(path) as opened:
        assert opened.size == (n * (SIZE + 2) + 2, 3 * (SIZE + 2) + 2)
        grid = np.asarray(opened.convert("L"), dtype=np.int64)
    # trained without noise: Gaussian noise of standard deviation 0.3, seeded
    clean = images[:n]
    noisy = corrupt(clean, "gaussian", 0.3, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        output = reference_model(reference_model.preprocess(noisy))
    as_png = [(r[:, 0] * 255 + 0.5).clamp(0, 255).long().numpy() for r in (noisy, output, clean)]
    for row, pixels in enumerate(as_png):
        for i in range(n):
            assert np.abs(cell(grid, row, i) - pixels[i]).max() <= 1, (row, i)
    assert np.array_equal([cell(grid, 2, i) for i in range(n)], as_png[2])  # clean: exact

    again, other = tmp_path / "again.png", tmp_path / "other.png"
    assert (
        main(["denoise", str(autoencoder_run), "--n", str(n), "--seed", "3", "--out", str(again)])
        == 0
    )
    assert (
        main(["denoise", str(autoencoder_run), "--n", str(n), "--seed", "4", "--out", str(other)])
        == 0
    )
    assert again.read_bytes() == path.read_bytes() != other.read_bytes()


def test_denoise_defaults_to_the_noise_the_run_was_trained_with(autoencoder_run):
    run = load_run(autoencoder_run)
    assert denoise_rows(run, 2)[1:] == ("gaussian", 0.3)  # trained without noise
    run.config["task"] |= {"noise": "masking", "noise_level": 0.5}
    rows, kind, level = denoise_rows(run, 2, seed=1)
    assert (kind, level) == ("masking", 0.5)
    noisy, _, clean = rows
    hidden = noisy != clean
    assert torch.all(noisy[hidden] == 0) and 0.3 < hidden.float().mean() < 0.7
    assert denoise_rows(run, 2, noise="salt_and_pepper")[1:] == ("salt_and_pepper", 0.3)
    assert denoise_rows(run, 2, level=0.1)[1:] == ("masking", 0.1)


def test_anomaly_auroc_equals_scikit_learns(
    autoencoder_run, test_split, reference_model, tmp_path, capsys
):
    images, labels = test_split
    path = tmp_path / "scores.csv"
    assert main(["anomaly", str(autoencoder_run), "--out", str(path)]) == 0
    out = capsys.readouterr().out
    header, rows = read_csv(path)
    assert header == ["index", "label", "held_out", "score"]
    assert [int(r[1]) for r in rows] == labels.tolist()
    held_out = np.array([int(r[2]) for r in rows])
    assert held_out.tolist() == (labels == HOLDOUT).long().tolist()
    scores = np.array([float(r[3]) for r in rows])
    with torch.no_grad():
        reconstruction = reference_model(reference_model.preprocess(images))
    expected = (reconstruction - images).square().flatten(1).mean(1).numpy()
    np.testing.assert_allclose(scores, expected, rtol=1e-5)

    result = anomaly_scores(load_run(autoencoder_run))
    assert result.auroc == pytest.approx(roc_auc_score(held_out, scores), abs=1e-6)
    assert result.auroc == pytest.approx(roc_auc_score(held_out, result.scores), abs=1e-6)
    assert f"AUROC {result.auroc:.4f}" in out
    assert result.mean_error_heldout == pytest.approx(scores[held_out == 1].mean(), rel=1e-5)
    assert result.mean_error_others == pytest.approx(scores[held_out == 0].mean(), rel=1e-5)


def test_anomaly_needs_a_held_out_class(autoencoder_run):
    run = load_run(autoencoder_run)
    run.data.holdout_classes = []
    with pytest.raises(ZooError, match=named(f"'{autoencoder_run}'", "data.holdout_classes=[3]")):
        anomaly_scores(run)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["latents", "{run}", "--split", "holdout"], r"--split must be one of train, val, test"),
        (["latents", "{run}", "--out", "z.txt"], r"--out must end in \.npy, \.npz, \.csv"),
        (["denoise", "{run}", "--noise", "speckle"], r"--noise must be one of none, gaussian"),
        (["denoise", "{run}", "--noise", "masking", "--level", "2"], r"--level .* in \[0, 1\]"),
        (["denoise", "{run}", "--n", "0"], r"--n must be an integer from 1 to 360"),
        (["anomaly", "{run}/model/config.json"], r"is not a folder"),
        (["anomaly", "{lonely}"], r"model folder outside a training run"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(autoencoder_run, tmp_path, capsys, argv, message):
    lonely = tmp_path / "lonely"
    shutil.copytree(autoencoder_run / "model", lonely)
    argv = [a.format(run=autoencoder_run, lonely=lonely) for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and captured.out == ""
    assert re.search(message, lines[0]), lines[0]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "zoo.autoencode", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # a process of its own or a whole run: 2-6 s
def test_cli_refuses_a_classifier_run_and_a_missing_folder(tmp_path):
    classifier = tmp_path / "classifier_run"
    shutil.copytree(REPO_ROOT / "zoo/pretrained/lenet5.digits", classifier / "model")
    for source, message in (
        (classifier, "holds a 'lenet5' model (lenet, trained for classification), not an "),
        (tmp_path / "missing", "does not exist; expected a training run's folder"),
    ):
        result = run_cli("anomaly", str(source))
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_help_names_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(f"    {name} " in out for name in ("latents", "denoise", "anomaly"))
