"""zoo: a PyTorch reference model zoo for the deep-learning primer.

The public API. Importing ``zoo`` imports nothing heavy: the names below load on first use
(PEP 562), with every registered model, and import torch only (never Lightning or Hydra).
That keeps ``python train.py``'s check of a misspelled option or key to a second, before
torch is imported.

>>> from zoo import create_model, list_models
>>> model = create_model("lenet5", num_classes=10)
"""

from __future__ import annotations

import importlib
from typing import Any

from zoo.errors import ZooError

__version__ = "0.1.0"

#: each public name and the module that defines it
_PUBLIC = {
    "create_model": "zoo.models",
    "get_model_info": "zoo.models",
    "list_models": "zoo.models",
    "register_model": "zoo.models",
    "model_info": "zoo.apps.info",
    "load_pretrained": "zoo.models.pretrained",
    "load_checkpoint": "zoo.models.pretrained",
    "save_pretrained": "zoo.weights",
}

__all__ = ["ZooError", *sorted(_PUBLIC)]


def __getattr__(name: str) -> Any:
    if name == "models":
        return importlib.import_module("zoo.models")
    if name not in _PUBLIC:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC, "models"})
