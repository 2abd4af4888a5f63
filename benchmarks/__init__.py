"""benchmarks: the runner, experiments, configs and report of lmmtc-bench.

The commands sit at the top: ``python -m benchmarks.run`` (and ``launch``, the runner
with a launcher), ``report`` and ``compare``. What they use lives in rooms, each of which
imports only the rooms below it (``tests/test_architecture.py`` holds the arrows):

- :mod:`benchmarks.running`: options, planning, running cells in-process or as jobs;
- :mod:`benchmarks.analysis`: tables, figures, significance, the report;
- :mod:`benchmarks.suite`: experiments, profiles, method configs, the paper's values;
- :mod:`benchmarks.store`: run files, scores files, thresholds, locks.

:func:`load_results` gives every run under a results folder as a pandas DataFrame.

May import: benchmarks.analysis, benchmarks.running, benchmarks.store, benchmarks.suite, baselines, data_prep, lmmtc
"""

from benchmarks.store.records import load_results

__all__ = ["load_results"]
