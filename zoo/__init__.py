"""zoo: a PyTorch reference model zoo for the deep-learning primer.

The public API. Importing ``zoo`` imports torch only: never Lightning or Hydra.

>>> from zoo import create_model, list_models
>>> model = create_model("lenet5", num_classes=10)
"""

# Importing the model files registers every builder; importing zoo.weights installs the
# loader the registry's builders call for ``weights=...``.
from zoo import models  # noqa: F401
from zoo.errors import ZooError
from zoo.info import model_info
from zoo.registry import create_model, get_model_info, list_models, register_model
from zoo.weights import load_pretrained, save_pretrained

__version__ = "0.1.0"

__all__ = [
    "ZooError",
    "create_model",
    "get_model_info",
    "list_models",
    "load_pretrained",
    "model_info",
    "register_model",
    "save_pretrained",
]
