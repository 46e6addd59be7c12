"""The value rules issue 11 added, on DuckDB and PostgreSQL: trimmed text, blank = missing,
whole-number integers in CSV and Parquet alike, NUL characters, UTC days, upper time bounds on
every checked timestamp, bounds on every measure.

Expected outcomes come from the rules as written in raw_tables.yml's header and the contract's
columns (checked_times, min, max), applied by hand to each value below.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest

from dagster_project.ingest.load import ingest_table
from dagster_project.ingest.testing import landing_path, valid_rows, write_landing_file

NOW = datetime(2026, 1, 1)


@pytest.fixture
def wh(any_warehouse):
    return any_warehouse


def ingest(wh, landing, table):
    with wh.session() as s:
        return ingest_table(s, table, landing, NOW)


def put(df, landing, table, day="2024-01-01", suffix="parquet"):
    return write_landing_file(df, landing_path(landing, table, day, suffix))


def column(df: pl.DataFrame, name: str, values: list, dtype=None) -> pl.DataFrame:
    return df.with_columns(pl.Series(name, values, dtype=dtype))


def quarantine(wh, table) -> list[dict]:
    return wh.read(f"select source_row, rule, column_name, value, violations "
                   f"from raw_quarantine.{table} order by source_row").to_dicts()


def test_a_key_with_surrounding_spaces_is_the_same_key_and_a_duplicate_of_the_loaded_one(
        wh, tmp_path):
    first = valid_rows("conversions", 2)
    put(first, tmp_path, "conversions")
    ingest(wh, tmp_path, "conversions")
    padded = first.head(1).with_columns(("  " + pl.col("conversion_id") + "\t").alias(
        "conversion_id"))
    put(padded, tmp_path, "conversions", day="2024-01-02", suffix="csv")
    report = ingest(wh, tmp_path, "conversions")
    assert (report.rows_loaded, report.rows_quarantined) == (0, 1)
    [q] = quarantine(wh, "conversions")
    assert (q["rule"], q["column_name"]) == ("duplicate_key", "conversion_id")
    assert q["value"] == padded["conversion_id"][0]  # the value as delivered, spaces included
    assert wh.read("select count(*) from raw.conversions").item() == 2  # the order counted once


def test_text_values_are_stored_trimmed(wh, tmp_path):
    df = column(valid_rows("clients", 2), "business_name", ["  Cafe Mueller ", "\u00a0Bar\u3000"])
    put(df, tmp_path, "clients", suffix="csv")
    ingest(wh, tmp_path, "clients")
    names = wh.read("select business_name from raw.clients order by _source_row")
    assert names["business_name"].to_list() == ["Cafe Mueller", "Bar"]  # NBSP, ideographic space


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_blank_text_in_a_required_column_is_not_null(wh, tmp_path, suffix, blank):
    df = column(valid_rows("clients", 3), "business_name", ["a", blank, "c"])
    put(df, tmp_path, "clients", suffix=suffix)
    report = ingest(wh, tmp_path, "clients")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    [q] = quarantine(wh, "clients")
    assert (q["source_row"], q["rule"], q["column_name"]) == (2, "not_null", "business_name")


def test_blank_text_in_a_nullable_column_loads_as_null(wh, tmp_path):
    df = column(valid_rows("content", 2), "campaign_id", ["  ", "camp-1"])
    put(df, tmp_path, "content")
    assert ingest(wh, tmp_path, "content").rows_loaded == 2
    got = wh.read("select campaign_id from raw.content order by _source_row")["campaign_id"]
    assert got.to_list() == [None, "camp-1"]


def test_blank_text_in_a_numeric_column_is_missing_not_a_type_error(wh, tmp_path):
    df = column(valid_rows("content_generation_jobs", 2).cast({"quality_score": pl.String}),
                "quality_score", ["  ", "0.5"])
    put(df, tmp_path, "content_generation_jobs", suffix="csv")
    assert ingest(wh, tmp_path, "content_generation_jobs").rows_quarantined == 0
    got = wh.read("select quality_score from raw.content_generation_jobs order by _source_row")
    assert got["quality_score"].to_list() == [None, 0.5]


def integer_outcome(wh, tmp_path, values, dtype, suffix):
    df = valid_rows("content", len(values)).with_columns(
        pl.Series("hashtag_count", values, dtype=dtype))
    put(df, tmp_path, "content", suffix=suffix)
    ingest(wh, tmp_path, "content")
    loaded = wh.read("select _source_row, hashtag_count from raw.content").rows()
    rules = {q["source_row"]: q["rule"] for q in quarantine(wh, "content")}
    return dict(loaded), rules


# one rule for both formats: a whole number loads, whatever it is written as; a fraction never
@pytest.mark.parametrize(("values", "dtype", "suffix"), [
    (["3", "3.0", "3.5", "1e1"], pl.String, "csv"),
    ([3.0, 3.0, 3.5, 10.0], pl.Float64, "parquet"),
    ([Decimal("3.00"), Decimal("3.00"), Decimal("3.50"), Decimal("10.00")], pl.Decimal(6, 2),
     "parquet"),
])
def test_an_integer_column_takes_whole_numbers_only_in_csv_and_parquet_alike(
        wh, tmp_path, values, dtype, suffix):
    loaded, rules = integer_outcome(wh, tmp_path, values, dtype, suffix)
    assert loaded == {1: 3, 2: 3, 4: 10}
    assert rules == {3: "type"}  # 3.5: never truncated to 3


def test_an_aware_datetime_in_a_date_column_takes_its_utc_day(wh, tmp_path):
    # 2024-03-01 23:30 in New York is 2024-03-02 04:30 UTC; 2024-03-02 01:00 in Tokyo is
    # 2024-03-01 16:00 UTC
    local = [datetime(2024, 3, 1, 23, 30), datetime(2024, 3, 2, 1, 0)]
    zones = ["America/New_York", "Asia/Tokyo"]
    df = valid_rows("content_engagement", 2)
    days = pl.concat([pl.Series([t]).dt.replace_time_zone(z).dt.convert_time_zone("UTC")
                      for t, z in zip(local, zones)])
    put(df.with_columns(days.alias("observed_date")), tmp_path, "content_engagement")
    ingest(wh, tmp_path, "content_engagement")
    got = wh.read("select observed_date from raw.content_engagement order by _source_row")
    assert got["observed_date"].to_list() == [date(2024, 3, 2), date(2024, 3, 1)]


def test_a_nul_character_in_a_parquet_string_is_a_type_violation_on_both_warehouses(
        wh, tmp_path):
    """PostgreSQL's COPY refused the whole table's batch ("invalid byte sequence ... 0x00");
    now the row is quarantined, with the NUL shown as its JSON escape, and the rest loads."""
    df = column(valid_rows("clients", 3), "business_name", ["a", "Caf\x00e", "c"])
    put(df, tmp_path, "clients")
    report = ingest(wh, tmp_path, "clients")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    [q] = quarantine(wh, "clients")
    assert (q["source_row"], q["rule"], q["column_name"], q["value"]) == (
        2, "type", "business_name", "Caf\\u0000e")


def test_a_nul_character_in_a_nullable_column_or_a_key_is_a_type_violation(wh, tmp_path):
    df = valid_rows("content", 3)
    df = column(df, "campaign_id", [None, "c\x00", None])
    df = column(df, "content_id", ["p1", "p2", "p\x003"])
    put(df, tmp_path, "content")
    report = ingest(wh, tmp_path, "content")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 2)
    assert [(q["rule"], q["column_name"]) for q in quarantine(wh, "content")] == [
        ("type", "campaign_id"), ("type", "content_id")]


def test_every_checked_time_has_an_upper_bound_not_only_the_partition_column(wh, tmp_path):
    """content.published_at is not the partition column but is in checked_times: 2999 (the
    issue's case) and one second after the load time are refused, the load time itself is not."""
    df = column(valid_rows("content", 3), "published_at",
                [datetime(2999, 1, 1), datetime(2026, 1, 1, 0, 0, 1), NOW])
    put(df, tmp_path, "content")
    report = ingest(wh, tmp_path, "content")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 2)
    assert [(q["source_row"], q["rule"], q["column_name"]) for q in quarantine(wh, "content")] == [
        (1, "time_range", "published_at"), (2, "time_range", "published_at")]


def test_a_planned_time_may_be_ahead_of_the_load_time_but_not_in_2100(wh, tmp_path):
    df = column(valid_rows("experiments", 3), "end_at",
                [datetime(2030, 6, 1), datetime(2099, 12, 31, 23, 59), datetime(2100, 1, 1)])
    put(df, tmp_path, "experiments")
    report = ingest(wh, tmp_path, "experiments")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    [q] = quarantine(wh, "experiments")
    assert (q["source_row"], q["rule"], q["column_name"]) == (3, "time_range", "end_at")


@pytest.mark.parametrize(("table", "name", "value", "rule"), [
    ("experiment_assignments", "metric_value", 1.79e308, "max"),  # the NaN maker
    ("experiment_assignments", "pre_metric_value", -1.79e308, "min"),
    ("conversions", "revenue", 1.5e9, "max"),
    ("api_requests", "latency_p99_ms", 3.6e6 + 1, "max"),
    ("feature_usage_logs", "duration_seconds", 86_401.0, "max"),
    ("content_engagement", "impressions", 10**10 + 1, "max"),
])
def test_a_measure_beyond_its_contract_bound_is_quarantined(wh, tmp_path, table, name, value,
                                                            rule):
    df = valid_rows(table, 3)
    df = df.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(value, df.schema[name]))
                         .otherwise(pl.col(name)).alias(name))
    put(df, tmp_path, table)
    report = ingest(wh, tmp_path, table)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    [q] = quarantine(wh, table)
    assert (q["source_row"], q["rule"], q["column_name"]) == (2, rule, name)


def test_a_negative_metric_value_within_its_bound_loads(wh, tmp_path):
    """Net 14-day revenue may be negative (the simulator's CUPED experiment draws such values)."""
    df = column(valid_rows("experiment_assignments", 2), "metric_value", [-13.64, 1e9])
    put(df, tmp_path, "experiment_assignments")
    assert ingest(wh, tmp_path, "experiment_assignments").rows_quarantined == 0
