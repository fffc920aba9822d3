"""train.py as a user runs it: help, errors, the default run, sweeps and DDP on CPU."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from zoo import load_pretrained
from zoo.data import DigitsDataModule

REPO_ROOT = Path(__file__).resolve().parents[1]
QUIET = ["callbacks.rich_progress_bar=null", "callbacks.model_summary=null"]


def run_train(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def only_run_dir(root: Path) -> Path:
    runs = [p for p in (root / "outputs" / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def test_help_lists_the_groups_and_options(tmp_path):
    """The help composes no value, so it does not import torch and Lightning (10 s here)."""
    code = (
        "import runpy, sys; sys.argv = ['train.py', '--help']\n"
        "try:\n"
        f"    runpy.run_path({str(REPO_ROOT / 'train.py')!r}, run_name='__main__')\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "assert 'torch' not in sys.modules and 'lightning' not in sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for line in (
        "model: ",
        "optimizer: adam, adam_gan, adamw, momentum, nesterov, rmsprop, sgd",
        "scheduler: ",
        "regularization: ",
        "augmentation: ",
        "trainer: ",
        "experiment: ",
        "debug: ",
    ):
        assert line in result.stdout, line
    assert "lenet5" in result.stdout and "mlp" in result.stdout


def test_help_into_a_closed_pipe_ends_quietly(tmp_path):
    """`python train.py --help | head -1`: the reader has closed the pipe (here before the
    help is written, so that the write fails every time); no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "train.py"), "--help"],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_option_exits_with_the_available_ones(tmp_path):
    result = run_train("model=lenett", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: model='lenett' is not one of the model options; did you ")
    assert "mean model=lenet5?" in lines[0] and "resnet18" in lines[0]


@pytest.mark.slow  # a process of its own or a whole run: 2-6 s
def test_bad_value_is_one_line_without_traceback(tmp_path):
    result = run_train("optimizer.lr=-1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: optimizer.lr must be a finite number > 0, got -1."
    ]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("outputs/runs/*"))  # the refused run left no folder


# The runs below train through train.py in processes of their own (8-23 s each on 2 cores):
# with `pytest -m slow`, to keep the suite under 5 minutes. Every suite still runs train.py
# as a process for its exit codes (above; the signals in tests/test_reliability.py) and
# trains in-process (tests/test_configs.py, tests/test_resume.py).
@pytest.mark.slow
def test_default_run_reaches_98_percent_and_exports_a_loadable_model(tmp_path):
    """The README's promise: `python train.py` trains LeNet-5 on digits to >= 0.98."""
    result = run_train(*QUIET, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = only_run_dir(tmp_path)
    assert "Final metrics" in result.stdout and f"Outputs: {run_dir}" in result.stdout

    results = json.loads((run_dir / "results.json").read_text())
    assert results["metrics"]["test/acc"] >= 0.98
    assert results["model"]["name"] == "lenet5"
    assert results["versions"]["torch"] == torch.__version__
    assert results["wall_time_s"] > 0
    assert results["startup_s"] > 0  # from the process's start to its first step
    # the epochs: within the run's own time, after its start-up
    assert 0 < results["training_s"] < results["wall_time_s"]
    assert results["cpu"]["chosen_by"] and results["cpu"]["threads"] >= 1
    record = {f.name: f.read_bytes() for f in (run_dir / ".hydra").iterdir()}
    assert set(record) == {"config.yaml", "hydra.yaml", "overrides.yaml"}
    assert yaml.safe_load(record["overrides.yaml"]) == QUIET
    assert yaml.safe_load(record["config.yaml"])["model"]["name"] == "lenet5"
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / "csv" / "metrics.csv").is_file()
    assert (run_dir / "curves.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    # A refused command pointed at the run's folder leaves its record as it was.
    refused = run_train("model=mlp", "optimizer.lr=-1", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.startswith("error: optimizer.lr must be")
    assert {f.name: f.read_bytes() for f in (run_dir / ".hydra").iterdir()} == record

    # The exported folder rebuilds the model and gives the same test accuracy.
    model = load_pretrained(run_dir / "model").eval()
    config = model.pretrained_config
    assert config["command"] == "python train.py " + " ".join(QUIET)
    assert config["data"]["class_names"] == [str(i) for i in range(10)]
    data = DigitsDataModule(split_seed=config["data"]["split_seed"])
    data.setup()
    normalize = data.normalization
    assert data.mean == pytest.approx(config["data"]["normalization"]["mean"])
    inputs, targets = data.splits["test"]
    with torch.no_grad():
        accuracy = (model(normalize(inputs)).argmax(1) == targets).float().mean().item()
    assert accuracy == pytest.approx(results["metrics"]["test/acc"], abs=1e-6)


# a sweep's jobs: one batch of each stage of the MLP on flat digits
SWEEP_JOB = ["debug=fdr", "model=mlp", "data=digits_flat", "augmentation=[none]"]


@pytest.mark.slow
def test_multirun_sweeps_each_value(tmp_path):
    result = run_train("-m", "optimizer=sgd,adam", *SWEEP_JOB, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = list((tmp_path / "outputs" / "multiruns").iterdir())
    for job, optimizer in ((0, "SGD"), (1, "Adam")):
        results = json.loads((sweep / str(job) / "results.json").read_text())
        assert results["config"]["optimizer"]["_target_"] == f"torch.optim.{optimizer}"
    # the sweep's summary: a table at the end and summary.csv in the sweep folder
    with open(sweep / "summary.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["job"], r["overrides"].split()[0], r["status"]) for r in rows] == [
        ("0", "optimizer=sgd", "done"),
        ("1", "optimizer=adam", "done"),
    ]
    for row in rows:
        results = json.loads((sweep / row["job"] / "results.json").read_text())
        for metric in ("val/acc_best", "val/loss", "test/acc"):  # optimized, monitored, test
            assert float(row[metric]) == pytest.approx(results["metrics"][metric], rel=1e-5)
    assert f"Sweep summary: {sweep / 'summary.csv'}" in result.stdout


def test_a_bad_value_in_a_later_sweep_job_is_refused_before_any_job_trains(
    tmp_path, monkeypatch, capsys
):
    """Each job checks its own config when it starts; job #0 also checks the later ones, so
    job #1's bad learning rate stops the sweep before job #0 trains. train.py runs in this
    process, as in tests/test_bad_input.py (its exit codes as a process are tested above)."""
    from conftest import run_train_in_process

    argv = ["-m", "optimizer.lr=0.01,-1", *SWEEP_JOB]
    code, stderr = run_train_in_process(monkeypatch, argv, tmp_path, capsys)
    assert code == 2, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == (
        "error: sweep job #1 (optimizer.lr=-1 debug=fdr model=mlp data=digits_flat "
        "augmentation=[none]): optimizer.lr must be a finite number > 0, got -1. "
        "No job was run."
    )
    assert not list(tmp_path.rglob("results.json")) and not list(tmp_path.rglob("*.ckpt"))


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tmp_path):
    result = run_train(
        "trainer=ddp_cpu",
        "trainer.max_epochs=2",
        "model=mlp",
        "data=digits_flat",
        "augmentation=[none]",
        *QUIET,
        cwd=tmp_path,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = only_run_dir(tmp_path)  # one run folder, not one per process
    results = json.loads((run_dir / "results.json").read_text())
    assert results["config"]["trainer"]["devices"] == 2
    assert results["metrics"]["test/acc"] > 0.5
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in result.stderr
    assert "distributed_backend=gloo" in result.stderr
    # the epoch metrics are torchmetrics values, gathered across processes by compute()
    assert "sync_dist=True" not in result.stderr


@pytest.mark.slow
def test_optuna_search_runs_trials(tmp_path):
    result = run_train(
        "-m",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        "debug=fdr",
        "model=mlp",
        "data=digits_flat",
        "augmentation=[none]",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = list((tmp_path / "outputs" / "multiruns").iterdir())
    summary = (sweep / "optimization_results.yaml").read_text()
    assert "best_params:" in summary and "optimizer.lr" in summary
    assert (sweep / "0" / "results.json").is_file() and (sweep / "1" / "results.json").is_file()


@pytest.mark.parametrize(
    ("load", "environ", "policy"),
    [
        ((0.2, 0, 2), {}, "default"),  # quiet: OpenMP's default, threads spin a while
        ((0.1, 1, 2), {}, "PASSIVE"),  # a process busy on one of two cores, just started
        ((1.1, 0, 2), {}, "default"),  # work that just ended: the load average lags behind
        ((3.0, 2, 16), {}, "default"),  # a few busy cores of sixteen
        ((0.5, None, 2), {}, "default"),  # no count of running processes: the load average decides
        ((1.5, None, 2), {}, "PASSIVE"),
        ((5.0, 4, 2), {"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE"),  # the user's choice stays
    ],
)
def test_idle_threads_wait_as_the_load_says(monkeypatch, load, environ, policy):
    """Measured on 2 cores (README, Threads): spinning idle threads are 1.8x faster on a quiet
    machine and 3-5x slower beside other CPU-bound work, so they spin only when it is quiet."""
    import zoo.resources

    monkeypatch.setattr(zoo.resources, "machine_load", lambda: load)
    chosen = zoo.resources.choose_cpu_settings(environ)
    assert chosen["omp_wait_policy"] == policy
    # OpenMP's default is the variable unset: libgomp warns about an empty value
    assert environ.get("OMP_WAIT_POLICY", "default") == policy
    assert zoo.resources.cpu_settings()["omp_wait_policy"] == policy


@pytest.mark.slow  # a process of its own or a whole run: 2-6 s
def test_the_quiet_choice_leaves_openmp_silent():
    """On a quiet machine the choice is OpenMP's default; libgomp prints "Invalid value for
    environment variable OMP_WAIT_POLICY" at every start if that is spelled as an empty value."""
    code = (
        "import zoo.resources as r; r.machine_load = lambda: (0.0, 0, 2); "
        "print(r.choose_cpu_settings()['omp_wait_policy']); "
        "import torch; torch.randn(256, 256) @ torch.randn(256, 256)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "default"
    assert "OMP_WAIT_POLICY" not in done.stderr, done.stderr


def test_threads_sets_torchs_threads_and_results_record_them(make_config):
    from zoo.training.run import train

    before = torch.get_num_threads()
    cfg = make_config("model=mlp", "data=digits_flat", "debug=fdr", "threads=1")
    try:
        train(cfg)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    results = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    assert results["cpu"]["threads"] == 1


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_seconds_since_process_start_counts_from_the_process_start():
    """Against the parent's clock: a child that sleeps 0.5 s before reading its age reads at
    least that, and no more than the parent saw pass from launching it to its end."""
    script = (
        "import time; time.sleep(0.5); "
        "from zoo.resources import seconds_since_process_start as age; print(age())"
    )
    launched = time.monotonic()
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    elapsed = time.monotonic() - launched
    age = float(child.stdout)
    assert 0.5 <= age <= elapsed + 0.02  # to the kernel's clock tick (10 ms)
