"""Atomic file writes: readers see the whole file or none, with the user's umask."""

from __future__ import annotations

import glob
import os
import re
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

_HOST_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files of ``path`` left by writers killed mid-write (kill -9:
    no ``finally`` ran): those of this host whose process is gone. Another host's are
    left alone (its processes cannot be checked). Returns the files removed."""
    host = _HOST_SAFE.sub("_", socket.gethostname()) or "host"
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.{glob.escape(host)}.*.tmp"):
        pid = tmp.name[len(f".{path.name}.{host}.") :].split(".")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@contextmanager
def atomic_write(path: Path | str, mode: str = "w") -> Iterator[IO]:
    """Yield a handle on a temporary file beside ``path``; when the block ends without an
    error, flush it to disk and rename it over ``path``, else remove it. The file gets the
    user's umask (0644 under the usual 022), as any file they write: not ``mkstemp``'s
    0600, which would hide a results folder or cache shared on a cluster."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    host = _HOST_SAFE.sub("_", socket.gethostname()) or "host"
    tmp = path.with_name(f".{path.name}.{host}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # minus the umask
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
