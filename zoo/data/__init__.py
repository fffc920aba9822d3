"""LightningDataModules, one file per data family, on a tensor-resident base."""

from zoo.data.arrays import ArrayDataModule
from zoo.data.base import LoadedData, TensorDataModule
from zoo.data.cifar import CIFAR10DataModule, CIFAR100DataModule
from zoo.data.digits import DigitsDataModule
from zoo.data.image_folder import ImageFolderDataModule
from zoo.data.loader import TensorBatchLoader
from zoo.data.mnist import FashionMNISTDataModule, MNISTDataModule
from zoo.data.mnist1d import MNIST1DDataModule
from zoo.data.normalize import Standardize
from zoo.data.sequences import (
    AddingProblemDataModule,
    CopyTaskDataModule,
    CSVSeriesDataModule,
    ForecastDataModule,
    SineDataModule,
    SunspotsDataModule,
)
from zoo.data.text import CharTextDataModule, CharVocabulary

__all__ = [
    "AddingProblemDataModule",
    "ArrayDataModule",
    "CIFAR10DataModule",
    "CIFAR100DataModule",
    "CSVSeriesDataModule",
    "CharTextDataModule",
    "CharVocabulary",
    "CopyTaskDataModule",
    "DigitsDataModule",
    "FashionMNISTDataModule",
    "ForecastDataModule",
    "ImageFolderDataModule",
    "LoadedData",
    "MNIST1DDataModule",
    "MNISTDataModule",
    "SineDataModule",
    "Standardize",
    "SunspotsDataModule",
    "TensorBatchLoader",
    "TensorDataModule",
]
