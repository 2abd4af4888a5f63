"""What every converter declares (:class:`DatasetSpec`) and returns (:class:`Built`).

A converter module only parses its raw files into records and label names; this module
turns that into a canonical data set with a complete meta.json (source, converter
version, the command that reruns it, split rule, seed, sha256 of every raw input), so
provenance is recorded the same way for all six data sets.
"""

from __future__ import annotations

import hashlib
import tarfile
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.canonical import ConversionError, Record, write_dataset
from data_prep.rawio import one_line


@dataclass
class Built:
    """The result of parsing raw files: the three splits, the label order and provenance."""

    splits: dict[str, list[Record]]
    labels: list[str]
    raw_files: dict[str, str]  # path relative to the raw dir -> sha256
    stats: dict[str, object] = field(default_factory=dict)
    found: dict[str, Found] = field(default_factory=dict)  # release file -> what was read


@dataclass(frozen=True)
class Download:
    """One file the converter can fetch: its URL, the name to store it under, its sha256."""

    url: str
    filename: str
    sha256: str | None  # None: not known in advance; computed and recorded


BuildFn = Callable[[Path, str, "int | None"], Built]


@dataclass(frozen=True)
class PaperEntry:
    """A data set's row in the paper's Table 1: its name there and the values it prints."""

    row: int  # position in Table 1 (1 = first)
    name: str  # the paper's name ("Emotion" for GoEmotions)
    labels: int
    train: int
    test: int
    language: str  # as Table 1 prints it
    note: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A named data set: its paper entry, where its raw files come from, its release
    facts, split rules and build function (help texts and meta.json come from here)."""

    name: str
    paper: PaperEntry | None  # None: a data set the paper does not use
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
    release: Release | None = None  # the public release's known sizes and hashes

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
        allow_nonstandard: bool = False,
    ) -> Path:
        """Convert the raw files in ``raw_dir`` into ``out_dir/<name>/`` and return that folder.

        Raw files that differ from the public release (rows, sha256) are refused unless
        ``allow_nonstandard``; then the conversion warns and stamps meta.json "nonstandard".
        """
        raw_dir = Path(raw_dir)
        if not raw_dir.is_dir():
            raise ConversionError(f"{raw_dir}: folder missing. {self.how_to_get}")
        split, seed = self.resolve(split, seed)
        built = self.build(raw_dir, split, seed)
        nonstandard = check_release(self, raw_dir, built, allow_nonstandard)
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
            "nonstandard": nonstandard,
        }
        return write_dataset(Path(out_dir) / self.name, built.splits, built.labels, meta)


# ---------------------------------------------------------------- known public releases


class NonstandardReleaseWarning(UserWarning):
    """A conversion of raw files that differ from the public release (allowed by the user)."""


@dataclass(frozen=True)
class Found:
    """What a converter read of one release file: where, how many rows, the bytes' sha256."""

    where: str  # the path (or archive!member) to name in messages
    rows: int
    sha256: str | None = None


@dataclass(frozen=True)
class Release:
    """Known facts of a data set's public release, so a cut or edited copy is not taken for it.

    ``rows`` maps each release file (the key the converter's :class:`Found` uses) to its
    row count; ``sha256`` holds the bytes' hash where the release is fixed (rows are the
    only authority where it is not). ``num_labels`` is the label count the release gives;
    ``archive`` names the download whose members are the release files (checked member by
    member where the archive's own hash is unknown).
    """

    rows: Mapping[str, int]
    unit: str = "rows"
    sha256: Mapping[str, str] = field(default_factory=dict)
    num_labels: int | None = None
    archive: str | None = None

    def differences(self, found: Mapping[str, Found], num_labels: int) -> dict[str, str]:
        """Release file (or "labels") -> how what was read differs from the release."""
        problems: dict[str, str] = {}
        for key, rows in self.rows.items():
            got = found.get(key)
            if got is None:
                problems[key] = f"not read, the public release has it ({rows:,} {self.unit})"
            elif got.rows != rows:
                problems[key] = f"{got.rows:,} {self.unit}, the public release has {rows:,}"
            elif key in self.sha256 and got.sha256 != self.sha256[key]:
                problems[key] = (
                    f"sha256 {str(got.sha256)[:16]}... differs from the public release's "
                    f"{self.sha256[key][:16]}... (same {rows:,} {self.unit})"
                )
        if self.num_labels is not None and num_labels != self.num_labels:
            problems["labels"] = f"{num_labels} labels, the public release has {self.num_labels}"
        return problems

    def check_archive(self, path: Path) -> str | None:
        """Why the archive at ``path`` is not the release, or None when every member matches.

        For a download whose own hash is unknown (Reuters' UCI archive): the members named
        in ``sha256`` must all be there, with those hashes.
        """
        wanted = set(self.sha256)
        digests: dict[str, str] = {}
        try:
            with tarfile.open(path, "r:*") as tar:
                for member in tar:
                    name = member.name.rsplit("/", 1)[-1]
                    handle = tar.extractfile(member) if member.isfile() else None
                    if name in wanted and handle is not None:
                        digests[name] = hashlib.sha256(handle.read()).hexdigest()
        except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
            return f"not a complete tar archive ({one_line(err)})"
        missing = sorted(wanted - set(digests))
        if missing:
            return f"{len(missing)} of the {len(wanted)} release files missing ({missing[0]}, ...)"
        bad = sorted(name for name in wanted if digests[name] != self.sha256[name])
        if bad:
            return (
                f"member {bad[0]} has sha256 {digests[bad[0]][:16]}..., the public release's is "
                f"{self.sha256[bad[0]][:16]}... ({len(bad)} of {len(wanted)} members differ)"
            )
        return None


def check_release(
    conv: DatasetSpec, raw_dir: Path, built: Built, allow_nonstandard: bool
) -> dict | None:
    """None for the public release; else refuse, or (allowed) warn and return meta's stamp.

    The error is one line: the first differing file, what it holds, what the release has,
    and what to do. The stamp keeps every file's difference, keyed by release file.
    """
    if conv.release is None:
        return None
    problems = conv.release.differences(built.found, len(built.labels))
    if not problems:
        return None
    key, detail = next(iter(problems.items()))
    where = built.found[key].where if key in built.found else str(raw_dir)
    more = f" (and {len(problems) - 1} more difference(s))" if len(problems) > 1 else ""
    if not allow_nonstandard:
        raise ConversionError(
            f"{where}: {detail}{more}; this is not the public {conv.name} release: download "
            f"it again, or pass --allow-nonstandard (allow_nonstandard=True) to convert a "
            f"modified copy"
        )
    reason = "; ".join(f"{key}: {detail}" for key, detail in problems.items())
    warnings.warn(
        f"{conv.name}: converting a copy that differs from the public release ({reason}); "
        f'meta.json records it under "nonstandard"',
        NonstandardReleaseWarning,
        stacklevel=3,
    )
    return {"reason": reason, "files": problems}
