"""Fetching raw files over HTTP(S) with a progress bar, sha256 checks and resumable downloads.

Only GoEmotions and Reuters can be fetched (public, no login). A file is first written to
``<name>.part``; an interrupted download is resumed from there with an HTTP Range request.
A file whose sha256 differs from a known hash is removed and reported. The base URL can be
overridden (parameter or ``LMMTC_DOWNLOAD_BASE_URL``): files are then fetched from
``<base>/<file name>``, which is how the tests use a local server.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from data_prep.base import Converter
from data_prep.canonical import ConversionError, sha256_file

BASE_URL_ENV = "LMMTC_DOWNLOAD_BASE_URL"
CHUNK = 1 << 16


def fetch(
    url: str,
    dest: Path,
    sha256: str | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
) -> str:
    """Download ``url`` to ``dest`` (resuming ``dest.part``) and return the file's sha256.

    An existing ``dest`` with the expected hash (or any hash when none is known) is kept
    as a cache hit. ``progress=None`` shows a bar only on a terminal.
    """
    dest = Path(dest)
    if dest.is_file():
        digest = sha256_file(dest)
        if sha256 is None or digest == sha256:
            return digest
        dest.unlink()  # stale or corrupt: fetch again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    response = _open(url, start)
    if start and response.status != 206:
        start = 0  # the server ignored the Range request: start over
    length = response.headers.get("Content-Length")
    total = start + int(length) if length and length.isdigit() else None
    try:
        with (
            response,
            open(part, "ab" if start else "wb") as out,
            tqdm(
                total=total,
                initial=start,
                unit="B",
                unit_scale=True,
                desc=dest.name,
                disable=None if progress is None else not progress,
                leave=False,
            ) as bar,
        ):
            while block := response.read(CHUNK):
                out.write(block)
                bar.update(len(block))
    except OSError as err:
        raise ConversionError(
            f"{url}: download interrupted ({err}); rerun to resume from {part}"
        ) from None
    digest = sha256_file(part)
    if sha256 is not None and digest != sha256:
        part.unlink()
        raise ConversionError(
            f"{url}: sha256 {digest} differs from the expected {sha256}; the bad file was "
            f"removed, download it again (or check the URL)"
        )
    os.replace(part, dest)
    return digest


def _open(url: str, start: int):
    """Open ``url``, asking for the bytes from ``start`` on when resuming."""
    headers = {"User-Agent": "lmmtc-bench data_prep"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:  # the partial file is not a prefix we can extend
            return _open(url, 0)
        raise ConversionError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ConversionError(f"{url}: cannot download ({reason})") from None


def download(
    converter: Converter,
    raw_dir: Path | str,
    base_url: str | None = None,
    progress: bool | None = None,
) -> dict[str, str]:
    """Fetch all files of ``converter`` into ``raw_dir``; return file name -> sha256.

    A data set that cannot be downloaded (login, or no stable public URL) raises a
    ConversionError that says where to get the files and where to put them.
    """
    if not converter.downloads:
        raise ConversionError(
            f"{converter.name} cannot be downloaded automatically. {converter.how_to_get}"
        )
    base = base_url or os.environ.get(BASE_URL_ENV)
    hashes = {}
    for item in converter.downloads:
        url = f"{base.rstrip('/')}/{item.filename}" if base else item.url
        hashes[item.filename] = fetch(url, Path(raw_dir) / item.filename, item.sha256, progress)
    return hashes
