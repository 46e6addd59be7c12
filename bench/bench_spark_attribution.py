"""Attribution fanned out on Spark local[2]: time and per-task memory with 1, 2 and 4 shuffle partitions per core, beside the in-process run on the same marts.

Synthetic attribution marts of the large scale's size (5,672 clients, 335 journeys each as in
``bench_attribution_batches``; 100 clients with ``--scale tiny``) in a DuckDB file (not
measured), the grouped journeys and rule credits exported from it to Parquet files (as the
marts are on Spark: files Spark reads itself; not measured). Each measured step (its own
process) has a throwaway Spark server (one local[2] JVM, 4 GB heap) read them and runs
``defs.attribution.spark.attribute_on_spark`` (200 resamples, default batches) with
``spark.sql.shuffle.partitions`` = 1, 2 or 4 per core, writing both outputs into a Spark table
(after one unreported warm-up run).
Per-task memory is the largest RSS of any one of Spark's Python worker processes during the
step (sampled from /proc every 0.2 s; a worker runs one task at a time; RSS counts pages shared
with the daemon it was forked from, so it is an upper bound); the step's own peak is the
driver's. The in-process run is ``bench_attribution_batches.attribute_marts`` on the same file.
"""

from __future__ import annotations

from bench_attribution_batches import attribute_marts, synthetic_marts  # noqa: F401 (steps)
from benchlib import Context, Record

ORDER = 64
CLIENTS = 5_672  # the large scale's clients
CORES = 2
PER_CORE = (1, 2, 4)


def _python_workers(server_pid: int) -> list[int]:
    """Spark's Python worker processes: the descendants of the server's JVM running Python."""
    from pathlib import Path

    from tree_memory import _children

    found, stack = [], [server_pid]
    while stack:
        pid = stack.pop()
        kids = _children(pid)
        stack += kids
        try:
            if pid != server_pid and "python" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(
                    errors="replace"):
                found.append(pid)
        except OSError:
            continue
    return found


def export_journeys(duckdb_path: str, folder: str) -> dict:
    """The grouped journeys and rule credits (the asset's source queries over every client) as
    Parquet files ``paths.parquet`` and ``credits.parquet`` in ``folder``."""
    from pathlib import Path

    from dagster_project.defs.attribution.sources import JOURNEYS_SQL, RULE_CREDITS_SQL
    from dagster_project.warehouse.duckdb_backend import DuckDBSession

    with DuckDBSession.open(duckdb_path, read_only=True) as session:
        lo, hi = session.read("select min(client_id), max(client_id) "
                              "from marts.fct_attribution_paths").row(0)
        paths = session.read(JOURNEYS_SQL, [lo, hi])
        paths.write_parquet(Path(folder) / "paths.parquet")
        credits = session.read(RULE_CREDITS_SQL, [lo, hi] * 2)
        credits.write_parquet(Path(folder) / "credits.parquet")
    return {"journey_groups": paths.height, "credit_rows": credits.height}


def attribute_spark(folder: str, connect_url: str, server_pid: int, partitions: int) -> dict:
    """The measured step: Spark reads the journeys, the fan-out, both outputs written."""
    import threading

    from pyspark.sql import SparkSession
    from tree_memory import rss_mb

    from dagster_project.analytics.attribution import AttributionSettings
    from dagster_project.defs.attribution.spark import attribute_on_spark

    spark = SparkSession.builder.remote(connect_url).getOrCreate()
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    peak = {"worker": 0.0, "workers": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss = [rss_mb(p) for p in _python_workers(server_pid)]
            peak["worker"] = max(peak["worker"], max(rss, default=0.0))
            peak["workers"] = max(peak["workers"], sum(rss))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        spark.sql("create database if not exists bench")
        run = attribute_on_spark(spark, spark.read.parquet(f"{folder}/paths.parquet"),
                                 spark.read.parquet(f"{folder}/credits.parquet"),
                                 AttributionSettings())
        run.union.write.mode("overwrite").saveAsTable("bench.attribution_union")
        rows = spark.table("bench.attribution_union").count()
    finally:
        stop.set()
        sampler.join()
        spark.stop()
    return {"batches": run.batches, "rows": rows, "worker_peak_mb": round(peak["worker"], 1),
            "workers_peak_mb": round(peak["workers"], 1)}


def run(ctx: Context) -> list[Record]:
    from dagster_project.devtools import sparkserver

    clients = 100 if ctx.scale == "tiny" else CLIENTS
    db = ctx.path("spark-attribution", "journeys.duckdb")
    db.unlink(missing_ok=True)
    ctx.measure("bench_attribution_batches:synthetic_marts", label="spark-marts",
                duckdb_path=str(db), clients=clients, seed=ctx.seed)
    local = ctx.measure("bench_attribution_batches:attribute_marts", label="attribute-in-process",
                        duckdb_path=str(db), one_batch=False)
    files = ctx.dir("spark-attribution", "journeys")
    ctx.measure("bench_spark_attribution:export_journeys", label="spark-export",
                duckdb_path=str(db), folder=str(files))
    folder = ctx.dir("spark-attribution", "server")
    server = sparkserver.start(folder, cores=CORES)
    pid = int((folder / "server.pid").read_text())
    records = [Record.from_measurement(
        f"attribution in process, {clients:,} clients (reference)", round(local.seconds, 1), "s",
        local, notes=f"{local.result['journeys']:,} journeys; the DuckDB source, no Spark")]
    try:  # a first run, not reported, starts the JVM's code paths and the Python workers
        ctx.measure("bench_spark_attribution:attribute_spark", label="spark-warm-up",
                    folder=str(files), connect_url=server.connect_url, server_pid=pid,
                    partitions=CORES)
        for k in PER_CORE:
            m = ctx.measure("bench_spark_attribution:attribute_spark", label=f"spark-{k}-per-core",
                            folder=str(files), connect_url=server.connect_url, server_pid=pid,
                            partitions=k * CORES)
            r = m.result
            records.append(Record.from_measurement(
                f"attribution on Spark local[{CORES}], {k} partition(s) per core",
                round(m.seconds, 1), "s", m,
                notes=f"{r['batches']} batches; largest Python worker {r['worker_peak_mb']:,.0f} "
                      f"MB, all workers {r['workers_peak_mb']:,.0f} MB; driver peak "
                      f"{m.peak_rss_mb:,.0f} MB; {r['rows']:,} output rows"))
    finally:
        sparkserver.stop(folder)
        db.unlink(missing_ok=True)
    return records
