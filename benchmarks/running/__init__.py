"""benchmarks.running: how cells are run."""
