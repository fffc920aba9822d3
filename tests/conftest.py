"""Shared fixtures: Hydra configs composed the way train.py composes them."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path

# As train.py: idle OpenMP threads sleep rather than spin (set before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from zoo.config.checks import register_resolvers

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"

# Quiet and quick: no progress bar or model summary in tests (nor curves.png).
QUIET_CALLBACKS = ("rich_progress_bar", "model_summary")

torch.set_num_threads(min(2, os.cpu_count() or 1))


def compose_config(overrides: list[str], output_dir: Path, *, quiet: bool = True) -> DictConfig:
    """Compose configs/train.yaml with ``overrides`` as ``python train.py`` would, writing
    the run into ``output_dir``."""
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.root_dir = str(REPO_ROOT)
        cfg.paths.log_dir = str(output_dir)
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.data_dir = str(output_dir / "data")
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
        if quiet and not any(o.startswith("curves=") for o in overrides):
            cfg.curves = False  # matplotlib's import and a drawing: ~1 s per run
        if quiet and cfg.get("callbacks"):
            for name in QUIET_CALLBACKS:
                cfg.callbacks.pop(name, None)
    HydraConfig().set_config(cfg)
    return cfg


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_config(*overrides)``: a composed config whose run folder is under tmp_path."""

    def make(*overrides: str, quiet: bool = True, name: str = "run") -> DictConfig:
        return compose_config(list(overrides), tmp_path / name, quiet=quiet)

    yield make
    GlobalHydra.instance().clear()


# The digit the shared autoencoder run holds out of training and validation (its anomalies).
AUTOENCODER_HOLDOUT = 3


@pytest.fixture(scope="session")
def autoencoder_run(tmp_path_factory) -> Path:
    """A finished one-epoch autoencoder run (results.json + model/; a 2-D code, digit
    AUTOENCODER_HOLDOUT held out), trained once for the whole session. Tests that change its
    files change a copy."""
    from zoo.training.run import train

    folder = tmp_path_factory.mktemp("autoencoder") / "run"
    cfg = compose_config(
        [
            "model=autoencoder",
            "model.hidden_sizes=[32]",
            "model.latent_dim=2",
            "task=autoencoder",
            "trainer.max_epochs=1",
            f"data.holdout_classes=[{AUTOENCODER_HOLDOUT}]",
            "logger=none",
        ],
        folder,
    )
    try:
        train(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert (folder / "results.json").is_file() and (folder / "model").is_dir()
    return folder


def named(*fragments: str) -> str:
    """A pattern (for ``pytest.raises(..., match=named(...))``) that finds every fragment (a
    key, a value, a file), in any order, each as a whole token: not inside a longer name or
    number (``optimizer.lr`` is not named by ``optimizer.lrr``, ``3`` not by ``32``). Tests
    assert what a message names, never its whole wording, so that the wording can improve
    without editing them."""
    return "^" + "".join(
        rf"(?=[\s\S]*(?<![\w.]){re.escape(fragment)}(?!\w|\.\w))" for fragment in fragments
    )


def names(line: str, *fragments: str) -> bool:
    """Whether ``line`` names every fragment (:func:`named`)."""
    return re.search(named(*fragments), line) is not None


@pytest.fixture
def refusal(make_config, monkeypatch) -> Callable[..., str]:
    """``refusal(*overrides)``: the one line ``python train.py *overrides`` refuses with
    (train.py prints it after ``error:`` and exits 2), found in-process as train.py finds it:
    its command-line check, then the config composed once and ``zoo.training.run.train``. The
    test fails if the overrides are accepted, or if Lightning's Trainer is built (the devices
    printed, training begun) before the refusal."""
    import lightning as L
    from omegaconf.errors import InterpolationResolutionError

    from zoo.config.command_line import check_command_line
    from zoo.errors import ZooError, one_line
    from zoo.training.run import train

    built = []  # the guard's call, should a refusal wrap its AssertionError

    # wraps: the trainer's keys are checked against its __init__'s signature, which stays
    @functools.wraps(L.Trainer.__init__)
    def no_trainer(*args, **kwargs):
        built.append(True)
        raise AssertionError("the trainer was built before the mistake was refused")

    def refuse(*overrides: str) -> str:
        try:
            check_command_line(list(overrides), CONFIG_DIR)
        except ZooError as error:  # before Hydra composes anything
            return str(error)
        cfg = make_config(*overrides, quiet=False)
        monkeypatch.setattr(L.Trainer, "__init__", no_trainer)
        with pytest.raises((ZooError, InterpolationResolutionError)) as refused:
            train(cfg)
        assert not built, "the trainer was built before the mistake was refused"
        assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()
        return one_line(refused.value)

    return refuse


def run_train_in_process(monkeypatch, argv: list[str], cwd: Path, capsys) -> tuple[int, str]:
    """``python train.py *argv`` run in this process from ``cwd`` until it exits: its exit
    code and stderr. train.py's own Ctrl-C and SIGTERM handlers are put back afterwards."""
    import runpy
    import signal
    import sys

    monkeypatch.chdir(cwd)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.setattr(sys, "argv", ["train.py", *argv])
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(SystemExit) as stop:
            runpy.run_path(str(REPO_ROOT / "train.py"), run_name="__main__")
    finally:  # train.py's own handlers end the process on Ctrl-C
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return stop.value.code, capsys.readouterr().err
