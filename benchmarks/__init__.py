"""benchmarks: the runner, experiments, configs and report of lmmtc-bench."""
