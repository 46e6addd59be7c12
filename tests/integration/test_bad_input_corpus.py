"""A corpus of malformed landing files through the real ingest job: every bad row is quarantined
with its file, row and rule; every unreadable file is rejected by name; nothing is lost."""

from __future__ import annotations

import shutil
from datetime import datetime

import dagster as dg
import duckdb
import polars as pl
import pytest

from dagster_project.contract import RAW_TABLES

pytestmark = pytest.mark.integration


def first_file(landing, table):
    return min((landing / table).rglob("*.parquet"))


def sample(landing, table, n=5) -> pl.DataFrame:
    return pl.read_parquet(first_file(landing, table)).head(n)


def write(landing, table, name, df: pl.DataFrame | None = None, data: bytes | None = None):
    path = landing / table / "date=2099-01-01" / name  # an EL tool's drop, outside the sim's days
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is not None:
        path.write_bytes(data)
    elif name.endswith(".csv"):
        df.write_csv(path)
    else:
        df.write_parquet(path)
    return path.relative_to(landing).as_posix()


def set_row(df: pl.DataFrame, row: int, column: str, value, dtype=None) -> pl.DataFrame:
    """``df`` with ``column`` of the 0-based ``row`` replaced by ``value``."""
    idx = pl.int_range(pl.len())
    new = pl.lit(value, dtype=dtype or df.schema[column])
    return df.with_columns(pl.when(idx == row).then(new).otherwise(pl.col(column)).alias(column))


def build_corpus(landing):
    """Bad files; returns (row-level expectations {file: {rule: rows}}, rejected file names)."""
    rows: dict[str, dict[str, int]] = {}
    conv = sample(landing, "conversions")
    rows[write(landing, "conversions", "negative_revenue.parquet",
               set_row(conv.with_columns(pl.col("conversion_id") + "-neg"), 1, "revenue", -5.0))] = {"min": 1}
    rows[write(landing, "conversions", "unknown_order_type.parquet",
               set_row(conv.with_columns(pl.col("conversion_id") + "-cat"), 2, "order_type", "refund"))] = {"allowed_values": 1}
    rows[write(landing, "conversions", "null_key.parquet",
               set_row(conv.with_columns(pl.col("conversion_id") + "-nul"), 0, "conversion_id", None))] = {"not_null": 1}
    rows[write(landing, "conversions", "redelivered_rows.parquet", conv.head(3))] = {"duplicate_key": 3}
    touch = sample(landing, "touchpoints").with_columns(pl.col("touchpoint_id") + "-t")
    rows[write(landing, "touchpoints", "future.parquet",
               set_row(touch, 0, "touched_at", datetime(2031, 1, 1)))] = {"time_range": 1}
    rows[write(landing, "touchpoints", "before_2000.parquet",
               set_row(touch.with_columns(pl.col("touchpoint_id") + "x"), 3, "touched_at", datetime(1999, 12, 31)))] = {"time_range": 1}
    eng = sample(landing, "content_engagement").with_columns(pl.col("content_id") + "-x")
    rows[write(landing, "content_engagement", "negative_count.parquet",
               set_row(eng, 4, "impressions", -1))] = {"min": 1}
    res = sample(landing, "resource_usage").with_columns(pl.col("host") + "-x")
    rows[write(landing, "resource_usage", "cpu_over_100.parquet", set_row(res, 2, "cpu_pct", 150.0))] = {"max": 1}
    content = sample(landing, "content").with_columns(pl.col("content_id") + "-csv")
    content_csv = content.with_columns(pl.col("hashtag_count").cast(pl.String))
    rows[write(landing, "content", "bad_int.csv", set_row(content_csv, 1, "hashtag_count", "abc"))] = {"type": 1}
    subs = sample(landing, "subscription_events").with_columns(pl.col("event_id") + "-csv")
    subs_csv = subs.with_columns(pl.col("monthly_price").cast(pl.String))
    rows[write(landing, "subscription_events", "bad_price.csv", set_row(subs_csv, 0, "monthly_price", "free"))] = {"type": 1}
    clients = sample(landing, "clients", 3).with_columns(pl.col("client_id") + "-dup")
    rows[write(landing, "clients", "duplicate_within_file.parquet", pl.concat([clients, clients.head(2)]))] = {"duplicate_key": 2}

    good = first_file(landing, "conversions").read_bytes()
    rejected = {
        write(landing, "conversions", "empty.parquet", data=b""),
        write(landing, "conversions", "truncated.parquet", data=good[: len(good) // 2]),
        write(landing, "touchpoints", "bad_quoting.csv",
              data=b'touchpoint_id,client_id\n"t1,"c1\n"t2","c2"\n'),
        write(landing, "clients", "latin1.csv",
              data="client_id,business_name\nc1,Caf\xe9 M\xfcller\n".encode("latin-1")),
        write(landing, "clients", "utf16.csv", data=clients.write_csv().encode("utf-16")),
        write(landing, "conversions", "missing_revenue.parquet", conv.drop("revenue")),
        write(landing, "experiments", "export.xlsx", data=b"PK\x03\x04 not a spreadsheet we read"),
    }
    return rows, rejected


@pytest.fixture
def corpus_run(pipeline_env):
    from dagster_project.definitions import defs

    landing = pipeline_env.landing
    rows, rejected = build_corpus(landing)
    # the same content under a second name: a re-delivery, skipped and reported
    src = first_file(landing, "plan_prices")
    shutil.copy(src, src.with_name("plan_prices-redelivered.parquet"))
    job = defs().resolve_job_def("ingest_landing_files")
    result = job.execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False)
    con = duckdb.connect(str(pipeline_env.duckdb_path), read_only=True)
    yield pipeline_env, result, rows, rejected, con
    con.close()


def test_corpus_has_at_least_fifteen_malformed_files(pipeline_env):
    rows, rejected = build_corpus(pipeline_env.landing)
    assert len(rows) + len(rejected) >= 15


def test_each_bad_row_is_quarantined_with_file_row_rule_and_value(corpus_run):
    _, _, rows, _, con = corpus_run
    for table in {f.split("/")[0] for f in rows}:
        q = con.sql(
            f"select source_file, source_row, rule, column_name, value from raw_quarantine.{table}"
        ).pl()
        for file, expected in rows.items():
            if not file.startswith(table + "/"):
                continue
            got = q.filter(pl.col("source_file") == file)
            assert dict(got.group_by("rule").len().iter_rows()) == expected, file
            assert got["source_row"].min() >= 1
            assert got["column_name"].is_not_null().all()


def test_quarantine_names_the_exact_row_and_value(corpus_run):
    _, _, _, _, con = corpus_run
    row = con.sql(
        "select source_row, column_name, value from raw_quarantine.conversions "
        "where source_file like '%negative_revenue.parquet'"
    ).fetchall()
    assert row == [(2, "revenue", "-5.0")]  # 0-based row 1 of the file is data row 2


def test_unreadable_files_are_rejected_by_name_and_the_run_says_why(corpus_run):
    _, result, _, rejected, con = corpus_run
    assert not result.success
    recorded = dict(con.sql("select file_path, reason from ops.rejected_files").fetchall())
    assert set(recorded) == rejected
    assert all(reason for reason in recorded.values())
    failures = " ".join(
        e.step_failure_data.user_failure_data.description
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.user_failure_data
    )
    for name in rejected:
        assert name.split("/")[-1] in failures


def test_nothing_is_lost_rows_read_equal_loaded_plus_quarantined(corpus_run):
    env, _, _, rejected, con = corpus_run
    for table in RAW_TABLES:
        per_file = con.sql(
            f"select file_path, rows_read, rows_loaded, rows_quarantined from ops.ingested_files "
            f"where table_name = '{table}' and status = 'loaded'"
        ).pl()
        raw = dict(con.sql(f"select _source_file, count(*) from raw.{table} group by 1").fetchall())
        quarantined = dict(
            con.sql(f"select source_file, count(*) from raw_quarantine.{table} group by 1").fetchall()
        )
        for file, read, loaded, quarantined_n in per_file.iter_rows():
            path = env.landing / file
            in_file = (pl.read_csv(path, infer_schema=False) if path.suffix == ".csv" else pl.read_parquet(path)).height
            assert read == in_file == loaded + quarantined_n, file
            assert raw.get(file, 0) == loaded and quarantined.get(file, 0) == quarantined_n, file
        on_disk = {p.relative_to(env.landing).as_posix() for p in (env.landing / table).rglob("*.*")}
        accounted = set(per_file["file_path"]) | rejected | set(
            con.sql(f"select file_path from ops.ingested_files where table_name = '{table}'").pl()["file_path"]
        )
        assert on_disk <= accounted, table


def test_redelivered_file_is_skipped_not_duplicated(corpus_run):
    env, _, _, _, con = corpus_run
    status = dict(
        con.sql("select file_path, status from ops.ingested_files where table_name = 'plan_prices'").fetchall()
    )
    assert "duplicate" in status.values()
    n_raw = con.sql("select count(*) from raw.plan_prices").fetchall()[0][0]
    original = sum(pl.read_parquet(p).height for p in (env.landing / "plan_prices").rglob("*.parquet")
                   if "redelivered" not in p.name)
    assert n_raw == original
