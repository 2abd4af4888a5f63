"""tools: speed measurements and the GPU-window scripts; not part of the installed package.

``python -m tools.speed_transformers`` / ``speed_linear`` / ``speed_significance`` time
the suite's hot paths; ``python -m tools.device_pack`` and ``tools/device_window.sh``
prepare and run a short GPU window. Run them from a checkout. Nothing of the suite
imports them.

May import: benchmarks, benchmarks.analysis, benchmarks.running, benchmarks.store, benchmarks.suite, baselines, data_prep, lmmtc
"""
