"""benchmarks.suite: what the suite runs."""
