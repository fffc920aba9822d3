"""The loggers that need a package of their own, and W&B kept offline.

``logger=tensorboard``, ``logger=mlflow`` and ``logger=wandb`` write through Lightning's
loggers, each needing a package the zoo makes an optional extra (``pip install -e
".[mlflow]"``). :func:`check_logger_packages` refuses a run whose logger's package is missing in
one line naming the extra, before any work (Lightning's own error came as a traceback once the
model was built). :class:`OfflineWandbLogger` is Lightning's ``WandbLogger`` that, offline (its
default), sets ``WANDB_MODE=offline`` before wandb starts, so that nothing in wandb contacts a
server: the run is written under the run folder, to upload later with ``wandb sync``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig

from zoo.errors import ZooError

# A logger class (by name, its subclasses' too) → the packages it can write with (any one of
# them) and the extra of pyproject.toml that installs the first.
LOGGER_PACKAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "MLFlowLogger": (("mlflow",), "mlflow"),
    "WandbLogger": (("wandb",), "wandb"),
    "OfflineWandbLogger": (("wandb",), "wandb"),
    "TensorBoardLogger": (("tensorboard", "tensorboardX"), "tensorboard"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        return False


def check_logger_packages(loggers: DictConfig | None) -> None:
    """Refuse a configured logger whose package is not installed, naming the extra."""
    for name, spec in (loggers or {}).items():
        if spec is None or "_target_" not in spec:
            continue
        needed = LOGGER_PACKAGES.get(str(spec._target_).rsplit(".", 1)[-1])
        if needed is None:
            continue
        modules, extra = needed
        if not any(_installed(module) for module in modules):
            raise ZooError(
                f"logger.{name} needs the {modules[0]} package, which is not installed: "
                f'pip install -e ".[{extra}]" (or pip install {modules[0]}), or choose another '
                "logger (logger=csv)."
            )


class OfflineWandbLogger(WandbLogger):
    """Lightning's ``WandbLogger``, offline unless ``offline=false``: ``WANDB_MODE=offline`` is
    set for wandb's own process too, so no call reaches a server (no login, no upload)."""

    def __init__(self, *args: Any, offline: bool = True, **kwargs: Any) -> None:
        if offline:
            os.environ["WANDB_MODE"] = "offline"
        super().__init__(*args, offline=offline, **kwargs)
