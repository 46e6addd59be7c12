"""Pure computations: polars/numpy in, polars out. No Dagster imports, no I/O."""
