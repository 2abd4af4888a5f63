"""benchmarks.store: what a run leaves on disk."""
