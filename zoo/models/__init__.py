"""Model builders, one file per family. Importing this package registers every builder.

Model files import torch only: never Lightning or Hydra.
"""

from zoo.models.lenet import LeNet5, lenet5
from zoo.models.mlp import MLP, mlp

__all__ = ["MLP", "LeNet5", "lenet5", "mlp"]
