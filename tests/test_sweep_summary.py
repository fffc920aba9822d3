"""A sweep's end: the table of its jobs and summary.csv, and after Ctrl-C the command line
that finishes the whole sweep (the interrupted job resumed, then the jobs that never ran)."""

from __future__ import annotations

import csv
import json
import shlex
import sys
from pathlib import Path

import pytest
import yaml
from conftest import run_train_in_process
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser

from zoo.config.sweep import remaining_sweeps
from zoo.training.sweep_summary import SUMMARY_NAME, summarize_sweep

REPO_ROOT = Path(__file__).resolve().parents[1]


def expand(overrides: list[str]) -> list[list[str]]:
    """The jobs Hydra's basic sweeper runs for ``overrides``, in its order."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    [jobs] = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return jobs


@pytest.mark.parametrize(
    "sweep",
    [
        ["optimizer.lr=0.01,0.1"],
        ["optimizer.lr=0.01,0.1,1", "seed=1,2", "model=mlp", "augmentation=[none],[rotate,crop]"],
        ["+trainer.limit_train_batches=2,3", "model=mlp,lenet5", "seed=1,2,3"],
    ],
)
def test_the_rest_of_a_sweep_is_the_jobs_after_the_one_stopped_in_order(sweep):
    jobs = expand(sweep)
    for first in range(len(jobs) + 1):
        rest = remaining_sweeps(jobs, first)
        assert [job for part in rest for job in expand(part)] == jobs[first:]
        assert len(rest) <= len(sweep)  # one sweep per override at most


def write_job(sweep_dir: Path, num: int, overrides: list[str], metrics: dict | None) -> None:
    """A job folder as a sweep leaves it: .hydra/ (hydra.yaml, overrides.yaml) and, for a job
    that finished, results.json."""
    folder = sweep_dir / str(num)
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if metrics is not None:
        results = {
            "metrics": metrics,
            "optimized_metric": "val/acc_best",
            "config": {"monitor": {"metric": "val/loss", "mode": "min"}},
        }
        (folder / "results.json").write_text(json.dumps(results))


def read_summary(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / SUMMARY_NAME, newline="") as file:
        return list(csv.DictReader(file))


def test_the_summary_has_every_job_its_status_and_metrics(tmp_path, capsys):
    write_job(tmp_path, 0, ["optimizer.lr=0.01", "seed=1"], {"val/acc_best": 0.9, "test/acc": 0.8})
    write_job(tmp_path, 1, ["optimizer.lr=0.1", "seed=1", "augmentation=[none]"], None)  # failed
    write_job(tmp_path, 2, ["optimizer.lr=1", "seed=1"], None)
    summarize_sweep(
        tmp_path,
        stopped=(2, ["optimizer.lr=1", "seed=1"], "interrupted"),
        not_run=[["optimizer.lr=10", "seed=1"]],
    )
    rows = read_summary(tmp_path)
    assert [(r["job"], r["status"]) for r in rows] == [
        ("0", "done"),
        ("1", "failed"),
        ("2", "interrupted"),
        ("3", "not run"),
    ]
    assert rows[0]["overrides"] == "optimizer.lr=0.01 seed=1"
    assert float(rows[0]["val/acc_best"]) == 0.9 and float(rows[0]["test/acc"]) == 0.8
    assert rows[1]["test/acc"] == "" and "val/loss" in rows[0]  # the monitored metric's column
    out = capsys.readouterr().out
    assert "optimizer.lr=0.01" in out and "not run" in out
    assert "augmentation=[none]" in out  # shown as typed, not read as rich's markup
    assert "seed=1" not in out.split("Sweep summary")[0]  # the table: what tells jobs apart


SWEEP = ["optimizer.lr=0.01,0.1", "seed=1,2,3", "model=mlp"]


def test_the_resume_line_of_a_sweep_job_finishes_the_sweep(make_config, monkeypatch, tmp_path):
    """The line of a job of a basic sweep stopped after its first checkpoint: job #1 resumed
    from it, then sweeps that expand to exactly the jobs after it; without a checkpoint, the
    sweeps of job #1 and those after it."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import open_dict, read_write

    from zoo.training.stopping import interruption

    jobs = expand(SWEEP)
    monkeypatch.setattr(sys, "argv", ["train.py", "-m", *SWEEP])
    cfg = make_config(*jobs[1])
    with read_write(cfg.hydra), open_dict(cfg):
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.job.num = 1
        cfg.hydra.overrides.task = jobs[1]
        cfg.hydra.overrides.hydra = ["hydra.mode=MULTIRUN", "hydra.sweep.dir=/elsewhere"]
    HydraConfig().set_config(cfg)

    line, code = interruption(cfg, SystemExit(1))  # no epoch ended: no checkpoint
    assert code == 130 and "job #1 of a sweep of 6" in line
    commands = [shlex.split(c) for c in line.split(": ", 1)[1].split(" && ")]
    assert all(command[:3] == ["python", "train.py", "-m"] for command in commands)
    assert [job for command in commands for job in expand(command[3:])] == jobs[1:]

    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"")
    line, _ = interruption(cfg, SystemExit(1))
    resume, *rest = [shlex.split(c) for c in line.split(": ", 1)[1].split(" && ")]
    run_dir = f"hydra.run.dir={cfg.paths.output_dir}"  # in its own folder: metrics.csv goes on
    assert resume == ["python", "train.py", *jobs[1], run_dir, f"ckpt_path={last}"]
    assert len(rest) == 2  # seed=2,3 with lr=0.01; lr=0.1 with seed=1,2,3
    assert [job for command in rest for job in expand(command[3:])] == jobs[2:]
    assert "/elsewhere" not in line  # the rest of the sweep goes into a new sweep folder


# train.py in this process composes each job's config (1-3 s each on 2 busy cores)
@pytest.mark.slow
def test_ctrl_c_in_a_sweep_job_says_how_to_finish_the_whole_sweep(tmp_path, monkeypatch, capsys):
    """Ctrl-C in job #1 of 6, after its first checkpoint: one line that resumes job #1 from
    its checkpoint and then runs jobs #2-#5, which the sweeps it prints expand to."""
    from zoo.training import run

    def interrupted(cfg):  # job #1 stops as Lightning stops a run on Ctrl-C, after a checkpoint
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.get().job.num < 1:
            return {"val/acc_best": 0.5}
        last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
        last.parent.mkdir(parents=True)
        last.write_bytes(b"")
        raise SystemExit(1)

    monkeypatch.setattr(run, "train", interrupted)
    code, stderr = run_train_in_process(monkeypatch, ["-m", *SWEEP], tmp_path, capsys)
    assert code == 130
    line = stderr.strip().splitlines()[-1]
    assert "job #1 of a sweep of 6" in line
    [sweep_dir] = (tmp_path / "outputs" / "multiruns").iterdir()
    last = sweep_dir / "1" / "checkpoints" / "last.ckpt"
    commands = line.split(": ", 2)[-1].split(" && ")
    resume, *rest = [shlex.split(command) for command in commands]
    jobs = expand(SWEEP)
    assert resume == [
        "python", "train.py", *jobs[1], f"hydra.run.dir={last.parents[1]}", f"ckpt_path={last}"
    ]  # fmt: skip
    assert all(command[:3] == ["python", "train.py", "-m"] for command in rest)
    assert len(rest) == 2  # seed=2,3 with lr=0.01; lr=0.1 with seed=1,2,3
    assert [job for command in rest for job in expand(command[3:])] == jobs[2:]
    # the summary (job #0's folder holds no .hydra record: the stub that ran it wrote none)
    rows = read_summary(sweep_dir)
    assert [(r["job"], r["status"]) for r in rows] == [
        ("1", "interrupted"),
        *[(str(n), "not run") for n in range(2, 6)],
    ]
    assert rows[1]["overrides"] == " ".join(jobs[2])
