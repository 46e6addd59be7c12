"""A corpus of malformed landing files through the real ingest job, on DuckDB and on PostgreSQL:
every bad row is quarantined with its file, row, rule and column; every unreadable or refused
file is rejected by name with its reason, fails its table's ``<table>_files`` check and raises
an alert event, while the job succeeds and the other files load; nothing is lost.

Expected outcomes are written out per file below from the contract's rules (raw_tables.yml):
which row of the file was broken, and which rule that breaks.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import dagster as dg
import polars as pl
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_project.contract import RAW_TABLES
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

pytestmark = pytest.mark.integration

DROP_DAY = "date=2099-01-01"  # an EL tool's drop, outside the simulator's days


def simulated_files(landing, table):
    return sorted(p for p in (landing / table).rglob("*.parquet") if DROP_DAY not in p.parts)


def first_file(landing, table):
    return simulated_files(landing, table)[0]


def sample(landing, table, n=5) -> pl.DataFrame:
    """The first ``n`` simulated rows of ``table`` (from as many files as needed)."""
    return pl.read_parquet(simulated_files(landing, table)[:n]).head(n)


def drop_path(landing, table, name):
    path = landing / table / DROP_DAY / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write(landing, table, name, df: pl.DataFrame | None = None, data: bytes | None = None):
    path = drop_path(landing, table, name)
    if data is not None:
        path.write_bytes(data)
    elif name.lower().endswith(".csv"):
        df.write_csv(path)
    else:
        df.write_parquet(path)
    return path.relative_to(landing).as_posix()


def set_row(df: pl.DataFrame, row: int, column: str, value, dtype=None) -> pl.DataFrame:
    """``df`` with ``column`` of the 0-based ``row`` replaced by ``value``."""
    idx = pl.int_range(pl.len())
    new = pl.lit(value, dtype=dtype or df.schema[column])
    return df.with_columns(pl.when(idx == row).then(new).otherwise(pl.col(column)).alias(column))


def renamed(df: pl.DataFrame, key: str, suffix: str) -> pl.DataFrame:
    """New keys, so that only the planted fault can quarantine a row."""
    return df.with_columns(pl.col(key) + suffix)


def texts(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.all().cast(pl.String))


def with_arrow_column(df: pl.DataFrame, name: str, array: pa.Array) -> pa.Table:
    table = df.to_arrow()
    return table.set_column(table.column_names.index(name), name, array)


def build_corpus(landing, tmp):
    """Bad files. Returns (quarantined rows {file: {(row, rule, column)}} with rows 1-based,
    rejected files {file: a phrase of the reason})."""
    rows: dict[str, set[tuple[int, str, str]]] = {}
    rejected: dict[str, str] = {}

    # --- row rules (18 kinds before issue 11) ---
    conv = sample(landing, "conversions")
    rows[write(landing, "conversions", "negative_revenue.parquet",
               set_row(renamed(conv, "conversion_id", "-neg"), 1, "revenue", -5.0))] = {
        (2, "min", "revenue")}
    rows[write(landing, "conversions", "unknown_order_type.parquet",
               set_row(renamed(conv, "conversion_id", "-cat"), 2, "order_type", "refund"))] = {
        (3, "allowed_values", "order_type")}
    rows[write(landing, "conversions", "null_key.parquet",
               set_row(renamed(conv, "conversion_id", "-nul"), 0, "conversion_id", None))] = {
        (1, "not_null", "conversion_id")}
    rows[write(landing, "conversions", "redelivered_rows.parquet", conv.head(3))] = {
        (r, "duplicate_key", "conversion_id") for r in (1, 2, 3)}
    touch = renamed(sample(landing, "touchpoints"), "touchpoint_id", "-t")
    rows[write(landing, "touchpoints", "future.parquet",
               set_row(touch, 0, "touched_at", datetime(2031, 1, 1)))] = {
        (1, "time_range", "touched_at")}
    rows[write(landing, "touchpoints", "before_2000.parquet",
               set_row(renamed(touch, "touchpoint_id", "x"), 3, "touched_at",
                       datetime(1999, 12, 31)))] = {(4, "time_range", "touched_at")}
    eng = renamed(sample(landing, "content_engagement"), "content_id", "-x")
    rows[write(landing, "content_engagement", "negative_count.parquet",
               set_row(eng, 4, "impressions", -1))] = {(5, "min", "impressions")}
    res = renamed(sample(landing, "resource_usage"), "host", "-x")
    rows[write(landing, "resource_usage", "cpu_over_100.parquet",
               set_row(res, 2, "cpu_pct", 150.0))] = {(3, "max", "cpu_pct")}
    content = renamed(sample(landing, "content"), "content_id", "-csv")
    rows[write(landing, "content", "bad_int.csv",
               set_row(texts(content), 1, "hashtag_count", "abc"))] = {(2, "type", "hashtag_count")}
    subs = renamed(sample(landing, "subscription_events"), "event_id", "-csv")
    rows[write(landing, "subscription_events", "bad_price.csv",
               set_row(texts(subs), 0, "monthly_price", "free"))] = {(1, "type", "monthly_price")}
    clients = renamed(sample(landing, "clients", 3), "client_id", "-dup")
    rows[write(landing, "clients", "duplicate_within_file.parquet",
               pl.concat([clients, clients.head(2)]))] = {
        (4, "duplicate_key", "client_id"), (5, "duplicate_key", "client_id")}

    # --- row rules new in issue 11 ---
    loaded_keys = sample(landing, "touchpoints", 2)["touchpoint_id"]
    padded = touch.head(2).with_columns(
        pl.Series("touchpoint_id", [f" {k}  " for k in loaded_keys]))
    rows[write(landing, "touchpoints", "padded_keys.csv", texts(padded))] = {
        (1, "duplicate_key", "touchpoint_id"), (2, "duplicate_key", "touchpoint_id")}
    rows[write(landing, "clients", "blank_name.csv",
               set_row(texts(renamed(sample(landing, "clients", 3), "client_id", "-b")), 1,
                       "business_name", "   "))] = {(2, "not_null", "business_name")}
    rows[write(landing, "clients", "empty_name.parquet",
               set_row(renamed(sample(landing, "clients", 3), "client_id", "-e"), 2,
                       "business_name", ""))] = {(3, "not_null", "business_name")}
    rows[write(landing, "content", "published_2999.parquet",
               set_row(renamed(content, "content_id", "-f"), 3, "published_at",
                       datetime(2999, 1, 1)))] = {(4, "time_range", "published_at")}
    rows[write(landing, "content", "nul_in_text.parquet",
               set_row(renamed(content, "content_id", "-n"), 0, "campaign_id", "camp\x00aign",
                       pl.String))] = {(1, "type", "campaign_id")}
    whole = texts(renamed(content, "content_id", "-w"))
    whole = set_row(set_row(whole, 0, "hashtag_count", "3.0"), 1, "hashtag_count", "3.5")
    rows[write(landing, "content", "fraction_in_int.csv", whole)] = {(2, "type", "hashtag_count")}
    dec = renamed(content, "content_id", "-d").with_columns(
        pl.Series("hashtag_count", [Decimal("3.50")] + [Decimal("2.00")] * 4, pl.Decimal(6, 2)))
    rows[write(landing, "content", "decimal_fraction.parquet", dec)] = {
        (1, "type", "hashtag_count")}
    assign = renamed(sample(landing, "experiment_assignments"), "unit_id", "-m")
    rows[write(landing, "experiment_assignments", "metric_max_float.parquet",
               set_row(set_row(assign, 1, "metric_value", 1.79e308), 2, "pre_metric_value",
                       -1.79e308))] = {(2, "max", "metric_value"), (3, "min", "pre_metric_value")}
    rows[write(landing, "content_engagement", "impressions_1e11.parquet",
               set_row(renamed(eng, "content_id", "-i"), 0, "impressions", 10**11))] = {
        (1, "max", "impressions")}
    api = sample(landing, "api_requests").with_columns(pl.col("endpoint") + "/x")
    rows[write(landing, "api_requests", "latency_over_an_hour.parquet",
               set_row(api, 1, "latency_p99_ms", 1e7))] = {(2, "max", "latency_p99_ms")}
    rows[write(landing, "conversions", "nan_revenue.parquet",
               set_row(renamed(conv, "conversion_id", "-nan"), 4, "revenue", float("nan")))] = {
        (5, "type", "revenue")}
    exps = renamed(sample(landing, "experiments", 2), "experiment_id", "-p")
    rows[write(landing, "experiments", "planned_end_2100.parquet",
               set_row(exps, 1, "end_at", datetime(2100, 1, 1)))] = {(2, "time_range", "end_at")}
    jobs = renamed(sample(landing, "content_generation_jobs"), "job_id", "-f")
    rows[write(landing, "content_generation_jobs", "finished_in_the_future.parquet",
               set_row(jobs, 0, "finished_at", datetime.now() + timedelta(days=30)))] = {
        (1, "time_range", "finished_at")}
    usage = renamed(sample(landing, "feature_usage_logs"), "event_id", "-d")
    rows[write(landing, "feature_usage_logs", "use_longer_than_a_day.parquet",
               set_row(usage, 2, "duration_seconds", 90_000.0))] = {(3, "max", "duration_seconds")}
    spend = sample(landing, "marketing_spend").with_columns(pl.col("campaign_id") + "-s")
    rows[write(landing, "marketing_spend", "spend_2e9.parquet",
               set_row(spend, 0, "spend", 2e9))] = {(1, "max", "spend")}
    rows[write(landing, "conversions", "words_for_a_time.csv",
               set_row(texts(renamed(conv, "conversion_id", "-w")), 3, "converted_at",
                       "yesterday"))] = {(4, "type", "converted_at")}
    rows[write(landing, "content", "UPPER_CASE.CSV",
               set_row(texts(renamed(content, "content_id", "-u")), 2, "platform", "myspace"))] = {
        (3, "allowed_values", "platform")}

    # --- unreadable files (7 kinds before issue 11) ---
    good = first_file(landing, "conversions").read_bytes()
    rejected[write(landing, "conversions", "empty.parquet", data=b"")] = "empty file"
    rejected[write(landing, "conversions", "truncated.parquet", data=good[: len(good) // 2])] = (
        "not a readable Parquet file")
    rejected[write(landing, "touchpoints", "bad_quoting.csv",
                   data=b'touchpoint_id,client_id\n"t1,"c1\n"t2","c2"\n')] = "malformed CSV"
    rejected[write(landing, "clients", "latin1.csv",
                   data="client_id,business_name\nc1,Caf\xe9 M\xfcller\n".encode("latin-1"))] = (
        "not valid UTF-8")
    rejected[write(landing, "clients", "utf16.csv", data=clients.write_csv().encode("utf-16"))] = (
        "not valid UTF-8")
    rejected[write(landing, "conversions", "missing_revenue.parquet", conv.drop("revenue"))] = (
        "missing required column(s) revenue")
    rejected[write(landing, "experiments", "export.xlsx",
                   data=b"PK\x03\x04 not a spreadsheet we read")] = "unknown file type '.xlsx'"

    # --- unreadable or refused files new in issue 11 ---
    base = renamed(sample(landing, "clients", 3), "client_id", "-r")
    rejected[write(landing, "clients", "list_column.parquet", base.with_columns(
        pl.Series("business_name", [["a"], None, ["b", "c"]])))] = "nested type List(String)"
    rejected[write(landing, "clients", "struct_with_null.parquet", base.with_columns(
        pl.Series("client_id", [{"id": "cl-1"}, None, {"id": "cl-3"}])))] = "nested type Struct"
    rejected[write(landing, "clients", "struct_without_null.parquet", base.with_columns(
        pl.Series("client_id", [{"id": "cl-1"}, {"id": "cl-2"}, {"id": "cl-3"}])))] = (
        "nested type Struct")
    rejected[write(landing, "touchpoints", "duration_as_time.parquet", touch.with_columns(
        pl.Series("touched_at", [timedelta(minutes=5)] * touch.height)))] = "type Duration"
    header, *lines = texts(base).write_csv().splitlines()
    rejected[write(landing, "clients", "repeated_column.csv", data=(
        "\n".join([header + ",country"] + [r + ",FR" for r in lines]) + "\n").encode())] = (
        "duplicate column name(s) country")
    twice = base.to_arrow()
    pq.write_table(pa.Table.from_arrays([*twice.columns, twice.column("country")],
                                        names=[*twice.column_names, "country"]),
                   drop_path(landing, "clients", "repeated_column.parquet"))
    rejected[f"clients/{DROP_DAY}/repeated_column.parquet"] = "duplicate column name"
    pq.write_table(with_arrow_column(base, "business_name", pa.array(
        [b"ok", "Caf\xe9".encode("latin-1"), b"x"], pa.binary())),
        drop_path(landing, "clients", "binary_latin1.parquet"))
    rejected[f"clients/{DROP_DAY}/binary_latin1.parquet"] = "is not valid UTF-8"
    pq.write_table(with_arrow_column(base, "business_name", pa.array(
        [b"ok", b"\xff", b"x"], pa.binary()).view(pa.string())),
        drop_path(landing, "clients", "string_not_utf8.parquet"))
    rejected[f"clients/{DROP_DAY}/string_not_utf8.parquet"] = "invalid UTF-8"
    outside = tmp / "outside" / "conversions.parquet"
    outside.parent.mkdir()
    renamed(conv, "conversion_id", "-out").write_parquet(outside)
    os.symlink(outside, drop_path(landing, "conversions", "link_out.parquet"))
    rejected[f"conversions/{DROP_DAY}/link_out.parquet"] = "outside the landing folder; refused"
    os.symlink(tmp / "nothing.parquet", drop_path(landing, "conversions", "dangling.parquet"))
    rejected[f"conversions/{DROP_DAY}/dangling.parquet"] = "dangling symbolic link"
    os.mkfifo(drop_path(landing, "conversions", "pipe.csv"))
    rejected[f"conversions/{DROP_DAY}/pipe.csv"] = "not a regular file"
    name = drop_path(landing, "clients", os.fsdecode(b"caf\xe9.csv"))
    name.write_text(texts(renamed(base, "client_id", "-n")).write_csv())
    rejected[f"clients/{DROP_DAY}/caf\\xe9.csv"] = "file name is not valid UTF-8"
    return rows, rejected


def build_date_case(landing) -> tuple[str, list]:
    """A time-zone-aware observed_date: loads with its UTC day (not its local one)."""
    eng = renamed(sample(landing, "content_engagement", 2), "content_id", "-tz")
    local = pl.Series([datetime(2025, 1, 10, 23, 30)] * 2).dt.replace_time_zone("America/Chicago")
    return write(landing, "content_engagement", "aware_dates.parquet",
                 eng.with_columns(local.alias("observed_date"))), [datetime(2025, 1, 11).date()] * 2


def query(sql: str) -> pl.DataFrame:
    return Warehouse.from_settings(get_settings()).read(sql)


@pytest.fixture(scope="module",
                params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def corpus_run(request, tmp_path_factory, tiny_simulation, pipeline_env_factory):
    """The corpus on a fresh copy of tiny data, ingested by the job on one warehouse (once per
    warehouse: the tests below read its outcome)."""
    from dagster_project.definitions import defs

    with pytest.MonkeyPatch.context() as mp:
        tmp = tmp_path_factory.mktemp(f"corpus_{request.param}")
        env = pipeline_env_factory(tmp, tiny_simulation, mp)
        if request.param == "postgres":
            server = request.getfixturevalue("pg_server")
            db = f"corpus_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(server.conninfo(), autocommit=True) as con:
                con.execute(f'create database "{db}"')
            for name, value in server.warehouse_env(db).items():
                mp.setenv(name, value)
        rows, rejected = build_corpus(env.landing, tmp)
        date_case = build_date_case(env.landing)
        # the same content under a second name: a re-delivery, skipped and reported
        src = first_file(env.landing, "plan_prices")
        shutil.copy(src, src.with_name("plan_prices-redelivered.parquet"))
        job = defs().resolve_job_def("ingest_landing_files")
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(instance=instance, raise_on_error=False)
        yield env, result, rows, rejected, date_case


def test_the_corpus_holds_at_least_twenty_new_kinds_of_malformed_files(corpus_run):
    _, _, rows, rejected, _ = corpus_run
    assert len(rows) + len(rejected) >= 18 + 20  # 18 before issue 11


def test_the_job_succeeds_and_every_file_of_the_corpus_is_loaded_quarantined_or_rejected(
        corpus_run):
    _, result, _, _, _ = corpus_run
    assert result.success  # a bad file blocks nothing: it is a failed check and an alert


def test_each_bad_row_is_quarantined_with_its_file_row_rule_and_column(corpus_run):
    _, _, rows, _, _ = corpus_run
    for table in {f.split("/")[0] for f in rows}:
        q = query(f"select source_file, source_row, rule, column_name from raw_quarantine.{table}")
        for file, expected in rows.items():
            if file.startswith(table + "/"):
                got = q.filter(pl.col("source_file") == file).drop("source_file")
                assert set(got.iter_rows()) == expected, file


def test_quarantine_names_the_exact_row_and_value(corpus_run):
    rows = query("select source_row, column_name, value from raw_quarantine.conversions "
                 "where source_file like '%negative_revenue.parquet'").rows()
    assert rows == [(2, "revenue", "-5.0")]  # 0-based row 1 of the file is data row 2
    nul = query("select value from raw_quarantine.content "
                "where source_file like '%nul_in_text.parquet'").item()
    assert nul == "camp\\u0000aign"  # stored on PostgreSQL too, which refuses a NUL


def test_trimmed_whole_and_utc_values_load_as_the_contract_says(corpus_run):
    _, _, _, _, (date_file, utc_days) = corpus_run
    days = query(f"select observed_date from raw.content_engagement "
                 f"where _source_file = '{date_file}'")["observed_date"].to_list()
    assert days == utc_days
    three = query("select hashtag_count from raw.content "
                  "where _source_file like '%fraction_in_int.csv' and _source_row = 1").item()
    assert three == 3  # "3.0" in CSV, as a Parquet 3.0 loads


def test_each_rejected_file_is_recorded_with_its_reason_checked_and_alerted(corpus_run):
    _, result, _, rejected, _ = corpus_run
    recorded = dict(query("select file_path, reason from ops.rejected_files").rows())
    assert set(recorded) == set(rejected)
    for file, phrase in rejected.items():
        assert phrase in recorded[file], file
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for table in {f.split("/")[0] for f in rejected}:
        check = checks[f"{table}_files"]
        assert not check.passed
        names = {f for f in rejected if f.startswith(table + "/")}
        assert check.metadata["pending_files"].value == len(names)
        assert all(f in check.metadata["rejected"].value for f in names), table
    alerted = set(query("select entity from analytics.alert_events where source = 'ingest'")
                  ["entity"])
    assert alerted == {f"raw.{f.split('/')[0]}/{f}" for f in rejected}
    passed = {name for name, e in checks.items() if name.endswith("_files") and e.passed}
    assert passed == {f"{t}_files" for t in RAW_TABLES} - {
        f"{f.split('/')[0]}_files" for f in rejected}


def shown(path, landing) -> str:
    """A path as ingest records it (undecodable bytes of a name as \\xNN)."""
    return os.fsencode(path.relative_to(landing).as_posix()).decode("utf-8", "backslashreplace")


def test_nothing_is_lost_rows_read_equal_loaded_plus_quarantined(corpus_run):
    env, _, _, rejected, _ = corpus_run
    for table in RAW_TABLES:
        per_file = query(
            f"select file_path, rows_read, rows_loaded, rows_quarantined from ops.ingested_files "
            f"where table_name = '{table}' and status = 'loaded'"
        )
        raw = dict(query(f"select _source_file, count(*) as n from raw.{table} group by 1").rows())
        quarantined = dict(query(f"select source_file, count(*) as n from raw_quarantine.{table} "
                                 "group by 1").rows())
        for file, read, loaded, quarantined_n in per_file.iter_rows():
            path = env.landing / file
            in_file = (pl.read_csv(path, infer_schema=False) if path.suffix.lower() == ".csv"
                       else pl.read_parquet(path)).height
            assert read == in_file == loaded + quarantined_n, file
            assert raw.get(file, 0) == loaded and quarantined.get(file, 0) == quarantined_n, file
        on_disk = {shown(p, env.landing) for p in (env.landing / table).rglob("*")
                   if not p.is_dir() or p.is_symlink()}
        recorded = set(query(f"select file_path from ops.ingested_files "
                             f"where table_name = '{table}'")["file_path"])
        assert on_disk == recorded | {f for f in rejected if f.startswith(table + "/")}, table


def test_redelivered_file_is_skipped_not_duplicated(corpus_run):
    env, _, _, _, _ = corpus_run
    status = dict(query("select file_path, status from ops.ingested_files "
                        "where table_name = 'plan_prices'").rows())
    assert "duplicate" in status.values()
    n_raw = query("select count(*) as n from raw.plan_prices").item()
    original = sum(pl.read_parquet(p).height for p in (env.landing / "plan_prices").rglob(
        "*.parquet") if "redelivered" not in p.name)
    assert n_raw == original
