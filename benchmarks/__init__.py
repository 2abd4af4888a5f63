"""benchmarks: the runner, experiments, configs and report of lmmtc-bench.

:func:`load_results` gives every run under a results folder as a pandas DataFrame.
"""

from benchmarks.store.records import load_results

__all__ = ["load_results"]
