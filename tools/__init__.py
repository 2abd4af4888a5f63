"""tools: speed and device scripts, not installed."""
