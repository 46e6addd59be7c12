"""A throwaway PostgreSQL server for the PostgreSQL benchmarks (not a benchmark module itself).

Lives in a fresh temporary folder: as root the server runs as user ``postgres``, which must be
able to enter its folder. Same settings as the test suite's server (fsync off).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def throwaway_server(databases: tuple[str, ...]) -> Iterator[object]:
    """A started ``PgServer`` with ``databases`` created; stopped and deleted afterwards."""
    from dagster_project.devtools import pgserver

    if not pgserver.binaries_available():
        raise RuntimeError("PostgreSQL binaries not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="bi_bench_pg_"))
    os.chmod(folder, 0o755)
    server = pgserver.start(folder / "server", databases=databases)
    try:
        yield server
    finally:
        pgserver.stop(folder / "server", remove=True)
        shutil.rmtree(folder, ignore_errors=True)


def pg_env(server, dbname: str) -> dict[str, str]:
    """Environment selecting the PostgreSQL warehouse ``dbname`` on ``server``."""
    return server.warehouse_env(dbname)
