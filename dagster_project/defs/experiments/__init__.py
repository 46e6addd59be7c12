"""Experiments: the registry, the statistics read-out, the sequential monitor and power."""
