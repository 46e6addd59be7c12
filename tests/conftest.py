"""Shared fixtures: a simulated tiny landing folder and an isolated pipeline environment."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import dagster as dg

TINY_SEED = 7
SMALL_SEED = 7


@pytest.fixture(scope="session")
def tiny_simulation(tmp_path_factory) -> Path:
    """A pristine tiny simulation (landing/ and truth/); copy it before changing anything."""
    from dagster_project.simulator import simulate

    root = tmp_path_factory.mktemp("tiny_sim")
    simulate("tiny", TINY_SEED, root / "landing", root / "truth")
    return root


@pytest.fixture(scope="session")
def small_simulation(tmp_path_factory) -> Path:
    """The `small` simulation, seed 7 (landing/ and truth/), shared by the planted-truth tests:
    read it, never write into it (simulating it takes about a minute)."""
    from dagster_project.simulator import simulate

    root = tmp_path_factory.mktemp("small_sim")
    simulate("small", SMALL_SEED, root / "landing", root / "truth")
    return root


@dataclass
class PipelineEnv:
    root: Path
    landing: Path
    truth: Path
    duckdb_path: Path
    dagster_home: Path

    def query(self, sql: str):
        """Run ``sql`` read-only on this environment's DuckDB warehouse; a polars frame."""
        import duckdb

        con = duckdb.connect(str(self.duckdb_path), read_only=True)
        try:
            return con.sql(sql).pl()
        finally:
            con.close()


def make_pipeline_env(tmp: Path, simulation: Path, mp: pytest.MonkeyPatch,
                      dagster_home: Path | None = None) -> PipelineEnv:
    """Point settings, dbt and Dagster at a private copy of ``simulation`` under ``tmp``.

    ``simulation`` may also be a built data folder (with its ``warehouse.duckdb``), and
    ``dagster_home`` the instance folder of that build: both are copied, so the copy starts with
    the build's tables, runs and materializations and changes nothing of the original."""
    root = tmp / "data"
    shutil.copytree(simulation, root)
    env = PipelineEnv(
        root=root,
        landing=root / "landing",
        truth=root / "truth",
        duckdb_path=root / "warehouse.duckdb",
        dagster_home=tmp / "dagster_home",
    )
    if dagster_home is None:
        env.dagster_home.mkdir()
        (env.dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    else:
        shutil.copytree(dagster_home, env.dagster_home)
    for name, value in {
        "BI_DATA_DIR": root,
        "BI_LANDING_DIR": env.landing,
        "BI_TRUTH_DIR": env.truth,
        "BI_DUCKDB_PATH": env.duckdb_path,
        "BI_WAREHOUSE": "duckdb",
        "DAGSTER_HOME": env.dagster_home,
    }.items():
        mp.setenv(name, str(value))
    return env


@pytest.fixture
def pipeline_env(tmp_path, tiny_simulation, monkeypatch) -> PipelineEnv:
    """A private copy of tiny data with the environment pointing at it (per test)."""
    return make_pipeline_env(tmp_path, tiny_simulation, monkeypatch)


@pytest.fixture(scope="module")
def module_pipeline_env(tmp_path_factory, tiny_simulation) -> Iterator[PipelineEnv]:
    """The same, shared by the tests of one module (for expensive full builds)."""
    with pytest.MonkeyPatch.context() as mp:
        yield make_pipeline_env(tmp_path_factory.mktemp("pipeline"), tiny_simulation, mp)


@dataclass(frozen=True)
class TinyBuild:
    """A finished ``nightly_refresh`` on tiny: its data folder (landing, truth, warehouse), its
    Dagster instance folder, and the run's result as ``execute_in_process`` returned it (the
    run record and every event, serialized with Dagster's serdes)."""

    data: Path
    dagster_home: Path
    result: Path


def _folder_shared_by_workers(tmp_path_factory) -> Path:
    """This session's temp folder common to every xdist worker (each worker's own basetemp is a
    child of it); without xdist, the session's basetemp."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file`` (released when the file is closed, also
    when the process dies)."""
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build_tiny_nightly(target: Path, simulation: Path) -> None:
    """Run ``nightly_refresh`` into ``target``; the serialized result is written last, as the
    sign that the build is complete."""
    import dagster as dg

    from dagster_project.definitions import defs

    saved = os.environ.copy()  # the run exports the warehouse settings for dbt; restore them
    try:
        with pytest.MonkeyPatch.context() as mp:
            make_pipeline_env(target, simulation, mp)
            with dg.DagsterInstance.get() as instance:
                result = defs().resolve_job_def("nightly_refresh").execute_in_process(
                    instance=instance)
            assert result.success
    finally:
        os.environ.clear()
        os.environ.update(saved)
    (target / "result.json").write_text(
        dg.serialize_value([result.dagster_run, list(result.all_events)]))


@pytest.fixture(scope="session")
def tiny_nightly_build(tmp_path_factory, tiny_simulation) -> TinyBuild:
    """One ``nightly_refresh`` on tiny (seed 7, DuckDB, SQLite instance) for the whole session:
    the first xdist worker that asks builds it under a file lock, the other waits for it and
    reuses it. Never write into it: ``built_tiny_env`` hands each module a private copy."""
    shared = _folder_shared_by_workers(tmp_path_factory)
    target = shared / "tiny_nightly_build"
    with _exclusive(shared / "tiny_nightly_build.lock"):
        if not (target / "result.json").exists():
            shutil.rmtree(target, ignore_errors=True)  # a build interrupted by a failure
            target.mkdir()
            _build_tiny_nightly(target, tiny_simulation)
    return TinyBuild(data=target / "data", dagster_home=target / "dagster_home",
                     result=target / "result.json")


def saved_result(build: TinyBuild) -> dg.ExecuteInProcessResult:
    """The build's ``ExecuteInProcessResult``: the run record and the events its
    ``execute_in_process`` returned, read back from the build (outputs are not kept: no test
    of the shared build reads an op's output)."""
    import dagster as dg

    from dagster_project.definitions import defs

    run, events = dg.deserialize_value(build.result.read_text())
    return dg.ExecuteInProcessResult(event_list=events, dagster_run=run, output_capture=None,
                                     job_def=defs().resolve_job_def(run.job_name))


@pytest.fixture(scope="module")
def built_tiny_env(tmp_path_factory, tiny_nightly_build,
                   ) -> Iterator[tuple[PipelineEnv, dg.ExecuteInProcessResult]]:
    """A module's private copy of the session's tiny nightly build (warehouse, landing, truth
    and Dagster instance), the environment pointing at it, and the build's run result: what
    ``module_pipeline_env`` plus its own ``nightly_refresh`` gave, without paying the run."""
    with pytest.MonkeyPatch.context() as mp:
        env = make_pipeline_env(tmp_path_factory.mktemp("built"), tiny_nightly_build.data, mp,
                                dagster_home=tiny_nightly_build.dagster_home)
        yield env, saved_result(tiny_nightly_build)


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL 15 for the whole session (skips when the binaries are missing).

    Lives outside pytest's temp folder: the ``postgres`` user cannot enter root's private one.
    """
    import tempfile

    from dagster_project.devtools import pgserver

    if not pgserver.binaries_available():
        pytest.skip("PostgreSQL binaries not installed (.ci/run installs them)")
    folder = Path(tempfile.mkdtemp(prefix="bi_pg_"))
    os.chmod(folder, 0o755)
    server = pgserver.start(folder / "server")
    try:
        yield server
    finally:
        pgserver.stop(folder / "server", remove=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory):
    """A throwaway local Spark server (local[2], Thrift + Connect) for the whole session.

    Skips when pyspark or Java is missing (``.ci/run`` has both; ``make test-spark`` runs these).
    """
    from dagster_project.devtools import sparkserver

    pytest.importorskip("pyspark", reason="pyspark not installed (make install installs it)")
    if not sparkserver.java_available():
        pytest.skip("java not installed (Spark needs a JDK 17)")
    folder = tmp_path_factory.mktemp("spark") / "server"
    server = sparkserver.start(folder)
    try:
        yield server
    finally:
        sparkserver.stop(folder)


@pytest.fixture(scope="session")
def spark_session(spark_server):
    """A Spark Connect session to the session's throwaway Spark server."""
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(spark_server.connect_url).getOrCreate()
    yield session
    session.stop()


@pytest.fixture
def pg_dsn(pg_server) -> Iterator[str]:
    """A fresh, empty database on the session's server for one test (dropped afterwards)."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as con:
        con.execute(f'create database "{name}"')
    yield pg_server.conninfo(name)
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')


def _empty_warehouse(request, backend: str, tmp_path: Path):
    from dagster_project.warehouse import Warehouse

    if backend == "duckdb":
        return Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    if backend == "postgres":
        return Warehouse(backend="postgres", postgres_dsn=request.getfixturevalue("pg_dsn"))
    return Warehouse(backend="spark", spark_connect_url=request.getfixturevalue("spark_catalog"))


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_warehouse(request, tmp_path):
    """A ``Warehouse`` on an empty DuckDB file, then on an empty PostgreSQL database."""
    return _empty_warehouse(request, request.param, tmp_path)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("spark", marks=pytest.mark.spark)])
def every_warehouse(request, tmp_path):
    """``any_warehouse``, then also a ``Warehouse`` on the session's Spark server (emptied)."""
    return _empty_warehouse(request, request.param, tmp_path)


@pytest.fixture
def spark_catalog(spark_server) -> str:
    """The session's Spark server with every database but ``default`` dropped: its Connect
    URL. One catalog serves the whole session, so each test starts by emptying it."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(spark_server.connect_url).create()
    try:
        for db in spark.catalog.listDatabases():
            if db.name != "default":
                spark.sql(f"drop database `{db.name}` cascade")
    finally:
        spark.stop()
    return spark_server.connect_url


@pytest.fixture(scope="session")
def pipeline_env_factory():
    """``make_pipeline_env`` for tests that build several environments in one test/module."""
    return make_pipeline_env


def _load_beside(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def experiment_frames():
    """tests/experiment_frames.py (small registries and arm statistics), loaded by path."""
    return _load_beside("experiment_frames")


@pytest.fixture(scope="session")
def serving_helpers():
    """tests/serving_helpers.py (the serving API's warehouse, tokens and server), by path."""
    return _load_beside("serving_helpers")


@pytest.fixture(scope="session")
def dbt_helpers():
    """tests/dbt_helpers.py (hand-made raw rows for dbt builds), loaded by path."""
    return _load_beside("dbt_helpers")


@pytest.fixture(scope="session")
def table_comparison():
    """tests/table_comparison.py (normalize two engines' versions of a table, list differences)."""
    return _load_beside("table_comparison")



@pytest.fixture
def production_env(pipeline_env, pg_server, monkeypatch) -> str:
    """``pipeline_env`` as ``make run-postgres`` runs it, on the session's server: a warehouse
    database set up by the roles command (``make pg-roles``) and loaded as ``bi_writer``, and the
    Dagster instance in a second database configured by ``dagster.postgres.yaml.example`` (the
    Makefile's ``PG_ENV``). The warehouse database's name."""
    import uuid

    import psycopg

    from dagster_project.settings import PROJECT_ROOT

    warehouse_db, dagster_db = f"bi_{uuid.uuid4().hex[:8]}", f"dagster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as con:
        for name in (warehouse_db, dagster_db):
            con.execute(f'create database "{name}"')
    roles = subprocess.run(
        [sys.executable, "-m", "dagster_project.postgres.roles", "--dsn",
         pg_server.conninfo(warehouse_db)], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120, check=False)
    assert roles.returncode == 0, roles.stdout + roles.stderr
    (pipeline_env.dagster_home / "dagster.yaml").write_text(
        (PROJECT_ROOT / "dagster.postgres.yaml.example").read_text())
    for name, value in {
        **pg_server.warehouse_env(warehouse_db, user="bi_writer"),
        "DAGSTER_PG_USER": "postgres", "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": dagster_db,
    }.items():
        monkeypatch.setenv(name, value)
    return warehouse_db
