"""``python -m benchmarks.report``: rebuild the tables, figures and ``REPORT.md`` from the
run files, without running anything (the builder is :mod:`benchmarks.analysis.report`)."""

from __future__ import annotations

import sys

from benchmarks.analysis.report import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
