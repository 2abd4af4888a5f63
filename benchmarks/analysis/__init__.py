"""benchmarks.analysis: tables and figures."""
