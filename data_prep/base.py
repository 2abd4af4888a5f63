"""What every converter declares (:class:`Converter`) and returns (:class:`Built`).

A converter module only parses its raw files into records and label names; this module
turns that into a canonical data set with a complete meta.json (source, converter
version, the command that reruns it, split rule, seed, sha256 of every raw input), so
provenance is recorded the same way for all six data sets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.canonical import ConversionError, Record, write_dataset


@dataclass
class Built:
    """The result of parsing raw files: the three splits, the label order and provenance."""

    splits: dict[str, list[Record]]
    labels: list[str]
    raw_files: dict[str, str]  # path relative to the raw dir -> sha256
    stats: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Download:
    """One file the converter can fetch: its URL, the name to store it under, its sha256."""

    url: str
    filename: str
    sha256: str | None  # None: not known in advance; computed and recorded


BuildFn = Callable[[Path, str, "int | None"], Built]


@dataclass(frozen=True)
class Converter:
    """A data set converter: metadata for help texts and meta.json, plus its build function."""

    name: str
    description: str
    source: str
    url: str
    language: str
    how_to_get: str
    split_rules: Mapping[str, str]  # split name -> what it does
    default_split: str
    default_seed: int | None  # None: the split is given by the source, no randomness
    version: str
    build: BuildFn
    downloads: Sequence[Download] = ()

    @property
    def module(self) -> str:
        return self.build.__module__

    def resolve(self, split: str | None, seed: int | None) -> tuple[str, int | None]:
        """The split and seed actually used; a split this data set lacks is an error."""
        split = split or self.default_split
        if split not in self.split_rules:
            raise ConversionError(
                f"{self.name}: unknown split {split!r}; expected one of {sorted(self.split_rules)}"
            )
        return split, (
            None if self.default_seed is None else (self.default_seed if seed is None else seed)
        )

    def command(self, split: str, seed: int | None) -> str:
        """The CLI that reruns this conversion (RAW and DATA_DIR are placeholders)."""
        cmd = f"python -m data_prep {self.name} --raw-dir RAW/{self.name} --out DATA_DIR"
        cmd += f" --split {split}"
        return cmd if seed is None else f"{cmd} --seed {seed}"

    def convert(
        self,
        raw_dir: Path | str,
        out_dir: Path | str,
        split: str | None = None,
        seed: int | None = None,
    ) -> Path:
        """Convert the raw files in ``raw_dir`` into ``out_dir/<name>/`` and return that folder."""
        raw_dir = Path(raw_dir)
        if not raw_dir.is_dir():
            raise ConversionError(f"{raw_dir}: folder missing. {self.how_to_get}")
        split, seed = self.resolve(split, seed)
        built = self.build(raw_dir, split, seed)
        meta = {
            "name": self.name,
            "description": self.description,
            "source": {"text": self.source, "url": self.url},
            "language": self.language,
            "converter": self.module,
            "converter_version": self.version,
            "converter_command": self.command(split, seed),
            "split": {"name": split, "rule": self.split_rules[split]},
            "seed": seed,
            "raw_files_sha256": built.raw_files,
            "stats": built.stats,
        }
        return write_dataset(Path(out_dir) / self.name, built.splits, built.labels, meta)
