"""LightningModules, one per task kind, generic over the registry's models."""

from zoo.tasks.base import ZooTask
from zoo.tasks.classification import ClassificationTask

TASKS: dict[str, type[ZooTask]] = {"classification": ClassificationTask}

__all__ = ["TASKS", "ClassificationTask", "ZooTask"]
