"""One folder, one run: a run refused because another train.py holds its folder removes
nothing of that folder (not its lock, not Hydra's record, not its log), so a third run is
refused too, and the first run finishes with its own results. A refused run removes only what
it made; a folder holding a finished run, a link, or held by another run (the checkpoint folder
set outside the run folder too) is refused; and a checkpoint, crafted or moved, names no file
outside its checkpoint folder for a resume to remove or copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import named, names

from zoo import ZooError
from zoo.config.command_line import check_command_line
from zoo.training.run import train
from zoo.training.run_folder import (
    LOCK_NAME,
    discard_if_unused,
    existing_entries,
    hold_run_folder,
)
from zoo.training.stopping import interruption
from zoo.weights import with_checkpoint_digest

REPO_ROOT = Path(__file__).resolve().parents[1]

HOLD = """
import sys, time
from pathlib import Path
from zoo.training.run_folder import hold_run_folder
with hold_run_folder(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our input
"""


def started_run_folder(folder: Path) -> None:
    """What a run holding ``folder`` has written before its first checkpoint."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text("seed: 1\n")
    (folder / "train.log").write_text("")
    (folder / "csv").mkdir()


def test_a_run_refused_for_a_held_folder_removes_nothing(tmp_path):
    folder = tmp_path / "run"
    started_run_folder(folder)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
        for _ in range(2):  # the second run, then a third started right after its refusal
            with (
                pytest.raises(ZooError, match=named(repr(str(folder)), f"pid {holder.pid}")),
                hold_run_folder(folder),
            ):
                pass
            discard_if_unused(folder, frozenset())  # what train.py does after a refusal
            assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
            assert (folder / LOCK_NAME).read_text().strip() == str(holder.pid)
    finally:
        holder.stdin.close()
        holder.wait()
    discard_if_unused(folder, frozenset())  # the holder has ended: an unused folder goes
    assert not folder.exists()


def test_a_folder_with_results_is_never_discarded(tmp_path):
    folder = tmp_path / "run"
    started_run_folder(folder)
    (folder / "results.json").write_text("{}")
    discard_if_unused(folder, existing_entries(folder))
    assert (folder / "results.json").is_file() and (folder / ".hydra").is_dir()


def test_a_lock_file_replaced_before_it_is_locked_is_opened_anew(tmp_path, monkeypatch):
    """A run that opened the lock file just before another run's clean-up replaced it would
    lock the removed file and share the folder with whoever locks the new one: the lock is
    taken on the file the folder holds after locking."""
    import fcntl

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / LOCK_NAME).write_text("")
    real_flock = fcntl.flock
    holders = []

    def replaced_meanwhile(handle, operation):
        if not holders:  # between our open and our lock: a new file, held by another run
            (folder / LOCK_NAME).unlink()
            holders.append(
                subprocess.Popen(
                    [sys.executable, "-c", HOLD, str(folder)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            assert holders[0].stdout.readline().strip() == "held"
        return real_flock(handle, operation)

    monkeypatch.setattr(fcntl, "flock", replaced_meanwhile)
    try:
        with pytest.raises(ZooError) as refused, hold_run_folder(folder):
            pass
        assert names(str(refused.value), repr(str(folder)), f"pid {holders[0].pid}"), refused.value
    finally:
        holders[0].stdin.close()
        holders[0].wait()


def test_a_refused_run_removes_only_what_it_made_in_a_users_folder(tmp_path):
    """hydra.run.dir="/tmp/my logs", a folder of the user's holding only logs: the refused
    run's own log and lock go, the user's files and the folder stay."""
    folder = tmp_path / "my logs"
    folder.mkdir()
    (folder / "app.log").write_text("the user's log\n")
    (folder / "train.log").write_text("")  # Hydra's log of this job, made as it started
    existed = existing_entries(folder)
    with hold_run_folder(folder):  # the run's lock file
        (folder / "train.log").write_text("error: ...\n")
    discard_if_unused(folder, existed)
    assert sorted(p.name for p in folder.iterdir()) == ["app.log"]
    assert (folder / "app.log").read_text() == "the user's log\n"


@pytest.mark.parametrize("link", [LOCK_NAME, "csv/metrics.csv", "checkpoints/.last.ckpt.partial"])
def test_a_link_in_a_run_folder_is_refused_and_its_target_untouched(tmp_path, link):
    """A shared run folder with a planted link: the run would write (its pid, its metrics,
    a checkpoint) through it into the file it points to."""
    target = tmp_path / "victim.txt"
    target.write_text("precious\n")
    folder = tmp_path / "run"
    (folder / link).parent.mkdir(parents=True, exist_ok=True)
    (folder / link).symlink_to(target)
    existed = existing_entries(folder)  # as train.py takes them when it starts
    with (
        pytest.raises(ZooError, match=named(repr(str(folder / link)), repr(str(target)))),
        hold_run_folder(folder),
    ):
        pass
    discard_if_unused(folder, existed)
    assert target.read_text() == "precious\n" and (folder / link).is_symlink()
    assert link == LOCK_NAME or not (folder / LOCK_NAME).exists()  # the refused run's own lock


TINY = [
    "model=mlp",
    "data=digits_flat",
    "trainer.max_epochs=2",
    "+trainer.limit_train_batches=2",
    "callbacks=model_checkpoint",
    "logger=csv",
]


def test_a_new_run_into_a_finished_runs_folder_is_refused(make_config):
    """A finished run kept no checkpoints (or they were removed): its results.json and model/
    would be overwritten without a word."""
    cfg = make_config(*TINY)
    folder = Path(cfg.paths.output_dir)
    folder.mkdir(parents=True)
    (folder / "results.json").write_text('{"metrics": {"test/acc": 0.99}}')
    with pytest.raises(ZooError, match=named(repr(str(folder)), "results.json", "hydra.run.dir")):
        train(cfg)
    assert json.loads((folder / "results.json").read_text())["metrics"]["test/acc"] == 0.99


def test_a_checkpoint_folder_outside_the_run_is_held_and_named_on_interrupt(make_config, tmp_path):
    outside = tmp_path / "elsewhere" / "checkpoints"
    outside.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(outside)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline().strip() == b"held"
        cfg = make_config(*TINY, f"callbacks.model_checkpoint.dirpath={outside}")
        with pytest.raises(ZooError, match=named(repr(str(outside)), f"pid {holder.pid}")):
            train(cfg)
    finally:
        holder.stdin.close()
        holder.wait()
    (outside / "last.ckpt").write_bytes(b"")
    line, code = interruption(cfg, KeyboardInterrupt())
    assert str(outside / "last.ckpt") in line and code == 130


def test_hydras_rerun_of_a_pickle_is_refused(tmp_path):
    pickle = tmp_path / ".hydra" / "config.pickle"
    with pytest.raises(ZooError, match=named(str(pickle), ".hydra/overrides.yaml")):
        check_command_line(["--experimental-rerun", str(pickle)], REPO_ROOT / "configs")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A tiny run's folder (two epochs, its checkpoints kept)."""
    from conftest import compose_config

    folder = tmp_path_factory.mktemp("finished") / "run"
    train(compose_config(TINY, folder))
    return folder


def craft_last_checkpoint(
    run: Path, crafted: Path, change: Callable[[dict], None] | None = None, **state: object
) -> Path:
    """``run``'s last.ckpt with its checkpoint callback's state updated with ``state`` (and
    ``change`` applied to the whole checkpoint), its digest recomputed (it detects damage, not
    tampering), written to ``crafted``."""
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint.pop("zoo_sha256", None)
    (key,) = [k for k in checkpoint["callbacks"] if "Checkpoint" in k]
    checkpoint["callbacks"][key].update(state)
    if change is not None:
        change(checkpoint)
    crafted.parent.mkdir(parents=True, exist_ok=True)
    torch.save(with_checkpoint_digest(checkpoint), crafted)
    return crafted


def _moment_of_another_shape(checkpoint: dict) -> None:
    checkpoint["optimizer_states"][0]["state"][0]["exp_avg"] = torch.zeros(7)


def _scheduler_function_as_text(checkpoint: dict) -> None:
    checkpoint["lr_schedulers"] = [{"lr_lambdas": ["lambda: 1"], "last_epoch": 3}]


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (_moment_of_another_shape, ("exp_avg", "(7,)")),
        (_scheduler_function_as_text, ("lr_schedulers.0.lr_lambdas",)),
    ],
)
def test_a_crafted_optimizer_or_scheduler_state_is_one_line(
    finished_run, make_config, tmp_path, change, fragments
):
    """Optimizer and scheduler states that fail inside torch (a moment of another shape than
    its parameter, a schedule's function recorded as text): one line before a step."""
    last = craft_last_checkpoint(finished_run, tmp_path / "shared" / "last.ckpt", change)
    cfg = make_config(*TINY, "trainer.max_epochs=3", f"ckpt_path={last}", name="resumed")
    with pytest.raises(ZooError, match=named(*fragments)):
        train(cfg)


def test_a_folder_holding_an_exported_model_is_refused(make_config):
    """A folder with a run's exported model/ (results.json gone): a new run would replace it."""
    cfg = make_config(*TINY)
    folder = Path(cfg.paths.output_dir)
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "config.json").write_text("{}")
    with pytest.raises(ZooError, match=named(repr(str(folder)), "model", "hydra.run.dir")):
        train(cfg)
    assert (folder / "model" / "config.json").read_text() == "{}"


def test_a_recorded_data_description_never_downloads():
    """A results.json names the data to rebuild: the zoo's downloading data modules are built
    with downloads off, whatever it records."""
    from zoo.config.recorded import build_recorded
    from zoo.data import MNISTDataModule

    record = {"_target_": "zoo.data.MNISTDataModule", "data_dir": "/elsewhere", "download": True}
    data = build_recorded(record, base=MNISTDataModule, where="results.json config.data")
    assert data.download is False


def test_a_crafted_checkpoint_cannot_make_a_resume_remove_files_outside(
    finished_run, make_config, tmp_path
):
    """best_k_models naming <dirpath>/../../victim: Lightning removes the files it tracks as
    better ones replace them (recursively), and its inside-the-folder check does not
    normalise '..'."""
    victim = tmp_path / "victim_dir"
    (victim / "sub").mkdir(parents=True)
    (victim / "sub" / "data.txt").write_text("precious\n")
    run = tmp_path / "resumed"
    shutil.copytree(finished_run, run)
    (run / "results.json").unlink()
    escaping = str(run / "checkpoints" / ".." / ".." / "victim_dir")
    last = craft_last_checkpoint(
        run,
        run / "checkpoints" / "last.ckpt",
        dirpath=str(run / "checkpoints"),
        best_k_models={escaping: torch.tensor(0.0)},
        kth_best_model_path=escaping,
        best_model_path=escaping,
    )
    cfg = make_config(*TINY, "trainer.max_epochs=3", f"ckpt_path={last}", name="resumed")
    with pytest.raises(ZooError, match=named("model_checkpoint", "best_k_models")):
        train(cfg)
    assert (victim / "sub" / "data.txt").read_text() == "precious\n"


def test_a_crafted_checkpoint_cannot_copy_a_file_into_the_new_run(
    finished_run, make_config, tmp_path
):
    """Resumed into a new folder, the tracked checkpoints are copied from the folder of the
    checkpoint resumed, by name: a path elsewhere brings nothing."""
    secret = tmp_path / "secrets" / "key.ckpt"
    secret.parent.mkdir()
    secret.write_text("a private key\n")
    last = craft_last_checkpoint(
        finished_run,
        tmp_path / "shared" / "checkpoints" / "last.ckpt",
        dirpath=str(secret.parent),
        best_k_models={str(secret): torch.tensor(0.0)},
        best_model_path=str(secret),
        kth_best_model_path=str(secret),
    )
    cfg = make_config(*TINY, "trainer.max_epochs=3", f"ckpt_path={last}", name="new")
    train(cfg)
    written = Path(cfg.paths.output_dir)
    assert not (written / "checkpoints" / "key.ckpt").exists()
    assert secret.read_text() == "a private key\n"


@pytest.mark.slow
def test_three_train_py_started_into_one_folder(tmp_path):
    """End to end, as the probe did: the first run trains; the second and a third started
    after its refusal are refused with exit 2; the first ends with its own results."""
    folder = tmp_path / "run"
    command = [
        sys.executable,
        str(REPO_ROOT / "train.py"),
        f"hydra.run.dir={folder}",
        "trainer.max_epochs=4",
        "callbacks.rich_progress_bar=null",
    ]
    first = subprocess.Popen([*command, "seed=7"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    lock = folder / LOCK_NAME
    while first.poll() is None and not (lock.is_file() and lock.read_text().strip()):
        assert time.time() < deadline
        time.sleep(0.2)
    for seed in (8, 9):
        refused = subprocess.run([*command, f"seed={seed}"], capture_output=True, text=True)
        assert refused.returncode == 2, refused.stderr
        assert "in use by another train.py" in refused.stderr or "already holds" in refused.stderr
        assert (folder / LOCK_NAME).is_file() and (folder / ".hydra").is_dir()
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr[-2000:]
    results = json.loads((folder / "results.json").read_text())
    assert results["config"]["seed"] == 7
