"""The results table's promise: each experiment config's ``promise`` block is its recorded
row, and ``python scripts/reproduce.py --check`` fails when a run moves outside it."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest
from conftest import named
from omegaconf import OmegaConf

from zoo.config.sections import check_values
from zoo.errors import ZooError

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import reproduce  # noqa: E402
from readme_tables import RESULTS_DIR, shown_metrics  # noqa: E402

EXPERIMENTS = sorted(p.stem for p in (REPO_ROOT / "configs" / "experiment").glob("*.yaml"))
# The experiments whose train.py run takes under about 30 s on 2 CPU cores (wall_time_s in
# results/NAME.json), which the slow suite re-runs against their promise.
QUICK = [
    "dae_digits",
    "lenet5_digits",
    "lstm_digits_rows",
    "lstm_sunspots",
    "mlp_digits",
    "rnn_pixels_clip",
    "rnn_pixels_noclip",
    "transformer_digits_rows",
]


def recorded(name: str) -> dict:
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_each_experiment_promises_its_recorded_row(name):
    """The promise holds the metrics the README's row shows, at the values results/NAME.json
    records (to the six decimals reproduce.py writes), each with a tolerance."""
    assert (RESULTS_DIR / f"{name}.json").is_file(), (
        f"record it: python scripts/reproduce.py {name}"
    )
    result = recorded(name)
    promised = reproduce.promise(name)
    assert list(promised) == shown_metrics(result), (
        f"configs/experiment/{name}.yaml's promise block names the row's metrics, in order: "
        f"{shown_metrics(result)} (reproduce.py sets their values)"
    )
    for metric, (value, tolerance) in promised.items():
        assert value == pytest.approx(result["metrics"][metric], abs=1e-6), metric
        assert 0 < tolerance < math.inf, metric


def fake_runs(monkeypatch, metrics: dict[str, dict[str, float]]) -> None:
    """reproduce.run_experiment gives ``metrics[name]`` instead of training."""

    def run_experiment(name: str, log_dir: Path | None = None) -> tuple[Path, dict]:
        return Path("unused"), {"metrics": metrics[name]}

    monkeypatch.setattr(reproduce, "run_experiment", run_experiment)


def shifted(name: str, by_tolerances: float) -> dict[str, float]:
    """Experiment ``name``'s promised values, each moved by ``by_tolerances`` of its
    tolerance."""
    return {m: v + by_tolerances * t for m, (v, t) in reproduce.promise(name).items()}


@pytest.mark.parametrize(("by_tolerances", "status"), [(0.0, 0), (0.9, 0), (-0.9, 0), (1.5, 1)])
def test_check_exits_non_zero_outside_the_tolerance(monkeypatch, capsys, by_tolerances, status):
    fake_runs(monkeypatch, {"mlp_digits": shifted("mlp_digits", by_tolerances)})
    assert reproduce.main(["--check", "mlp_digits"]) == status
    table = capsys.readouterr().out
    assert ("OUTSIDE" in table) == (status == 1)
    assert "test/acc" in table and "test/loss" in table


def test_check_fails_on_one_metric_of_many(monkeypatch, capsys):
    moved = shifted("mlp_digits", 0.0)
    moved["test/loss"] -= 2 * reproduce.promise("mlp_digits")["test/loss"][1]
    fake_runs(monkeypatch, {"mlp_digits": moved, "lenet5_digits": shifted("lenet5_digits", 0.5)})
    assert reproduce.main(["--check", "lenet5_digits", "mlp_digits"]) == 1
    assert "mlp_digits test/loss" in capsys.readouterr().out


@pytest.mark.parametrize("measured", [float("nan"), None])
def test_a_missing_or_nan_metric_keeps_no_promise(monkeypatch, measured):
    metrics = shifted("mlp_digits", 0.0)
    if measured is None:
        del metrics["test/acc"]
    else:
        metrics["test/acc"] = measured
    fake_runs(monkeypatch, {"mlp_digits": metrics})
    assert reproduce.main(["--check", "mlp_digits"]) == 1


def test_a_failed_run_fails_the_check_and_the_others_are_still_checked(monkeypatch, capsys):
    def run_experiment(name: str, log_dir: Path | None = None) -> tuple[Path, dict]:
        if name == "lenet5_digits":
            raise SystemExit("experiment lenet5_digits failed (exit code 1)")
        return Path("unused"), {"metrics": shifted(name, 0.0)}

    monkeypatch.setattr(reproduce, "run_experiment", run_experiment)
    assert reproduce.main(["--check", "lenet5_digits", "mlp_digits"]) == 1
    table = capsys.readouterr().out
    assert "RUN FAILED" in table and "| `mlp_digits` | test/acc |" in table


def test_check_refuses_an_experiment_without_a_promise_before_running(monkeypatch, tmp_path):
    (tmp_path / "bare.yaml").write_text("# @package _global_\nseed: 1\n")
    monkeypatch.setattr(reproduce, "EXPERIMENTS", tmp_path)
    fake_runs(monkeypatch, {})  # a run would raise KeyError
    with pytest.raises(SystemExit, match=named("bare.yaml", "promise")):
        reproduce.main(["--check", "bare"])


def test_check_refuses_a_malformed_promise_before_running(monkeypatch, tmp_path):
    (tmp_path / "typo.yaml").write_text("promise:\n  test/acc: {value: 0.9, tolerence: 0.01}\n")
    monkeypatch.setattr(reproduce, "EXPERIMENTS", tmp_path)
    fake_runs(monkeypatch, {})
    with pytest.raises(SystemExit, match=named("typo.yaml", "promise.test/acc")):
        reproduce.main(["--check", "typo"])


def test_recording_rewrites_the_promised_values_only(monkeypatch, tmp_path):
    source = REPO_ROOT / "configs" / "experiment" / "mlp_digits.yaml"
    shutil.copy(source, tmp_path / "mlp_digits.yaml")
    monkeypatch.setattr(reproduce, "EXPERIMENTS", tmp_path)
    before = reproduce.promise("mlp_digits")
    reproduce.write_promise("mlp_digits", {"test/acc": 0.5, "test/loss": 2.5e-5, "val/x": 1.0})
    after = reproduce.promise("mlp_digits")
    assert after == {
        "test/acc": (0.5, before["test/acc"][1]),
        "test/loss": (0.000025, before["test/loss"][1]),
    }

    def other_lines(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if "value:" not in line]

    assert other_lines(tmp_path / "mlp_digits.yaml") == other_lines(source)


@pytest.mark.parametrize(
    ("promise", "names"),
    [
        ({"test/acc": {"value": 0.9}}, ("promise.test/acc", "tolerance")),
        ({"test/acc": {"value": "high", "tolerance": 0.01}}, ("promise.test/acc.value", "high")),
        ({"test/acc": {"value": 0.9, "tolerance": -0.01}}, ("promise.test/acc.tolerance", "-0.01")),
        ({"acc": {"value": 0.9, "tolerance": 0.01}}, ("acc", "test/acc")),
        ([0.9], ("promise",)),
    ],
)
def test_a_malformed_promise_is_refused(promise, names):
    with pytest.raises(ZooError, match=named(*names)):
        check_values(OmegaConf.create({"promise": promise}))


@pytest.mark.slow
@pytest.mark.parametrize("name", QUICK)
def test_quick_experiment_keeps_its_promise(name, tmp_path):
    """``python train.py experiment=NAME`` gives the README's row: a change that moves a
    recorded number fails here until the row is re-measured (python scripts/reproduce.py NAME)."""
    _, result = reproduce.run_experiment(name, log_dir=tmp_path)
    comparisons = reproduce.compare(name, result["metrics"])
    assert all(c.kept for c in comparisons), "\n" + reproduce.check_table(comparisons)
