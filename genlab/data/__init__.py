"""Datasets by kind; importing this package registers them all."""

from genlab.data import images, points, sequences, text  # noqa: F401  (registration)
from genlab.data.base import (
    DATASETS,
    KINDS,
    Dataset,
    DatasetInfo,
    DataSpec,
    dataset_info,
    load_dataset,
)

__all__ = [
    "DATASETS",
    "KINDS",
    "DataSpec",
    "Dataset",
    "DatasetInfo",
    "dataset_info",
    "load_dataset",
]
