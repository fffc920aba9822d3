"""A run's config composed as ``python train.py`` composes it, for the scripts that call
:func:`zoo.training.run.train` in their own process (several runs, or runs they time from
inside)."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from zoo.config.checks import register_resolvers

REPO_ROOT = Path(__file__).resolve().parents[1]


def compose_run(
    overrides: list[str], run_dir: Path, callbacks: dict[str, type] | None = None
) -> DictConfig:
    """configs/train.yaml composed with ``overrides``, writing into ``run_dir``, with
    ``callbacks`` (name: class) added to the configured ones; Hydra's config is set as
    train.py's would be."""
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO_ROOT / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
        cfg.hydra.runtime.output_dir = str(run_dir)
        cfg.hydra.job.num = 0
        for name, callback in (callbacks or {}).items():
            cfg.callbacks[name] = {"_target_": f"{callback.__module__}.{callback.__name__}"}
    HydraConfig().set_config(cfg)
    return cfg
