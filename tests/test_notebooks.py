"""Every notebook under notebooks/ executes from top to bottom, so none can rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


# Each notebook runs in a kernel of its own and trains (the quickstart 11 s, the walkthroughs
# 18-40 s each): with `pytest -m slow`, to keep the suite under 5 minutes on 2 cores. Their
# models, data and tasks are covered by the unit tests; every suite checks that they are
# committed without outputs (above).
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()


@pytest.mark.slow
def test_the_readmes_nbconvert_command_executes_a_notebook(tmp_path):
    """The README's command line for running a notebook outside Jupyter (nbconvert, which
    the dev and notebooks extras install), its executed copy written elsewhere."""
    import re
    import shlex
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    [command] = re.findall(r"^jupyter nbconvert .*$", readme, re.MULTILINE)
    words = shlex.split(command)
    words[words.index("--output-dir") + 1] = str(tmp_path)
    jupyter = Path(sys.executable).with_name("jupyter")
    result = subprocess.run(
        [str(jupyter), *words[1:]], cwd=root, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [executed] = tmp_path.glob("*.ipynb")
    notebook = nbformat.read(executed, as_version=4)
    assert all(c.execution_count for c in notebook.cells if c.cell_type == "code")
    source = nbformat.read(root / words[words.index("--execute") + 1], as_version=4)
    assert not any(c.get("outputs") for c in source.cells)  # the committed one left as it was
