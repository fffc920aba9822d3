"""LightningDataModules, one file per data family, on a tensor-resident base."""

from zoo.data.base import LoadedData, TensorDataModule
from zoo.data.digits import DigitsDataModule
from zoo.data.loader import TensorBatchLoader
from zoo.data.normalize import Standardize

__all__ = ["DigitsDataModule", "LoadedData", "Standardize", "TensorBatchLoader", "TensorDataModule"]
