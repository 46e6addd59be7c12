"""Scheduled exports of reporting tables to Parquet and CSV (no Dagster): see ``export``."""

from dagster_project.exports.export import (
    EXPORTS_FILE,
    ExportConfig,
    export_tables,
    load_config,
    read_manifest,
)

__all__ = ["EXPORTS_FILE", "ExportConfig", "export_tables", "load_config", "read_manifest"]
