"""The README's commands are the ones CI runs, and its generated tables are current."""

from __future__ import annotations

import re
from pathlib import Path

from zoo import list_models

REPO_ROOT = Path(__file__).resolve().parents[1]
README = (REPO_ROOT / "README.md").read_text()
CI = (REPO_ROOT / ".ci" / "run").read_text()


def test_ci_runs_the_readme_install_and_test_commands():
    install = re.search(r"## Install.*?```bash\n(.*?)\n```", README, re.DOTALL).group(1).strip()
    test = re.search(r"## Test.*?```bash\n(.*?)\n```", README, re.DOTALL).group(1).strip()
    assert f'# README "Install"\n{install}\n' in CI
    assert f'# README "Test"\n{test}\n' in CI
    assert "python3 -m venv" in CI


def test_model_table_lists_every_registered_model():
    table = re.search(r"<!-- models:start -->\n(.*?)<!-- models:end -->", README, re.DOTALL).group(
        1
    )
    listed = re.findall(r"^\| `([a-z0-9_]+)` \|", table, re.MULTILINE)
    assert listed == list_models(), "run: python scripts/readme_tables.py models"


def test_results_table_comes_from_the_recorded_results():
    """The README's results table is what scripts/readme_tables.py writes from results/."""
    import sys

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from readme_tables import results_table

    table = re.search(
        r"<!-- results:start -->\n(.*?)<!-- results:end -->", README, re.DOTALL
    ).group(1)
    assert table == results_table(), "run: python scripts/readme_tables.py results"
