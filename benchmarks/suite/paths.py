"""Default folders of the suite's commands (each can be overridden by a flag)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Raw files, one folder per data set.
DEFAULT_RAW = os.environ.get("LMMTC_RAW_DIR", str(REPO_ROOT / "data" / "raw"))
#: Converted data sets in the canonical format.
DEFAULT_DATA = os.environ.get("LMMTC_DATA_DIR", str(REPO_ROOT / "data" / "converted"))
#: Run files, tables, figures and REPORT.md.
DEFAULT_RESULTS = os.environ.get("LMMTC_RESULTS_DIR", str(REPO_ROOT / "results"))
