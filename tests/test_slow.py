"""Long checks, off by default: run with `pytest -m slow`."""

from __future__ import annotations

import pytest

from zoo.training.run import train

pytestmark = pytest.mark.slow


def test_compile_trains(make_config):
    """`compile=true` compiles the model with torch.compile (Inductor needs a C++ compiler)."""
    metrics = train(
        make_config(
            "compile=true",
            "model=mlp",
            "data=digits_flat",
            "augmentation=[none]",
            "trainer.max_epochs=2",
        )
    )
    assert metrics["test/acc"] > 0.8


def test_a_claim_script_runs_its_quick_version(tmp_path):
    """scripts/claim_*.py share scripts/claims.py: one in its --quick form trains, keeps its
    numbers with the commit they came from and draws a small figure."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = root / "scripts" / "claim_regularization.py"
    subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)], check=True)
    record = json.loads((tmp_path / "measurements" / "regularization.json").read_text())
    assert len(record["commit"]) == 40 and record["versions"]["torch"]
    rows = record["rows"]
    assert set(rows) >= {"none (overfits)", "dropout 0.5", "early stopping", "batch norm"}
    assert all(0.0 <= row["test_acc"] <= 1.0 for row in rows.values())
    assert 0 < (tmp_path / "figures" / "regularization.png").stat().st_size < 150_000
