"""benchmarks.analysis: tables, figures and significance from run files only.

Owns the table builders (:mod:`.tables`), the figure builders (:mod:`.figures`), the
registry that resolves an experiment's builder names (:mod:`.builders`), the paired
bootstrap (:mod:`.significance`) and the report that writes them all with ``REPORT.md``
(:mod:`.report`; ``python -m benchmarks.report`` is its command). It reads what the store
holds and what the suite declares; it never runs anything.

May import: benchmarks.store, benchmarks.suite, data_prep, lmmtc
"""
