"""Full pipeline (nightly_refresh) at `small`: PostgreSQL warehouse vs DuckDB, same machine, one run each."""

from __future__ import annotations

import dataclasses

from bench_simulator import landing_paths, simulate_landing
from benchlib import Context, Record
from pgbench_server import pg_env, throwaway_server

ORDER = 50
SCALE = "small"  # fixed by the issue; `--scale tiny` gives a quick check


def run_nightly(data_dir: str, landing_dir: str, truth_dir: str, dagster_home: str) -> dict:
    """The measured step: the `nightly_refresh` job in-process against a fresh SQLite instance,
    on whichever warehouse the environment selects."""
    import os
    from pathlib import Path

    for name, value in {
        "BI_DATA_DIR": data_dir,
        "BI_LANDING_DIR": landing_dir,
        "BI_TRUTH_DIR": truth_dir,
        "BI_DUCKDB_PATH": str(Path(data_dir) / "warehouse.duckdb"),
        "DAGSTER_HOME": dagster_home,
    }.items():
        os.environ[name] = value
    Path(dagster_home).mkdir(parents=True, exist_ok=True)
    (Path(dagster_home) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    import dagster as dg

    from dagster_project.definitions import defs

    with dg.DagsterInstance.get() as instance:
        result = (
            defs()
            .resolve_job_def("nightly_refresh")
            .execute_in_process(instance=instance, raise_on_error=False)
        )
    if not result.success:
        failed = [e.message for e in result.all_events if e.is_failure]
        raise RuntimeError(f"nightly_refresh failed: {failed[:3]}")
    return {"assets": len(result.get_asset_materialization_events())}


def run(ctx: Context) -> list[Record]:
    scale = "tiny" if ctx.scale == "tiny" else SCALE
    sctx = dataclasses.replace(ctx, scale=scale)
    landing, truth, done = landing_paths(sctx)
    if not done.exists():
        simulate_landing(sctx, label=f"simulate-{scale}")
    times = {}
    with throwaway_server(("bi",)) as server:
        for backend in ("duckdb", "postgres"):
            data = ctx.dir(f"pipeline-{backend}-{scale}")
            for old in data.glob("warehouse.duckdb*"):
                old.unlink()
            env = pg_env(server, "bi") if backend == "postgres" else {"BI_WAREHOUSE": "duckdb"}
            times[backend] = ctx.measure(
                "bench_pipeline_postgres:run_nightly",
                env=env,
                label=f"nightly-{backend}-{scale}",
                data_dir=str(data),
                landing_dir=str(landing),
                truth_dir=str(truth),
                dagster_home=str(ctx.dir(f"dagster-{backend}-{scale}")),
            )
    duck, pg = times["duckdb"], times["postgres"]
    assets = pg.result["assets"]
    note = f"scale {scale}, seed {ctx.seed}, {assets} assets, Dagster instance SQLite, in-process"
    return [
        Record.from_measurement("duckdb_seconds", round(duck.seconds, 1), "s", duck, notes=note),
        Record.from_measurement("postgres_seconds", round(pg.seconds, 1), "s", pg, notes=note),
        Record(
            "postgres_over_duckdb",
            round(pg.seconds / duck.seconds, 2),
            "x",
            notes="wall-time ratio of the two runs above (one run each, same machine)",
        ),
    ]
