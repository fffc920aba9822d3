"""One folder, one run: a run refused because another train.py holds its folder removes
nothing of that folder (not its lock, not Hydra's record, not its log), so a third run is
refused too, and the first run finishes with its own results."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zoo import ZooError
from zoo.training.run_folder import LOCK_NAME, discard_if_unused, hold_run_folder

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
            with pytest.raises(ZooError, match=str(holder.pid)), hold_run_folder(folder):
                pass
            discard_if_unused(folder)  # what train.py does after a refusal
            assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
            assert (folder / LOCK_NAME).read_text().strip() == str(holder.pid)
    finally:
        holder.stdin.close()
        holder.wait()
    discard_if_unused(folder)  # the holder has ended: an unused folder goes
    assert not folder.exists()


def test_a_folder_with_results_is_never_discarded(tmp_path):
    folder = tmp_path / "run"
    started_run_folder(folder)
    (folder / "results.json").write_text("{}")
    discard_if_unused(folder)
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
        with pytest.raises(ZooError, match="in use"), hold_run_folder(folder):
            pass
    finally:
        holders[0].stdin.close()
        holders[0].wait()


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
