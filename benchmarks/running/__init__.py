"""benchmarks.running: how cells are planned and run.

Owns the runner's options (:mod:`.options`), planning (:mod:`.plan`, :mod:`.filters`),
the time estimates and GPU-window budget (:mod:`.estimate`, :mod:`.budget`), running a
cell in this process (:mod:`.execute`, :mod:`.harness`) or as launched jobs
(:mod:`.scaleout`), preparing data sets (:mod:`.tasks`), provenance (git state, devices;
:mod:`.provenance`) and tracking backends (:mod:`.tracking`). At the end of a run it asks
the analysis for the report.

May import: benchmarks.analysis, benchmarks.store, benchmarks.suite, baselines, data_prep, lmmtc
"""
