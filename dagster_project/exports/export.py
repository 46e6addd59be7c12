"""Write chosen reporting tables to Parquet and CSV in a dated folder, atomically.

``export_tables`` reads each table through a ``WarehouseSession`` (DuckDB or PostgreSQL), rows
ordered by every column so the same table gives the same bytes, and writes
``<folder>/<date>/<table>.parquet``, ``<table>.csv`` and ``manifest.json`` (each file's rows,
bytes and SHA-256). Everything is written into a hidden temporary folder beside the dated one,
which takes the dated name only when complete (``os.rename`` within one file system): a reader
sees the previous export of that date or the new one, never part of a file or of a set. A failure
midway leaves the previous export as it was and no temporary folder. Re-running a date replaces
its folder; with unchanged tables the files and checksums are identical.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import yaml

from dagster_project.warehouse import WarehouseSession, qualified

EXPORTS_FILE = Path(__file__).with_name("exports.yml")
MANIFEST = "manifest.json"
SCHEMA = "reporting"  # the layer BI reads; nothing else is exported
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class ExportConfig:
    folder: Path  # the dated folders go below it
    tables: tuple[str, ...]  # schema-qualified reporting tables


def check_tables(tables: Sequence[str]) -> tuple[str, ...]:
    if not tables:
        raise ValueError("tables: name at least one reporting table")
    for table in tables:
        if not TABLE_NAME.match(table) or not table.startswith(f"{SCHEMA}."):
            raise ValueError(f"tables: {table!r} is not a {SCHEMA}.<name> table")
    if len(set(tables)) != len(tables):
        raise ValueError(f"tables: listed twice: {sorted({t for t in tables if tables.count(t) > 1})}")
    return tuple(tables)


def load_config(data_dir: Path, path: Path = EXPORTS_FILE) -> ExportConfig:
    """``exports.yml`` (or ``path``): the folder (relative to ``data_dir``) and the tables."""
    raw = yaml.safe_load(path.read_text())
    folder = Path(raw["folder"])
    return ExportConfig(folder if folder.is_absolute() else data_dir / folder,
                        check_tables(list(raw["tables"])))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(session: WarehouseSession, table: str) -> pl.DataFrame:
    """The whole table, ordered by every column (first to last) for reproducible files."""
    width = session.read(f"select * from {qualified(table)} limit 0").width
    order = ", ".join(str(i) for i in range(1, width + 1))
    return session.read(f"select * from {qualified(table)} order by {order}")


def write_files(df: pl.DataFrame, folder: Path, name: str) -> list[dict]:
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    df.write_parquet(parquet)
    df.write_csv(csv)
    return [{"file": p.name, "format": p.suffix[1:], "bytes": p.stat().st_size,
             "sha256": sha256(p)} for p in (parquet, csv)]


@contextlib.contextmanager
def staging_folder(root: Path, day: str) -> Iterator[Path]:
    """A hidden folder beside ``root/day``, removed unless it was renamed into place."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{day}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(tmp: Path, final: Path) -> None:
    """Put the complete ``tmp`` folder at ``final``, replacing an earlier export of that date."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:12]}")
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)


def export_tables(session: WarehouseSession, config: ExportConfig, day: date) -> dict:
    """Export ``config.tables`` into ``config.folder/<day>``; returns the manifest written."""
    tables = check_tables(list(config.tables))
    final = config.folder / day.isoformat()
    with staging_folder(config.folder, day.isoformat()) as tmp:
        entries = []
        for table in tables:
            df = read_table(session, table)
            entries.append({"table": table, "rows": df.height, "columns": df.columns,
                            "files": write_files(df, tmp, table.split(".")[1])})
        manifest = {"export_date": day.isoformat(), "tables": entries}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        publish(tmp, final)
    return manifest


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())
