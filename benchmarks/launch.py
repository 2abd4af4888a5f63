"""``python -m benchmarks.launch ARGS``: the runner with ``--launcher local`` unless ARGS
name another launcher (one submitit job per cell; see :mod:`benchmarks.running.scaleout`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from benchmarks.run import main as run_main


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(arg == "--launcher" or arg.startswith("--launcher=") for arg in argv):
        argv += ["--launcher", "local"]
    return run_main(argv)


if __name__ == "__main__":
    sys.exit(main())
