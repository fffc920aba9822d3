"""train.py's command line checked before Hydra (zoo.config.command_line): a misspelled option or
key is one line with the closest spelling, and only what Hydra itself refuses is refused
(Hydra's composition is the reference both ways)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import compose_config, named, names

from zoo import ZooError
from zoo.config.command_line import check_command_line

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = REPO_ROOT / "configs"


def hydra_refuses(overrides: list[str], tmp_path: Path) -> bool:
    try:
        compose_config(overrides, tmp_path)
    except Exception:  # ConfigCompositionException, or a ValueError for group=null
        return True
    return False


# Each row: the override(s), then what the one line must name (the bad key or value, and the
# closest spelling where there is one), never its wording.
@pytest.mark.parametrize(
    "arguments, fragments",
    [
        (["model=vea"], ("vea", "model=vae")),
        (["model=VAE"], ("VAE", "model=vae")),
        (["model="], ("model", "lenet5", "mlp")),  # no value: the options listed
        (["augmentation=[rotat,flip]"], ("rotat", "augmentation")),
        (["+callbacks=[default,precise_bnn]"], ("precise_bnn", "callbacks")),
        (["experiment=nothing_like_it"], ("nothing_like_it", "experiment")),
        (["scheduler=null"], ("scheduler=null",)),
        (["experiment=null"], ("experiment=null",)),
        (["modle=vae"], ("modle", "model")),
        (["trainer.max_epoch=5"], ("trainer.max_epoch", "trainer.max_epochs")),
        (["trainr.max_epochs=3"], ("trainr", "trainer")),
        (["lr=0.1"], ("lr", "optimizer.lr")),
        (["optimizer.weight_decay=0.1"], ("optimizer.weight_decay",)),
        (["epochs=3"], ("epochs", "trainer.max_epochs")),
        (["~trainer.max_epoch"], ("trainer.max_epoch", "trainer.max_epochs")),
        (["~modle"], ("modle", "model")),
        (["optimizer.lr=0.01,0.02"], ("optimizer.lr=0.01,0.02", "-m")),
        (["augmentation=rotate,flip"], ("augmentation=rotate,flip", "-m")),
        (["optimizer={a:1}"], ("optimizer.a", "optimizer=adam", "lr")),
        (["trainer={max_epoch:3}"], ("trainer.max_epoch", "trainer.max_epochs")),
        (
            ["callbacks={early_stopping:{patiense:2}}"],
            ("callbacks.early_stopping.patiense", "callbacks.early_stopping.patience"),
        ),
        (["~model=mpl"], ("mpl", "model=mlp")),
        (
            ["model=mlp", "model.hidden_size=10"],
            ("model.hidden_size", "model.hidden_sizes", "model=mlp"),
        ),
        (["model.hidden_sizes=[10]"], ("model.hidden_sizes",)),
        (
            ["experiment=lstm_digits_rows", "model.hidden_sizes=[3]"],
            ("model.hidden_sizes", "model.hidden_size", "model=lstm"),
        ),
        (["data=text", "data.image_size=3"], ("data.image_size",)),
        (
            ["optimizer=sgd", "optimizer.momentum=0.9"],
            ("optimizer.momentum", "optimizer=sgd", "lr"),
        ),
        (
            ["callbacks=none", "callbacks.model_checkpoint.save_last=false"],
            ("callbacks.model_checkpoint", "callbacks=none"),
        ),
        (
            ["callbacks.model_checkpoint.save_lst=true"],
            ("callbacks.model_checkpoint.save_lst", "callbacks.model_checkpoint.save_last"),
        ),
    ],
)
def test_a_misspelling_hydra_refuses_is_one_line(arguments, fragments, tmp_path):
    with pytest.raises(ZooError, match=named(*fragments)) as caught:
        check_command_line(arguments, CONFIGS)
    assert "\n" not in str(caught.value)
    assert hydra_refuses(arguments, tmp_path)


@pytest.mark.parametrize(
    "arguments",
    [
        ["trainer.max_epochs", "5"],  # a space for the '='
        ["ckpt_path=csv/checkpoints/epoch=0-step=20.ckpt"],  # an unquoted '=' in the value
        ["model=[unclosed"],
    ],
)
def test_an_override_hydra_cannot_read_is_one_line_saying_how_to_write_it(arguments, tmp_path):
    with pytest.raises(ZooError, match=named(repr(arguments[0]), "key=value")):
        check_command_line(arguments, CONFIGS)
    assert hydra_refuses(arguments, tmp_path)


@pytest.mark.parametrize(
    "arguments, fragments",
    [
        (["-m", "optimizer=sgd,adamm"], ("adamm", "optimizer=adam")),
        (["-m", "model=choice(lenet5,vea)"], ("vea", "model=vae")),
        # Hydra adds the key; train.py refuses it after composing, without naming the group
        (["+experimnt=lenet5_digits"], ("experimnt", "experiment")),
    ],
)
def test_sweeps_and_added_keys_are_checked_too(arguments, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        check_command_line(arguments, CONFIGS)


@pytest.mark.parametrize(
    "arguments",
    [
        ["model=resnet18", "augmentation=[rotate,crop]", "regularization=[l2,dropout]"],
        ["model='vae'", "experiment='lenet5_digits'"],
        ['model="vae"', "augmentation=['rotate','flip']"],
        ["model=vae.yaml"],
        ["optimizer.betas.0=0.8", "tags.0=x", "tags=[a,'b,c']"],
        ["+trainer.accumulate_grad_batches=2", "trainer.accumulate_grad_batches=4"],
        ["++trainer.new_flag=1", "trainer.new_flag=2"],
        [
            "~logger",
            "~scheduler",
            "~experiment",
            "ckpt_path=",
            "data=arrays",
            "data.path='a=b,c[1].csv'",
        ],
        ["hydra.run.dir=/tmp/x", "hydra/job_logging=disabled"],
        ["trainer={max_epochs:3}", "regularization={weight_decay:0.0005,dropout:0.2}"],
        ["model=${oc.env:ZOO_UNSET_VARIABLE,mlp}", "data=digits_flat"],
        [
            "+callbacks.timer={_target_:lightning.pytorch.callbacks.Timer,duration:'00:01:00:00'}",
            "callbacks.timer.duration=00:00:30:00",
        ],
    ],
)
def test_what_hydra_accepts_passes(arguments, tmp_path):
    check_command_line(arguments, CONFIGS)
    assert not hydra_refuses(arguments, tmp_path)


@pytest.mark.parametrize(
    "arguments",
    [
        ["-m", "optimizer=sgd,adam", "optimizer.lr=range(0.1,0.3,0.1)", "model=glob(lenet*)"],
        ["-m", "model=choice(mlp,lenet5)", "trainer.max_epochs=3", "--help"],
        ["-m", "regularization=[l2,dropout],[none]", "augmentation=[rotate],[crop,flip]"],
        ["-m", "regularization=choice([l2],[dropout])", "model=${oc.env:M,mlp},lenet5"],
        ["--info", "plugins", "model=mpl"],  # composes nothing
        ["--version"],
        ["--cfg", "job", "-p", "trainer", "--resolve"],
        ["--config-dir", "/elsewhere", "model=my_own_model"],  # options only Hydra can see
        ["--config-d", "/elsewhere", "model=my_own_model"],  # argparse's prefix of the flag
        ["hydra.searchpath=[file:///elsewhere]", "model=my_own_model"],
        ["-cn", "other", "nothing=1"],
        ["-sc", "install=bash"],  # shell completion
    ],
)
def test_flags_sweeps_and_other_config_sources_are_left_to_hydra(arguments):
    check_command_line(arguments, CONFIGS)


def test_a_misspelled_key_is_refused_before_torch_is_imported():
    # On one core the check runs in train.py's own process, before its imports (with more,
    # it runs beside them: test_train_py_refuses_in_one_line_whenever_...)
    code = (
        "import os, runpy, sys; sys.argv = ['train.py', 'trainer.max_epoch=5']\n"
        "if hasattr(os, 'sched_setaffinity'):\n"
        "    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n"
        "try:\n"
        f"    runpy.run_path({str(REPO_ROOT / 'train.py')!r}, run_name='__main__')\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 2, stop.code\n"
        "assert 'torch' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("error: ") and names(result.stderr, "trainer.max_epoch")


@pytest.mark.parametrize("task_name", ["../../elsewhere", "a/b", "''", "."])
def test_a_task_name_that_is_not_a_plain_name_is_refused(task_name):
    """task_name is part of the run folder's name, which Hydra creates before train.py reads
    the config: ``task_name=../../x`` would put the run outside outputs/runs/."""
    value = "" if task_name == "''" else task_name  # as Hydra reads it
    with pytest.raises(ZooError, match=named(f"task_name={value!r}", "task_name=lenet_sweep")):
        check_command_line([f"task_name={task_name}"], CONFIGS)
    check_command_line(["task_name=lenet_sweep"], CONFIGS)


@pytest.mark.parametrize("key", ["hydra.run.dir", "hydra.sweep.dir"])
def test_a_run_folder_that_cannot_be_written_is_refused(key, tmp_path):
    """Hydra creates the run folder before train.py starts and fails with a traceback where
    it cannot: under a file, or on a file system without room for folders (/proc)."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    for folder in (a_file / "run", Path("/proc/zoo_run")):
        with pytest.raises(ZooError, match=named(f"{key}={folder}")):
            check_command_line([f"{key}={folder}"], CONFIGS)
    # a folder that can be made passes, and the check leaves nothing behind
    check_command_line([f"{key}={tmp_path / 'new' / 'run'}"], CONFIGS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    existing = tmp_path / "existing"
    existing.mkdir()
    check_command_line([f"{key}={existing}", "hydra.job.chdir=false"], CONFIGS)
    assert list(existing.iterdir()) == []


@pytest.mark.parametrize("key", ["paths.root_dir", "paths.log_dir", "paths.data_dir"])
def test_a_paths_folder_that_is_a_file_is_refused(key, tmp_path):
    """Runs and data go under the paths folders: a file there (or above) is Hydra's or
    torchvision's traceback later. A folder that does not exist yet is made when needed."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    for value in (a_file, a_file / "below"):
        with pytest.raises(ZooError, match=named(f"{key}={value}", f"'{a_file}'", "file")):
            check_command_line([f"{key}={value}"], CONFIGS)
    check_command_line([f"{key}={tmp_path / 'new'}"], CONFIGS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("key", ["paths.root_dir", "paths.log_dir"])
def test_a_folder_for_runs_that_cannot_be_written_is_refused(key, tmp_path):
    """Runs go under paths.log_dir (paths.root_dir/outputs unless set): Hydra's traceback
    where no folder can be made. Data under a read-only paths.data_dir may be there already,
    and paths.root_dir is not written when paths.log_dir is set beside it."""
    with pytest.raises(ZooError, match=named(f"{key}=/proc/zoo")):
        check_command_line([f"{key}=/proc/zoo"], CONFIGS)
    check_command_line(["paths.data_dir=/proc/zoo"], CONFIGS)
    check_command_line(["paths.root_dir=/proc/zoo", f"paths.log_dir={tmp_path}"], CONFIGS)
    with pytest.raises(ZooError, match=named(key, "empty")):
        check_command_line([f"{key}="], CONFIGS)
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_passes_where_it_runs():
    for arguments in (
        ["-m", "optimizer.lr=0.01,0.02"],
        ["--multirun", "augmentation=rotate,flip"],
        ["hydra.mode=MULTIRUN", "optimizer.lr=0.01,0.02"],
        ["regularization=[l2,dropout]", "optimizer.lr=0.01"],
    ):
        check_command_line(arguments, CONFIGS)


def test_sweeper_keys_and_trial_counts_are_checked():
    """Hydra's errors for a misspelled sweeper key are tracebacks, and Optuna's for
    n_trials=0 comes once the sweep has run; both are refused in one line before."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    optuna = ["-m", "hparams_search=optuna"]
    misspelled = ("optuna", "hydra.sweeper.n_trails", "hydra.sweeper.n_trials")
    with pytest.raises(ZooError, match=named(*misspelled)):
        check_command_line([*optuna, "hydra.sweeper.n_trails=5"], CONFIGS)
    for bad in ("0", "-3", "abc", "2.5"):
        with pytest.raises(ZooError, match=named(f"hydra.sweeper.n_trials={bad}", "1")):
            check_command_line([*optuna, f"hydra.sweeper.n_trials={bad}"], CONFIGS)
    check_command_line(
        [*optuna, "hydra.sweeper.n_trials=5", "hydra.sweeper.sampler.seed=3"], CONFIGS
    )
    # without hparams_search the basic sweeper runs, which has no trials
    with pytest.raises(ZooError, match=named("hydra.sweeper.n_trials", "basic", "max_batch_size")):
        check_command_line(["-m", "hydra.sweeper.n_trials=5"], CONFIGS)
    check_command_line(["-m", "hydra.sweeper.max_batch_size=2", "seed=1,2"], CONFIGS)


@pytest.mark.parametrize("value", ["", "null", "''"])
def test_an_empty_run_folder_is_refused(value):
    """An empty hydra.run.dir would make the current folder (the repository) the run's."""
    with pytest.raises(ZooError, match=named("hydra.run.dir", "empty")):
        check_command_line([f"hydra.run.dir={value}"], CONFIGS)


@pytest.mark.parametrize(
    "arguments",
    [
        ["experiment=char_gpt", "+trainer.limit_train_batches=20"],  # the experiment sets it
        # Hydra's own refusal is a process of its own each (2 s): two more with -m slow
        pytest.param(["+trainer.max_epochs=3"], marks=pytest.mark.slow),
        pytest.param(["model=mlp", "+model.num_classes=3"], marks=pytest.mark.slow),
    ],
)
def test_adding_a_key_the_config_has_is_refused_as_hydra_does(arguments, tmp_path):
    """'+key' adds a new key; Hydra refuses one the composed config already has in five
    lines, six seconds in. Here it is one line with the override to use instead."""
    added = arguments[-1]
    with pytest.raises(ZooError, match=named(added)) as refused:
        check_command_line(arguments, CONFIGS)
    # besides the refused override, the override to use instead: the same without the '+'
    assert names(str(refused.value).replace(added, ""), added[1:]), refused.value
    assert hydra_refuses(arguments, tmp_path)
    plain = [*arguments[:-1], arguments[-1][1:]]
    check_command_line(plain, CONFIGS)
    assert not hydra_refuses(plain, tmp_path)
    # Hydra adds a key the config does not have or has as null, and merges a list or dict
    for added in (
        ["+trainer.limit_train_batches=20"],
        ["+model.activation=relu"],
        ["model=mlp", "+model.hidden_sizes=[8]"],
    ):
        check_command_line(added, CONFIGS)
        assert not hydra_refuses(added, tmp_path)


# -- the check beside train.py's imports (start_command_line_check) ---------------------------

# A process as train.py's start: the check started, then a long "import", then the wait for
# its verdict. ``lost`` makes the forked check end without a verdict (an error it
# does not word), so that the caller must check again itself.
BESIDE_SCRIPT = """
import os, sys, time, threading
from pathlib import Path
from zoo.config import command_line
from zoo.errors import ZooError

arguments, lost = sys.argv[2:], sys.argv[1] == "lost"
original, caller = command_line.check_command_line, os.getpid()

def check(*args):
    if lost and os.getpid() != caller:
        raise RuntimeError("not a refusal")
    return original(*args)

command_line.check_command_line = check
started = time.monotonic()
print("forks", command_line._can_fork(), flush=True)
try:
    wait = command_line.start_command_line_check(
        arguments, Path(CONFIGS), lambda error: print(f"error: {error}", file=sys.stderr)
    )
    # train.py's imports of torch and Lightning, as code that swallows every exception (as
    # numpy's import machinery can): the refusal must end the process all the same
    while not lost and time.monotonic() - started < 20:
        try:
            time.sleep(0.01)
        except BaseException:
            pass
    wait()
except ZooError as error:
    print(f"error (here): {error}", file=sys.stderr)
    sys.exit(3)
print("accepted after", round(time.monotonic() - started, 1), "threads", threading.active_count())
"""


def run_beside(*arguments: str, lost: bool = False) -> subprocess.CompletedProcess:
    script = BESIDE_SCRIPT.replace("CONFIGS", repr(str(CONFIGS)))
    return subprocess.run(
        [sys.executable, "-c", script, "lost" if lost else "found", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="the check forks on Linux only")
def test_a_refusal_beside_the_imports_ends_the_run_at_once_in_one_line() -> None:
    started = time.monotonic()
    result = run_beside("model=vea")
    assert result.stdout.startswith("forks True")  # no torch loaded: the check was forked
    assert result.returncode == 2
    assert time.monotonic() - started < 15  # not after the 20 s "imports"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and names(lines[0], "vea", "model=vae"), result.stderr
    assert "accepted" not in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the check forks on Linux only")
def test_train_py_refuses_in_one_line_whenever_the_refusal_lands_in_its_imports(tmp_path) -> None:
    # The refusal reaches train.py at some point of its torch and Lightning imports, a
    # different one each run; each run must still end in the one line, with status 2.
    for _ in range(6):
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "train.py"), "trainer.max_epoch=3"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, result.stderr
        assert len(lines) == 1 and names(lines[0], "trainer.max_epoch", "trainer.max_epochs")
    assert not (tmp_path / "outputs").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="the check forks on Linux only")
def test_a_command_line_accepted_beside_the_imports_goes_on() -> None:
    result = subprocess.run(  # the same script, without the 20 s: accepted, one thread left
        [
            sys.executable,
            "-c",
            BESIDE_SCRIPT.replace("CONFIGS", repr(str(CONFIGS))).replace("< 20:", "< 0:"),
            "found",
            "model=mlp",
            "trainer.max_epochs=2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "accepted after" in result.stdout and result.stdout.rstrip().endswith("threads 1")
    assert result.stderr == ""


@pytest.mark.skipif(sys.platform != "linux", reason="the check forks on Linux only")
def test_a_forked_check_without_a_verdict_is_run_again_by_the_caller() -> None:
    result = run_beside("model=vea", lost=True)
    assert result.returncode == 3  # the caller's own check raised the refusal
    assert names(result.stderr, "vea", "model=vae") and "error (here)" in result.stderr
    assert run_beside("model=mlp", lost=True).returncode == 0


def test_with_torch_loaded_the_check_runs_in_the_caller_before_returning() -> None:
    import torch  # noqa: F401  (loaded: no fork)

    from zoo.config.command_line import start_command_line_check

    reported: list[ZooError] = []
    with pytest.raises(ZooError, match=named("vea", "model=vae")):
        start_command_line_check(["model=vea"], CONFIGS, reported.append)
    assert reported == []  # the caller reports what it raises
    start_command_line_check(["model=mlp"], CONFIGS, reported.append)()
