"""Landing files -> ``raw.*``: discover, read, validate against the contract, quarantine, load.

Pure Python (polars + the ``WarehouseSession``); the Dagster assets in ``defs/ingest`` only wire it.
Entry point: :func:`dagster_project.ingest.load.ingest_table`.
"""
