"""Converters of the paper's six data sets into the suite's canonical format.

Use ``python -m data_prep --help``, or from Python::

    from data_prep import convert, DATASETS
    folder = convert("reuters", "raw/reuters", "data")   # -> data/reuters
"""

from data_prep.canonical import ConversionError, Record, write_dataset
from data_prep.registry import DATASETS, convert, get_dataset

__all__ = ["DATASETS", "ConversionError", "Record", "convert", "get_dataset", "write_dataset"]
