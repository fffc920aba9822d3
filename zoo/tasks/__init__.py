"""LightningModules, one file per task kind, generic over the registry's models.

Each task kind is a :class:`ZooTask` subclass in its own module, named by its config in
configs/task/ (``_target_: zoo.tasks.classification.ClassificationTask``); nothing here lists
them, so a new task kind is one module plus one config.
"""

from zoo.tasks.base import ZooTask

__all__ = ["ZooTask"]
