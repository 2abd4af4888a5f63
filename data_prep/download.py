"""Fetching raw files over HTTP(S) with a progress bar, sha256 checks and resumable downloads.

Only GoEmotions and Reuters can be fetched (public, no login). A file is first written to
``<name>.part``; an interrupted download is resumed from there with an HTTP Range request.
Every file is checked: against its known sha256 (GoEmotions), or, where the archive's own
hash is unknown (Reuters' UCI archive), member by member against the sha256 of the 22 SGML
files of the public release. A fresh file that fails is removed and reported; a cached
file that fails (an old or hand-placed copy) is removed, reported on stderr and fetched
again. Redirects are followed only on the same host and port (or http to https on the
default ports), never from https to http. The base URL can be overridden (parameter or
``LMMTC_DOWNLOAD_BASE_URL``): files are then fetched from ``<base>/<file name>``, which
is how the tests use a local server.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from tqdm import tqdm

from data_prep.base import DatasetSpec
from data_prep.canonical import ConversionError, sha256_file

BASE_URL_ENV = "LMMTC_DOWNLOAD_BASE_URL"
CHUNK = 1 << 16
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: A check of a downloaded file: None when it is good, else what is wrong with it.
Verify = Callable[[Path], "str | None"]


def redirect_refusal(old_url: str, new_url: str) -> str | None:
    """Why a redirect from ``old_url`` to ``new_url`` is refused, or None to follow it.

    Allowed: the same scheme, host and port, and http to https on the same host with the
    default ports. Refused: another host or port (the file would come from a server the
    data set's source does not vouch for) and https to http (it would travel unprotected).
    """
    old, new = urlsplit(old_url), urlsplit(new_url)
    if new.scheme not in _DEFAULT_PORTS:
        return f"redirected to {new_url}, which is not http(s)"
    if old.scheme == "https" and new.scheme == "http":
        return f"redirected from https to http ({new_url})"
    try:
        old_port = old.port or _DEFAULT_PORTS.get(old.scheme)
        new_port = new.port or _DEFAULT_PORTS[new.scheme]
    except ValueError:
        return f"redirected to {new_url}, whose port is not valid"
    upgrade = (old.scheme, old_port, new.scheme, new_port) == ("http", 80, "https", 443)
    same_host = (old.hostname or "").lower() == (new.hostname or "").lower()
    if not same_host or (old_port != new_port and not upgrade):
        return f"redirected to another host ({new_url})"
    return None


class SameHostRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects only where :func:`redirect_refusal` allows it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes] | None,
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        """The request that follows the redirect, or a ConversionError saying why not."""
        refusal = redirect_refusal(req.full_url, newurl)
        if refusal is not None:
            if fp is not None:
                fp.close()
            raise ConversionError(
                f"{req.full_url}: {refusal}; refused, downloads follow redirects only on the "
                f"same host and never from https to http: fetch the file yourself and put it "
                f"into the raw folder"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(SameHostRedirectHandler)


def _problem(path: Path, digest: str, sha256: str | None, verify: Verify | None) -> str | None:
    """What is wrong with a downloaded file (its hash, or the ``verify`` check), or None."""
    if sha256 is not None and digest != sha256:
        return f"sha256 {digest} differs from the expected {sha256}"
    return None if verify is None else verify(path)


def fetch(
    url: str,
    dest: Path,
    sha256: str | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
    verify: Verify | None = None,
) -> str:
    """Download ``url`` to ``dest`` (resuming ``dest.part``) and return the file's sha256.

    An existing ``dest`` that passes the checks (the expected hash, and ``verify``) is kept
    as a cache hit; one that fails is removed (said on stderr) and fetched again.
    ``progress=None`` shows a bar only on a terminal.
    """
    dest = Path(dest)
    if dest.is_file():
        digest = sha256_file(dest)
        problem = _problem(dest, digest, sha256, verify)
        if problem is None:
            return digest
        print(f"{dest}: cached file is bad ({problem}); removed, fetching again", file=sys.stderr)
        dest.unlink()
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
    problem = _problem(part, digest, sha256, verify)
    if problem is not None:
        part.unlink()
        raise ConversionError(
            f"{url}: {problem}; the bad file was removed, download it again (or check the URL)"
        )
    os.replace(part, dest)
    return digest


def _open(url: str, start: int):
    """Open ``url``, asking for the bytes from ``start`` on when resuming."""
    headers = {"User-Agent": "lmmtc-bench data_prep"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        return _OPENER.open(urllib.request.Request(url, headers=headers), timeout=60)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:  # the partial file is not a prefix we can extend
            return _open(url, 0)
        raise ConversionError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ConversionError(f"{url}: cannot download ({reason})") from None


def download(
    converter: DatasetSpec,
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
    release = converter.release
    hashes = {}
    for item in converter.downloads:
        url = f"{base.rstrip('/')}/{item.filename}" if base else item.url
        verify = None
        if release is not None and release.archive == item.filename and release.sha256:
            verify = release.check_archive  # the archive's hash is unknown: check its members
        hashes[item.filename] = fetch(
            url, Path(raw_dir) / item.filename, item.sha256, progress, verify=verify
        )
    return hashes
