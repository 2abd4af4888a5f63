"""Reading helpers shared by the converters: files, lines, archives, label ids, hashes.

Every helper raises :class:`ConversionError` naming the file, the line or record and
what was expected, so that the CLI can print a one-line error instead of a traceback.
"""

from __future__ import annotations

import tarfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from data_prep.canonical import ConversionError, sha256_file


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is a file, else a ConversionError saying which file is missing."""
    if not path.is_file():
        raise ConversionError(f"{path}: file missing; expected {what}")
    return path


def iter_lines(data: bytes, source: str, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield (line number, decoded line without its line break) of ``data``.

    Lines are split on ``\\n`` only (a trailing ``\\r`` is dropped) so that Unicode line
    separators inside a text stay in the text. A decoding error names the line and the
    byte offset in the file.
    """
    if data.startswith(b"\x1f\x8b"):
        raise ConversionError(
            f"{source}: a gzip-compressed file (it starts with gzip's magic bytes), not "
            f"{encoding} text: decompress it first (gunzip -c FILE > {Path(source).name})"
        )
    offset = 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for line_no, raw in enumerate(lines, start=1):
        start, offset = offset, offset + len(raw) + 1
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            yield line_no, raw.decode(encoding)
        except UnicodeDecodeError as err:
            raise ConversionError(
                f"{source}:{line_no}: not valid {encoding} at byte offset {start + err.start} "
                f"(byte {raw[err.start : err.start + 1]!r}); expected a {encoding} text file"
            ) from None


def read_lines(path: Path, encoding: str = "utf-8") -> list[tuple[int, str]]:
    """All (line number, line) pairs of the file at ``path``."""
    return list(iter_lines(path.read_bytes(), str(path), encoding))


def parse_label_ids(field: str, upper: int, source: str, sep: str | None = None) -> list[int]:
    """Parse label ids separated by ``sep`` (whitespace when None), each in ``0..upper-1``."""
    ids: list[int] = []
    for token in field.split(sep):
        token = token.strip()
        if not token:
            continue
        if not token.isdigit() or int(token) >= upper:
            raise ConversionError(
                f"{source}: label id {token!r} out of range; expected an integer in 0..{upper - 1}"
            )
        ids.append(int(token))
    return sorted(set(ids))


def hash_inputs(root: Path, paths: Sequence[Path]) -> dict[str, str]:
    """sha256 of each input file, keyed by its path relative to ``root`` (POSIX form)."""
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(paths)}


def one_line(err: BaseException) -> str:
    """An exception's text on one line (tarfile's "r:*" errors span several), or its type."""
    return " ".join(str(err).split()) or type(err).__name__


def open_tar(path: Path) -> tarfile.TarFile:
    """Open a (gzip) tar archive, turning a broken or truncated archive into a ConversionError."""
    try:
        return tarfile.open(path, "r:*")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise ConversionError(
            f"{path}: cannot open the archive ({one_line(err)}); expected a complete .tar.gz"
        ) from None


def read_tar_members(path: Path, wanted: set[str]) -> dict[str, bytes]:
    """The bytes of the members of ``path`` whose base names are in ``wanted``.

    Reads the whole archive (no extraction to disk), so that a truncated archive is
    detected here with a clear error.
    """
    found: dict[str, bytes] = {}
    tar = open_tar(path)
    try:
        with tar:
            for member in tar:
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and name in wanted:
                    handle = tar.extractfile(member)
                    assert handle is not None
                    found[name] = handle.read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise ConversionError(
            f"{path}: the archive is truncated or corrupt ({one_line(err)}); download it again"
        ) from None
    return found


def open_zip(path: Path) -> zipfile.ZipFile:
    """Open a zip archive, turning a broken or truncated one into a ConversionError."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ConversionError(
            f"{path}: cannot open the zip archive ({err}); expected a complete .zip"
        ) from None


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """A member's name, repairing UTF-8 or GBK names stored without the UTF-8 flag."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: Path) -> bytes:
    """The bytes of one member, with a clear error for a corrupt member."""
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise ConversionError(
            f"{source}: member {zip_member_name(info)!r} is corrupt ({err}); "
            f"download the archive again"
        ) from None
