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
