"""The one place that reads environment variables. Everything else asks ``get_settings()``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    truth_dir: Path
    warehouse_backend: str  # "duckdb" | "postgres"
    duckdb_path: Path
    postgres_dsn: str | None

    @property
    def dbt_target(self) -> str:
        return self.warehouse_backend


def get_settings() -> Settings:
    """Settings from the environment (see .env.example for every variable)."""
    data_dir = Path(os.environ.get("BI_DATA_DIR", PROJECT_ROOT / "data")).resolve()
    backend = os.environ.get("BI_WAREHOUSE", "duckdb").lower()
    if backend not in ("duckdb", "postgres"):
        raise ValueError(f"BI_WAREHOUSE must be 'duckdb' or 'postgres', got {backend!r}")
    return Settings(
        data_dir=data_dir,
        landing_dir=Path(os.environ.get("BI_LANDING_DIR", data_dir / "landing")).resolve(),
        truth_dir=Path(os.environ.get("BI_TRUTH_DIR", data_dir / "truth")).resolve(),
        warehouse_backend=backend,
        duckdb_path=Path(os.environ.get("BI_DUCKDB_PATH", data_dir / "warehouse.duckdb")).resolve(),
        postgres_dsn=os.environ.get("BI_POSTGRES_DSN"),
    )


def export_dbt_environment(settings: Settings) -> None:
    """Make dbt subprocesses use the same warehouse as this process.

    dbt reads its connection from ``dbt/profiles.yml``, which takes the DuckDB path and target
    from these variables; dagster-dbt passes this process's environment on to dbt.
    """
    os.environ.setdefault("BI_DUCKDB_PATH", str(settings.duckdb_path))
    os.environ.setdefault("DBT_TARGET", settings.dbt_target)

