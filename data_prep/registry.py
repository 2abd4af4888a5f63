"""The six converters by name, and :func:`convert`, the entry point for the benchmark runner."""

from __future__ import annotations

from pathlib import Path

from data_prep import aapd, gaic, goemotions, reuters, rmsc, toxic
from data_prep.base import Converter
from data_prep.canonical import ConversionError

#: name -> converter, in the order of the paper's Table 1.
CONVERTERS: dict[str, Converter] = {
    module.CONVERTER.name: module.CONVERTER
    for module in (gaic, aapd, reuters, rmsc, goemotions, toxic)
}


def get_converter(name: str) -> Converter:
    """The converter called ``name``, or a ConversionError listing the known names."""
    try:
        return CONVERTERS[name]
    except KeyError:
        raise ConversionError(
            f"unknown data set {name!r}; expected one of {', '.join(CONVERTERS)}"
        ) from None


def convert(
    name: str,
    raw_dir: Path | str,
    out_dir: Path | str,
    split: str | None = None,
    seed: int | None = None,
    allow_nonstandard: bool = False,
) -> Path:
    """Convert data set ``name`` from ``raw_dir`` into ``out_dir/<name>/``; return that folder.

    Raw files that differ from the public release are refused unless ``allow_nonstandard``
    (then meta.json's "nonstandard" says how they differ).
    """
    return get_converter(name).convert(
        raw_dir, out_dir, split=split, seed=seed, allow_nonstandard=allow_nonstandard
    )
