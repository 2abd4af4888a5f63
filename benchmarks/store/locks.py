"""Cell locks: runners sharing one results folder split the cells between them.

Before a runner fits a cell it creates ``seed<S>.json.lock`` beside the run file with
``O_CREAT | O_EXCL`` (atomic on local file systems and NFS v3+), holding its pid, host,
start time and a random token. A second runner that finds the lock skips the cell with
a line naming the holder. A lock whose holder is gone (same host, no such process) is
stale and taken over; a lock from another host cannot be checked and is honoured (the
message says to delete the file if that runner is gone). The holder removes its lock
when the cell ends, whether it succeeded or failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

LOCK_SUFFIX = ".lock"
#: A lock file that cannot be read (its holder was killed between creating and writing
#: it) is treated as held for this long after its last change, then as stale.
UNREADABLE_GRACE_SECONDS = 60.0


def lock_path(run_file: Path) -> Path:
    """The lock file of a run file: ``seed1.json`` -> ``seed1.json.lock``."""
    return Path(run_file).with_name(Path(run_file).name + LOCK_SUFFIX)


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: what the lock file says."""

    pid: int
    host: str
    started: str
    token: str
    config: str = ""  # digest of the cell's parameters ("" : unknown, an older runner)

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, since {self.started}"

    def gone(self) -> bool:
        """True when the holder ran on this host and its process no longer exists."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # a live process of another user
            return False
        return False


def read_holder(path: Path) -> Holder | None:
    """The holder written in lock file ``path``; None when it is absent or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Holder(
            int(data["pid"]),
            str(data["host"]),
            str(data["started"]),
            data["token"],
            str(data.get("config", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class CellLock:
    """The lock of one run file; :meth:`acquire`, then :meth:`release` when done."""

    def __init__(self, run_file: Path, config: str = "") -> None:
        self.path = lock_path(run_file)
        self.mine = Holder(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            token=secrets.token_hex(8),
            config=config,
        )
        self.held = False
        self.holder: Holder | None = None  # the live holder :meth:`acquire` last found

    def same_work(self) -> bool:
        """Whether the live holder found by :meth:`acquire` runs this very cell with the
        same parameters on this host, so that its run file is what this runner would write."""
        holder = self.holder
        return (
            holder is not None
            and bool(holder.config)
            and holder.config == self.mine.config
            and holder.host == self.mine.host
        )

    def acquire(self) -> str | None:
        """Claim the cell: None when this runner now holds it, else a line describing
        the live holder. An OSError (a read-only folder) propagates."""
        for _ in range(3):  # a stale lock is broken, then created again
            if self._create():
                self.held = True
                return None
            holder = read_holder(self.path)
            if holder is None:
                if not self._unreadable_and_old():
                    if not self.path.exists():
                        continue  # released meanwhile: try again
                    return "a runner that is starting (its lock file is not written yet)"
                self._break(None)
                continue
            if not holder.gone():
                self.holder = holder
                return holder.describe()
            self._break(holder)
        holder = read_holder(self.path)
        return holder.describe() if holder else "another runner"

    def release(self) -> None:
        """Remove the lock file if it is still this runner's."""
        if not self.held:
            return
        self.held = False
        holder = read_holder(self.path)
        if holder is not None and holder.token == self.mine.token:
            self.path.unlink(missing_ok=True)

    def _create(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(self.mine)) + "\n")
        return True

    def _unreadable_and_old(self) -> bool:
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return False
        return age > UNREADABLE_GRACE_SECONDS

    def _break(self, stale: Holder | None) -> None:
        """Remove a stale lock so that it can be created again. It is renamed aside first
        (only one runner can rename a given file); if what was renamed is not the stale
        lock (another runner took it over in between), it is put back."""
        aside = self.path.with_name(f".{self.path.name}.stale-{self.mine.token}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another runner broke it first
        moved = read_holder(aside)
        if moved != stale:
            with contextlib.suppress(OSError):  # put the live lock back, unless replaced
                os.link(aside, self.path)
        aside.unlink(missing_ok=True)
