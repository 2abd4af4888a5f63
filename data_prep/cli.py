"""Command line: ``python -m data_prep <name>|all --raw-dir DIR --out DATA_DIR [...]``."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from data_prep.base import DatasetSpec, NonstandardReleaseWarning
from data_prep.canonical import ConversionError
from data_prep.download import BASE_URL_ENV, download
from data_prep.registry import DATASETS
from lmmtc.data import COUNTS_KEY, NUM_LABELS_KEY, read_meta

DESCRIPTION = """\
Convert the raw files of the paper's data sets into the suite's canonical format:
DATA_DIR/<name>/{train,dev,test}.jsonl, labels.txt and meta.json (source, converter
version, the command that reruns it, split rule, seed and sha256 of every raw file).
Output is deterministic: converting twice gives byte-identical files.

  python -m data_prep reuters --raw-dir raw/reuters --out data
  python -m data_prep goemotions --raw-dir raw/goemotions --out data --download
  python -m data_prep all --raw-dir raw --out data     # every raw/<name>/ that exists

Raw files are checked against the public release (rows per file, sha256 where it is
fixed); a cut or edited copy is refused unless --allow-nonstandard is given, which
converts it with a warning and records how it differs in meta.json ("nonstandard").
"""


def _epilog() -> str:
    lines = ["data sets:"]
    for conv in DATASETS.values():
        lines.append(f"  {conv.name}: {conv.description}")
        seed = "" if conv.default_seed is None else f", default seed {conv.default_seed}"
        lines.append(f"    default split: {conv.default_split}{seed}")
        for split, rule in conv.split_rules.items():
            lines.append(f"    --split {split}: {rule}")
        lines.append(f"    get the files: {conv.how_to_get}")
    lines.append(f"\n--download fetches into --raw-dir; {BASE_URL_ENV} overrides the base URL.")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render --help)."""
    parser = argparse.ArgumentParser(
        prog="python -m data_prep",
        description=DESCRIPTION,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", choices=[*DATASETS, "all"], help="data set to convert, or all")
    parser.add_argument(
        "--raw-dir",
        required=True,
        type=Path,
        help="folder of the raw files (with 'all': the ROOT holding one folder per data set)",
    )
    parser.add_argument(
        "--out", required=True, type=Path, help="DATA_DIR; the data set goes to DATA_DIR/<name>/"
    )
    parser.add_argument(
        "--split",
        choices=["paper", "standard"],
        default=None,
        help="split rule (default: each data set's default, see below)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the random split (default: each data set's default; recorded in meta.json)",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="fetch the raw files first (GoEmotions, Reuters only; others say where to get them)",
    )
    parser.add_argument(
        "--allow-nonstandard",
        action="store_true",
        help="convert raw files that differ from the public release (rows, sha256); "
        'meta.json records how under "nonstandard"',
    )
    return parser


def _convert_one(conv: DatasetSpec, raw_dir: Path, args: argparse.Namespace) -> Path:
    if args.download:
        for filename, digest in download(conv, raw_dir).items():
            print(f"{conv.name}: {raw_dir / filename} sha256 {digest}")
    with warnings.catch_warnings():  # reported below on one line, from meta.json
        warnings.simplefilter("ignore", NonstandardReleaseWarning)
        folder = conv.convert(
            raw_dir,
            args.out,
            split=args.split,
            seed=args.seed,
            allow_nonstandard=args.allow_nonstandard,
        )
    meta = read_meta(folder)
    if meta.get("nonstandard"):
        print(
            f"{conv.name}: warning: not the public release ({meta['nonstandard']['reason']}); "
            f'converted as asked, meta.json records it under "nonstandard"',
            file=sys.stderr,
        )
    counts = " / ".join(f"{k} {v:,}" for k, v in meta[COUNTS_KEY].items())
    print(f"{conv.name}: wrote {folder} ({counts}; {meta[NUM_LABELS_KEY]} labels)")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (1 on any conversion error, printed on one line)."""
    args = build_parser().parse_args(argv)
    if args.name != "all":
        try:
            _convert_one(DATASETS[args.name], args.raw_dir, args)
        except (ConversionError, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        return 0
    failed = 0
    for conv in DATASETS.values():
        raw_dir = args.raw_dir / conv.name
        if not raw_dir.is_dir() and not (args.download and conv.downloads):
            print(f"{conv.name}: skipped, {raw_dir} not found. {conv.how_to_get}")
            continue
        try:
            _convert_one(conv, raw_dir, args)
        except (ConversionError, OSError) as err:
            print(f"error: {conv.name}: {err}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
