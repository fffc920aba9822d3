"""The package as users install it: a wheel built from the repository holds the weights the
zoo ships, and a non-editable install of it, in a fresh virtual environment, loads them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for p in (REPO_ROOT / "zoo" / "pretrained").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the repository's package sources (no network: the
    build backend is the installed setuptools)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    shutil.copytree(REPO_ROOT / "zoo", source / "zoo", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(dist), str(source)],
        check=True,
    )  # fmt: skip
    (built,) = dist.glob("zoo-*.whl")
    return built


@pytest.mark.slow  # a process of its own or a whole run: 2-6 s
def test_wheel_contains_the_shipped_weights(wheel):
    assert SHIPPED, "zoo/pretrained/ ships no weights"
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in SHIPPED:
        for file in ("config.json", "model.safetensors"):
            assert f"zoo/pretrained/{folder.name}/{file}" in names


@pytest.mark.slow  # 5-15 s: the default suite stays within 5 minutes
def test_non_editable_install_in_a_fresh_environment_loads_them(wheel, tmp_path):
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        check=True,
    )  # fmt: skip
    # The dependencies (torch, safetensors, ...) come from this environment's site-packages,
    # added as a plain path: its .pth files, among them the editable install's, are not run.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = (
        "import zoo, torch\n"
        "from zoo import create_model\n"
        "from zoo.models.pretrained import list_pretrained\n"
        f"assert zoo.__file__.startswith({site!r}), zoo.__file__\n"
        "names = list_pretrained('*.digits*')\n"
        "assert names, names\n"
        "model = create_model('lenet5', weights='lenet5.digits').eval()\n"
        "print(model(torch.zeros(1, 1, 32, 32)).shape, ' '.join(names))\n"
    )
    result = subprocess.run([str(python), "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "torch.Size([1, 10])" in result.stdout
    assert all(folder.name in result.stdout for folder in SHIPPED)
