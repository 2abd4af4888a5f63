"""lmmtc: the core of lmmtc-bench (data loading, metrics, method registry, LM-MTC)."""

__version__ = "0.1.0"
