"""Nothing written is lost: last.ckpt is the last epoch, checkpoints are written atomically,
a diverging run stops with one line and exports nothing, results.json is strict JSON, and
runs started together get their own folders."""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from conftest import named
from torch import nn

from zoo import ZooError
from zoo.tasks.base import ZooTask
from zoo.tasks.classification import ClassificationTask
from zoo.training.checkpointing import AtomicCheckpointIO
from zoo.training.run import train
from zoo.training.run_folder import hold_run_folder
from zoo.weights import write_json

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST_FLAT = ["model=mlp", "data=digits_flat", "+trainer.limit_train_batches=2"]


def test_last_checkpoint_holds_the_most_recent_epoch(make_config):
    # val/acc_best never decreases, so with mode=min the best checkpoint stays epoch 0 while
    # training goes on: last.ckpt must still move on with every epoch.
    cfg = make_config(
        *FAST_FLAT,
        "trainer.max_epochs=3",
        "callbacks.model_checkpoint.monitor=val/acc_best",
        "callbacks.model_checkpoint.mode=min",
    )
    train(cfg)
    folder = Path(cfg.paths.output_dir, "checkpoints")
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    last = torch.load(folder / "last.ckpt", weights_only=True, map_location="cpu")
    assert last["epoch"] == 2 and last["global_step"] == 6


def test_last_checkpoint_links_the_best_written_at_the_same_step(make_config):
    # mode=max on val/acc_best: the best checkpoint is rewritten in each epoch that improves
    # it, and last.ckpt is then the same file (a hard link), not a second copy; with
    # mode=min the best stays epoch 0 and last.ckpt is written on its own.
    runs = {}
    for mode in ("max", "min"):
        cfg = make_config(
            *FAST_FLAT,
            "trainer.max_epochs=2",
            "callbacks.model_checkpoint.monitor=val/acc_best",
            f"callbacks.model_checkpoint.mode={mode}",
            name=mode,
        )
        train(cfg)
        runs[mode] = Path(cfg.paths.output_dir, "checkpoints")
    last, best = runs["max"] / "last.ckpt", runs["max"] / "epoch_001.ckpt"
    assert os.path.samefile(last, best)
    assert not os.path.samefile(runs["min"] / "last.ckpt", runs["min"] / "epoch_000.ckpt")
    state = torch.load(last, weights_only=True, map_location="cpu")
    assert state["epoch"] == 1 and state["global_step"] == 4


def test_resuming_after_the_best_checkpoint_was_deleted_is_one_error(make_config):
    # in the run's own folder (resumed into another, the lost best is left behind with a
    # warning and the run tests its current weights)
    cfg = make_config(*FAST_FLAT, "trainer.max_epochs=2", "callbacks.early_stopping=null")
    train(cfg)
    folder = Path(cfg.paths.output_dir, "checkpoints")
    for best in folder.glob("epoch_*.ckpt"):
        best.unlink()  # last.ckpt, a hard link to it or a file of its own, stays
    resumed = make_config(*FAST_FLAT, "trainer.max_epochs=2", f"ckpt_path={folder / 'last.ckpt'}")
    remedy = ("train=false", f"ckpt_path={folder / 'last.ckpt'}")
    with pytest.raises(ZooError, match=named(str(folder / "epoch_001.ckpt"), *remedy)):
        train(resumed)


@pytest.mark.parametrize(
    ("overrides", "loss"),
    [
        ([], "step"),  # a training step's loss
        (["+trainer.limit_train_batches=2"], "val loss"),
    ],
)
def test_a_diverging_run_stops_with_one_line_and_exports_nothing(make_config, overrides, loss):
    cfg = make_config(
        "model=mlp", "data=digits_flat", "optimizer=sgd", "optimizer.lr=1e6", *overrides
    )
    fragments = (loss, "epoch 0", "optimizer.lr", "regularization=grad_clip")
    with pytest.raises(ZooError, match=named("diverged", *fragments)):
        train(cfg)
    run = Path(cfg.paths.output_dir)
    assert not (run / "results.json").exists() and not (run / "model").exists()


def test_losses_kept_on_an_accelerator_are_checked_before_the_epoch_ends(make_config, monkeypatch):
    """On a GPU each step's finiteness stays on the device (reading the loss would make the
    host wait for it every step): a diverged step is found at the next check, still before
    the epoch's checkpoints, which on the CPU is simulated by not reading each loss."""
    monkeypatch.setattr(ZooTask, "reads_each_loss", lambda self, loss: False)
    cfg = make_config(
        "model=mlp",
        "data=digits_flat",
        "optimizer=sgd",
        "optimizer.lr=1e6",
        "trainer.log_every_n_steps=1000",  # no check within the epoch: the epoch's end finds it
    )
    fragments = ("diverged", "epoch 0", "optimizer.lr", "regularization=grad_clip")
    with pytest.raises(ZooError, match=named(*fragments)):
        train(cfg)
    run = Path(cfg.paths.output_dir)
    assert not list(run.glob("checkpoints/*.ckpt")) and not (run / "model").exists()


def test_kept_losses_are_read_every_log_interval():
    task = ClassificationTask(nn.Linear(2, 2), torch.optim.SGD, num_classes=2)
    task.reads_each_loss = lambda loss: False
    task.on_before_backward(torch.tensor(1.0))  # no trainer: checked at every step
    with pytest.raises(ZooError, match=named("0 to 0", "epoch 0")):
        task.on_before_backward(torch.tensor(float("inf")))


def test_a_run_folder_in_use_is_refused_before_any_work(make_config):
    """A second run or resume into a folder another train.py holds is one line, and the
    folder is left as it was (it deleted the first run's checkpoints and results before)."""
    cfg = make_config("trainer.max_epochs=1")
    run_dir = Path(cfg.paths.output_dir)
    with hold_run_folder(run_dir):
        assert (run_dir / ".lock").read_text().strip() == str(os.getpid())
        in_use = (repr(str(run_dir)), f"pid {os.getpid()}", "hydra.run.dir")
        with pytest.raises(ZooError, match=named(*in_use)):
            train(cfg)
        assert sorted(p.name for p in run_dir.iterdir()) == [".lock"]
    with hold_run_folder(run_dir):  # released when the holder ends
        pass


def test_results_json_is_strict(tmp_path):
    write_json(tmp_path / "r.json", {"metrics": {"a": float("nan"), "b": [float("inf"), 1.0]}})

    def refuse(constant):
        raise ValueError(constant)

    loaded = json.loads((tmp_path / "r.json").read_text(), parse_constant=refuse)
    assert loaded == {"metrics": {"a": None, "b": [None, 1.0]}}


def test_a_failed_checkpoint_write_keeps_the_previous_file(tmp_path):
    io = AtomicCheckpointIO(background=False)
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"epoch": 1, "weights": torch.ones(3)}, target)
    good = target.read_bytes()
    with pytest.raises(Exception):  # noqa: B017  (pickling a lambda fails mid-save)
        io.save_checkpoint({"epoch": 2, "bad": lambda: None}, target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left
    assert io.load_checkpoint(target, weights_only=True)["epoch"] == 1


# 14 s of two train.py processes: with `pytest -m slow`, to keep the suite under 5 minutes
@pytest.mark.slow
def test_runs_started_together_get_their_own_folders(tmp_path):
    command = [
        sys.executable,
        str(REPO_ROOT / "train.py"),
        "debug=fdr",
        "model=mlp",
        "data=digits_flat",
        "callbacks=none",
        f"paths.log_dir={tmp_path}",
    ]
    runs = [subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE) for _ in range(2)]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr.decode()[-2000:]
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2
    assert all((folder / "results.json").is_file() for folder in folders)


# -- kills ----------------------------------------------------------------------------------
KILL_RUN = [
    "model=mlp",
    "data=digits_flat",
    "trainer.max_epochs=6",
    "callbacks=model_checkpoint",
    "regularization=dropout",
]
# Runs train.py in this process after arranging a SIGKILL during the Nth checkpoint write:
# the temporary file is written and fsynced, the rename has not happened.
DIE_DURING_WRITE = """
import os, runpy, signal, sys
import zoo.training.checkpointing as checkpointing
writes = {"count": 0}
original = checkpointing.atomic_write_bytes
def dying(path, data):
    writes["count"] += 1
    if writes["count"] == int(os.environ["ZOO_TEST_DIE_AT_WRITE"]):
        import io, torch
        epoch = torch.load(io.BytesIO(data), weights_only=True)["epoch"]
        with open(os.environ["ZOO_TEST_KILLED_WRITE"], "w") as record:
            record.write(f"{os.path.basename(path)} {epoch}")
        real_fsync = os.fsync
        def kill(fd):
            real_fsync(fd)
            os.kill(os.getpid(), signal.SIGKILL)
        os.fsync = kill
    original(path, data)
checkpointing.atomic_write_bytes = dying
sys.argv = ["train.py", *sys.argv[1:]]
runpy.run_path(sys.argv.pop(1), run_name="__main__")
"""


def train_command(run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(REPO_ROOT / "train.py"),
        *KILL_RUN,
        f"hydra.run.dir={run_dir}",
        *extra,
    ]


def final_state(run_dir: Path) -> tuple[dict, dict]:
    from safetensors.torch import load_file

    metrics = json.loads((run_dir / "results.json").read_text())["metrics"]
    return metrics, load_file(run_dir / "model" / "model.safetensors")


def resume(run_dir: Path) -> None:
    last = run_dir / "checkpoints" / "last.ckpt"
    extra = [f"ckpt_path={last}"] if last.is_file() else []
    result = subprocess.run(train_command(run_dir, *extra), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[dict, dict]:
    run_dir = tmp_path_factory.mktemp("whole") / "run"
    subprocess.run(train_command(run_dir), check=True, capture_output=True)
    return final_state(run_dir)


def assert_same_run(run_dir: Path, uninterrupted: tuple[dict, dict]) -> None:
    metrics, weights = final_state(run_dir)
    expected_metrics, expected_weights = uninterrupted
    for key in ("test/acc", "test/loss", "val/acc_best"):
        assert metrics[key] == pytest.approx(expected_metrics[key], rel=1e-6), key
    assert weights.keys() == expected_weights.keys()
    for key, tensor in expected_weights.items():
        assert torch.equal(weights[key], tensor), key
    leftovers = [p.name for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")]
    assert not leftovers


# The kills and SIGTERMs of whole train.py runs below (12-14 s each on 2 cores, and 8 s for
# the uninterrupted run they share) run with `pytest -m slow`, to keep the suite under 5
# minutes; every suite resumes a run stopped dead in-process (tests/test_resume.py) and
# signals train.py as a process while it starts (below).
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_killed_at_a_random_moment_and_resumed_equals_the_uninterrupted_run(
    seed, uninterrupted, tmp_path
):
    """A run takes about 6 s here (start-up included): kill it somewhere in its training."""
    import random
    import signal
    import time

    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        train_command(run_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(random.Random(seed).uniform(3.0, 5.0))
    if process.poll() is None:  # still running (a fast machine may have finished)
        process.send_signal(signal.SIGKILL)
        process.wait()
        resume(run_dir)
    assert_same_run(run_dir, uninterrupted)


@pytest.mark.slow
def test_killed_after_training_while_testing_or_exporting(uninterrupted, tmp_path):
    """A kill after the last epoch's checkpoint (while testing or exporting) is resumed
    from a last.ckpt with nothing left to train: the results still equal the whole run's."""
    import shutil

    run_dir = tmp_path / "run"
    subprocess.run(train_command(run_dir), check=True, capture_output=True)
    (run_dir / "results.json").unlink()
    shutil.rmtree(run_dir / "model")
    logged = (run_dir / "csv" / "metrics.csv").read_text()
    resume(run_dir)
    assert_same_run(run_dir, uninterrupted)
    # the final weights' validation is not logged twice; the test rows are redone alike
    assert (run_dir / "csv" / "metrics.csv").read_text() == logged


# 12 s; with `pytest -m slow` (test_a_failed_checkpoint_write_keeps_the_previous_file checks
# the atomic write in-process)
@pytest.mark.slow
def test_killed_during_a_checkpoint_write_keeps_the_previous_one(uninterrupted, tmp_path):
    run_dir = tmp_path / "run"
    # writes: epoch 0 best, then each epoch's best and/or last (a last.ckpt written in the
    # epoch of a best is a hard link to it, no write): die in the 4th, whichever epoch it is
    record = tmp_path / "killed_write"
    env = {**os.environ, "ZOO_TEST_DIE_AT_WRITE": "4", "ZOO_TEST_KILLED_WRITE": str(record)}
    command = [sys.executable, "-c", DIE_DURING_WRITE, *train_command(run_dir)[1:]]
    killed = subprocess.run(command, env=env, capture_output=True)
    assert killed.returncode == -9  # SIGKILL
    partial = [p for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".partial")]
    assert partial, "the kill should leave the temporary file of the interrupted write"
    killed_epoch = int(record.read_text().split()[1])
    assert killed_epoch >= 1
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == killed_epoch - 1  # the previous good last.ckpt, whole
    resume(run_dir)
    assert_same_run(run_dir, uninterrupted)


def test_background_writes_are_ordered_and_a_failure_surfaces(tmp_path):
    io = AtomicCheckpointIO()
    weights = torch.zeros(3)
    io.save_checkpoint({"epoch": 1, "weights": weights}, tmp_path / "a.ckpt")
    weights += 1  # training goes on: the queued checkpoint is a snapshot
    io.save_checkpoint({"epoch": 2, "weights": weights}, tmp_path / "b.ckpt")
    io.teardown()
    assert torch.equal(
        torch.load(tmp_path / "a.ckpt", weights_only=True)["weights"], torch.zeros(3)
    )
    assert torch.equal(torch.load(tmp_path / "b.ckpt", weights_only=True)["weights"], torch.ones(3))
    state = OrderedDict(w=weights)  # tensors nested as in optimizer and RNG states
    io.save_checkpoint({"nested": [{"state": state}, (weights, 7)]}, tmp_path / "n.ckpt")
    weights += 1
    io.teardown()
    nested = torch.load(tmp_path / "n.ckpt", weights_only=True)["nested"]
    assert isinstance(nested[0]["state"], OrderedDict) and isinstance(nested[1], tuple)
    assert torch.equal(nested[0]["state"]["w"], torch.ones(3)) and nested[1][1] == 7
    assert torch.equal(nested[1][0], torch.ones(3))
    (tmp_path / "n.ckpt").unlink()
    io.save_checkpoint({"epoch": 3}, tmp_path / "c.ckpt")
    io.remove_checkpoint(tmp_path / "a.ckpt")  # queued behind the write of c
    io.teardown()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.ckpt", "c.ckpt"]
    io.save_checkpoint({"bad": lambda: None}, tmp_path / "d.ckpt")
    with pytest.raises(Exception):  # noqa: B017  (the worker's pickling error)
        io.teardown()
    assert not (tmp_path / "d.ckpt").exists()


@pytest.mark.slow
def test_sigterm_stops_with_a_nonzero_exit_and_how_to_resume(uninterrupted, tmp_path):
    """A scheduler's SIGTERM ends the run at the next step with exit code 143 (never 0, which
    scripts would read as success) and one line naming the checkpoint to resume from; the
    resumed run equals the uninterrupted one."""
    import signal
    import time

    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        train_command(run_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is not None:
        pytest.skip("the run finished before it could be stopped")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr[-2000:]
    line = stderr.strip().splitlines()[-1]
    prefix = "error: training was interrupted (SIGTERM); to resume: "
    assert line.startswith(prefix), line
    # the run's own overrides, its pinned run folder and the checkpoint
    assert shlex.split(line[len(prefix) :]) == [
        "python", "train.py", *KILL_RUN, f"hydra.run.dir={run_dir}", f"ckpt_path={last}"
    ]  # fmt: skip
    resume(run_dir)
    assert_same_run(run_dir, uninterrupted)


@pytest.mark.slow
def test_ctrl_c_pressed_again_and_again_keeps_the_line_and_exit_code(tmp_path):
    """Ctrl-C held down (a signal every 20 ms): the run still ends with its resume line and
    the shell's 130, not a death by SIGINT in the middle of saying how to resume."""
    import signal
    import time

    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        train_command(run_dir, "trainer.max_epochs=100"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    while process.poll() is None and time.monotonic() < deadline:
        process.send_signal(signal.SIGINT)
        time.sleep(0.02)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "to resume: python train.py" in stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("signal_name", "code", "said"),
    [("SIGINT", 130, "interrupted (Ctrl-C)"), ("SIGTERM", 143, "stopped (SIGTERM)")],
)
def test_a_signal_while_starting_is_one_line_and_its_exit_code(tmp_path, signal_name, code, said):
    """Ctrl-C or SIGTERM while train.py imports torch and composes its config (before
    Lightning's loops, which handle them themselves) ends with one line and the shell's
    128 + signal, not a traceback (Ctrl-C) or a silent kill (SIGTERM)."""
    import signal
    import time

    process = subprocess.Popen(
        train_command(tmp_path / "run"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)  # the command line is checked; torch and Lightning are being imported
    process.send_signal(getattr(signal, signal_name))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr[-2000:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: ")
    assert said in stderr


def test_max_steps_inside_an_epoch_ends_the_run_normally(make_config):
    """trainer.max_steps reached before the epoch's validation: no early-stopping error; the
    final weights are validated, tested and exported."""
    metrics = train(make_config("model=mlp", "data=digits_flat", "trainer.max_steps=3"))
    assert "val/loss" in metrics and "test/acc" in metrics


def test_a_closed_output_is_said_as_such_not_as_ctrl_c(make_config):
    """`python train.py | head`: rich's console, writing into the closed pipe, ends the run
    with SystemExit(1) raised while handling the BrokenPipeError, which is also what
    Lightning raises after a Ctrl-C."""
    from zoo.training.stopping import interruption

    cfg = make_config()
    closed = SystemExit(1)
    closed.__context__ = BrokenPipeError(32, "Broken pipe")  # raised in its `except`
    line, code = interruption(cfg, closed)
    assert code == 141
    assert line.startswith("training was interrupted (its output was closed: a broken pipe")
    assert interruption(cfg, SystemExit(1))[1] == 130


def test_the_interrupt_line_names_lightnings_own_checkpoint(make_config):
    """With callbacks that leave out the zoo's checkpoint callbacks (callbacks=precise_bn),
    Lightning's default one writes <logger>/checkpoints/epoch=N-step=M.ckpt: the line names
    the newest, quoted so that the command it gives composes."""
    from zoo.training.stopping import interruption, output_dir

    cfg = make_config()
    line, code = interruption(cfg, SystemExit(1))
    assert code == 130 and "there is no checkpoint to resume from" in line
    older = output_dir(cfg) / "csv" / "checkpoints" / "epoch=7-step=160.ckpt"
    older.parent.mkdir(parents=True)
    older.write_bytes(b"")
    os.utime(older, (0, 0))
    newest = older.with_name("epoch=8-step=180.ckpt")
    newest.write_bytes(b"")
    line, _ = interruption(cfg, SystemExit(1))
    *_command, override = shlex.split(line.split("to resume: ")[1])
    assert make_config(override).ckpt_path == str(newest)


def test_ctrl_c_while_testing_says_so_and_how_to_resume(make_config, monkeypatch):
    """Ctrl-C after training, while the best weights are tested: the line says which stage
    was interrupted, and the resumed run (from the end of training) tests and exports."""
    import lightning as L

    from zoo.training.stopping import StoppedWhile, interruption

    cfg = make_config(*FAST_FLAT, "trainer.max_epochs=1")

    def interrupted_test(*args, **kwargs):
        raise SystemExit(1)  # what Lightning raises after Ctrl-C inside its loops

    with monkeypatch.context() as patch:
        patch.setattr(L.Trainer, "test", interrupted_test)
        with pytest.raises(StoppedWhile) as stop:
            train(cfg)
    line, code = interruption(cfg, stop.value)
    assert code == 130 and line.startswith("testing and exporting was interrupted (Ctrl-C)")
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    assert f"ckpt_path={last}" in line
    resumed = train(make_config(*FAST_FLAT, "trainer.max_epochs=1", f"ckpt_path={last}"))
    assert "test/acc" in resumed


@pytest.mark.parametrize(
    "name", ["last.ckpt", "epoch=8-step=180.ckpt", 'it\'s "mine", [1] $HOME.ckpt']
)
def test_the_resume_override_survives_the_shell_and_hydra(make_config, tmp_path, name):
    """The ckpt_path=... the interrupt line and the refusals print is pasted into a shell:
    a run folder with a space (or a checkpoint name with '=', quotes, brackets) comes back
    to train.py as the same path."""
    from zoo.training.checkpointing import ckpt_path_override

    path = tmp_path / "my runs" / name
    [argument] = shlex.split(ckpt_path_override(path))
    assert make_config(argument).ckpt_path == str(path)


def test_a_folder_of_runs_is_not_one_run(tmp_path):
    """latest_checkpoint looks where a run keeps its checkpoints, not into the runs below a
    folder of runs (hydra.run.dir=outputs/runs) or into hidden folders (.venv)."""
    from zoo.training.checkpointing import latest_checkpoint

    other_run = tmp_path / "2026-12-05_train" / "checkpoints"
    other_run.mkdir(parents=True)
    (other_run.parent / ".hydra").mkdir()
    (other_run / "epoch_000.ckpt").write_bytes(b"")
    hidden = tmp_path / ".venv" / "checkpoints"
    hidden.mkdir(parents=True)
    (hidden / "x.ckpt").write_bytes(b"")
    assert latest_checkpoint(tmp_path) is None
    lightnings = tmp_path / "csv" / "checkpoints" / "epoch=0-step=20.ckpt"
    lightnings.parent.mkdir(parents=True)
    lightnings.write_bytes(b"")
    assert latest_checkpoint(tmp_path) == lightnings
    assert latest_checkpoint(other_run.parent) == other_run / "epoch_000.ckpt"


def test_ctrl_c_is_an_interrupt_again_after_lightnings_teardown():
    """DDP's teardown leaves SIGINT at the system default, under which Ctrl-C while testing or
    exporting would kill the process without the resume line; a user's handler stays."""
    import signal

    from zoo.training.stopping import interruptible_again

    before = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        interruptible_again()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

        def users_handler(signum, frame):
            pass

        signal.signal(signal.SIGINT, users_handler)
        interruptible_again()
        assert signal.getsignal(signal.SIGINT) is users_handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_an_interrupted_sweep_job_says_the_later_jobs_did_not_run(make_config):
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import open_dict, read_write

    from zoo.training.stopping import interruption

    cfg = make_config()
    line, _ = interruption(cfg, SystemExit(1))
    assert "sweep" not in line
    with read_write(cfg.hydra), open_dict(cfg):
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.job.num = 3
    HydraConfig().set_config(cfg)
    line, code = interruption(cfg, SystemExit(1))
    assert code == 130
    assert line.startswith(
        "training was interrupted (Ctrl-C) in job #3 of a sweep, whose later jobs did not run; "
    )


def test_a_sigterm_outside_lightnings_loops_stops_the_run_with_its_line(monkeypatch):
    """Outside fit and test (building the model, exporting) a SIGTERM raises Lightning's
    SIGTERMException, which train.py turns into the resume line and 143 (the system default
    killed the process without a word); inside them, where Lightning's handler calls the
    zoo's, it is only noted, and the loops stop at their next step."""
    import signal

    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from zoo.training.stopping import SigtermWatch

    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(SigtermWatch, "received", False)
    try:
        SigtermWatch.install()
        with pytest.raises(SIGTERMException):
            os.kill(os.getpid(), signal.SIGTERM)
        assert SigtermWatch.received
        SigtermWatch.received = False
        # as Lightning's handlers do: theirs, then the one that was there before
        signal.signal(signal.SIGTERM, lambda signum, frame: SigtermWatch._handle(signum, frame))
        os.kill(os.getpid(), signal.SIGTERM)
        assert SigtermWatch.received
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.slow  # each run trains for its whole second
@pytest.mark.parametrize("max_time", ["00:00:00:01", "{seconds:1}"])
def test_max_time_as_a_string_or_a_mapping_ends_the_run_and_tests_it(make_config, max_time):
    """Both forms Lightning documents for `trainer.max_time`; the mapping reached Lightning's
    Timer as a config node it could not read ("Missing key total_seconds")."""
    cfg = make_config(*FAST_FLAT, "trainer.max_epochs=100000", f"trainer.max_time={max_time}")
    metrics = train(cfg)
    with open(Path(cfg.paths.output_dir) / "csv" / "metrics.csv") as rows:
        last_epoch = max(int(row["epoch"]) for row in csv.DictReader(rows) if row["epoch"])
    assert 1 <= last_epoch < 100000 - 1
    assert "test/acc" in metrics
