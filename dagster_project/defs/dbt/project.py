"""The dbt project handle shared by the dbt assets and the dbt CLI resource."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from dagster_project.settings import DBT_PROJECT_DIR, get_settings


def dbt_executable() -> str:
    """The ``dbt`` installed beside this interpreter, so a venv need not be on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def release_dbt_duckdb_handle() -> None:
    """Close the DuckDB handle dbt-duckdb keeps open in this process after fetching metadata.

    ``fetch_row_counts``/``fetch_column_metadata`` query the warehouse through dbt's adapter,
    which caches one DuckDB database handle per process with its own configuration. While it is
    open, DuckDB refuses the Warehouse resource's connections to the same file.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed: nothing to release
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=get_settings().dbt_target,
)
dbt_project.prepare_if_dev()
