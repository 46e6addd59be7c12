"""Row rules of ingestion: each rule quarantines the offending row and loads the others.

Expected outcomes come from the landing contract (raw_tables.yml): bounds, allowed lists, keys,
nullability, and the time window [2000-01-01, load time].
"""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl
import pytest

from dagster_project.ingest.load import ingest_table
from dagster_project.ingest.testing import landing_path, valid_rows, write_landing_file

NOW = datetime(2026, 1, 1)


@pytest.fixture
def wh(any_warehouse):
    return any_warehouse


@pytest.fixture
def landing(tmp_path):
    return tmp_path / "landing"


def ingest(wh, landing, table, now=NOW):
    with wh.session() as s:
        return ingest_table(s, table, landing, now)


def quarantined(wh, table) -> pl.DataFrame:
    return wh.read(f"select * from raw_quarantine.{table} order by source_file, source_row")


def set_value(df: pl.DataFrame, row: int, column: str, value) -> pl.DataFrame:
    """``df`` with ``column`` at 0-based ``row`` replaced (frame cast to text if value is text)."""
    if isinstance(value, str) and df.schema[column] != pl.String:
        df = df.cast(pl.String)
    hit = pl.int_range(pl.len()) == row
    lit = pl.lit(value, dtype=df.schema[column])
    return df.with_columns(pl.when(hit).then(lit).otherwise(pl.col(column)).alias(column))


def write(df, landing, table, day="2024-01-01", suffix="parquet"):
    return write_landing_file(df, landing_path(landing, table, day, suffix))


def only_violation(wh, landing, table, df, suffix="parquet"):
    """Ingest ``df`` (one bad row expected); return that quarantine row as a dict."""
    write(df, landing, table, suffix=suffix)
    report = ingest(wh, landing, table)
    assert (report.rows_loaded, report.rows_quarantined) == (df.height - 1, 1)
    rows = quarantined(wh, table).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_text_that_is_not_an_integer_is_quarantined_as_type(wh, landing):
    df = set_value(valid_rows("content", 4), 2, "hashtag_count", "many")
    q = only_violation(wh, landing, "content", df, suffix="csv")
    assert (q["rule"], q["column_name"], q["value"], q["source_row"]) == (
        "type",
        "hashtag_count",
        "many",
        3,
    )


def test_fractional_value_for_an_integer_column_is_a_type_violation_not_truncated(wh, landing):
    df = valid_rows("content", 3).with_columns(pl.Series("hashtag_count", [1.0, 2.5, 3.0]))
    q = only_violation(wh, landing, "content", df)
    assert (q["rule"], q["column_name"], q["value"]) == ("type", "hashtag_count", "2.5")
    assert wh.read("select hashtag_count from raw.content order by 1")[
        "hashtag_count"
    ].to_list() == [1, 3]


def test_nan_amount_is_a_type_violation(wh, landing):
    df = set_value(valid_rows("conversions", 3), 0, "revenue", float("nan"))
    assert only_violation(wh, landing, "conversions", df)["rule"] == "type"


def test_null_in_required_column_is_quarantined_as_not_null(wh, landing):
    df = set_value(valid_rows("content", 3), 1, "client_id", None)
    q = only_violation(wh, landing, "content", df)
    assert (q["rule"], q["column_name"], q["value"]) == ("not_null", "client_id", None)


def test_null_in_nullable_column_loads(wh, landing):
    df = set_value(valid_rows("content", 3), 1, "campaign_id", None)
    write(df, landing, "content")
    assert ingest(wh, landing, "content").rows_loaded == 3


def test_duplicate_key_within_a_file_loads_the_first_and_quarantines_the_repeat(wh, landing):
    df = valid_rows("content", 4)
    df = pl.concat([df, df.slice(1, 1).with_columns(pl.lit("other").alias("client_id"))])
    q = only_violation(wh, landing, "content", df)
    assert (q["rule"], q["column_name"], q["source_row"]) == ("duplicate_key", "content_id", 5)
    assert json.loads(q["row_json"])["client_id"] == "other"


def test_duplicate_key_across_files_of_one_batch(wh, landing):
    df = valid_rows("content", 4)
    write(df, landing, "content", day="2024-01-01")
    write(df.tail(1), landing, "content", day="2024-01-02", suffix="csv")
    report = ingest(wh, landing, "content")
    assert (report.rows_loaded, report.rows_quarantined) == (4, 1)
    q = quarantined(wh, "content").row(0, named=True)
    assert q["rule"] == "duplicate_key" and q["source_file"].endswith("content-2024-01-02.csv")


def test_key_already_in_raw_is_quarantined_on_a_later_run(wh, landing):
    df = valid_rows("content", 4)
    write(df, landing, "content", day="2024-01-01")
    ingest(wh, landing, "content")
    write(df.head(2), landing, "content", day="2024-01-02")
    report = ingest(wh, landing, "content")
    assert (report.rows_loaded, report.rows_quarantined) == (0, 2)
    assert set(quarantined(wh, "content")["violations"]) == {
        "duplicate_key(content_id): already in raw"
    }
    assert report.raw_row_count == 4


def test_compound_key_is_unique_only_as_a_whole(wh, landing):
    df = valid_rows("content_engagement", 2)
    same_post_other_day = set_value(df.head(1), 0, "observed_date", df["observed_date"][1])
    same_post_same_day = df.head(1)
    write(
        pl.concat(
            [
                df,
                same_post_other_day.with_columns(pl.lit("y").alias("content_id")),
                same_post_same_day,
            ]
        ),
        landing,
        "content_engagement",
    )
    report = ingest(wh, landing, "content_engagement")
    assert (report.rows_loaded, report.rows_quarantined) == (3, 1)
    q = quarantined(wh, "content_engagement").row(0, named=True)
    assert (q["rule"], q["column_name"]) == ("duplicate_key", "content_id,observed_date")


def test_negative_amount_violates_min(wh, landing):
    df = set_value(valid_rows("conversions", 3), 2, "revenue", -5.0)
    q = only_violation(wh, landing, "conversions", df)
    assert (q["rule"], q["column_name"], q["value"]) == ("min", "revenue", "-5.0")


def test_negative_count_violates_min(wh, landing):
    df = set_value(valid_rows("content_engagement", 3), 0, "likes", -1)
    assert only_violation(wh, landing, "content_engagement", df)["rule"] == "min"


def test_percentage_above_100_violates_max(wh, landing):
    df = set_value(valid_rows("resource_usage", 3), 0, "cpu_pct", 100.5)
    q = only_violation(wh, landing, "resource_usage", df)
    assert (q["rule"], q["column_name"], q["value"]) == ("max", "cpu_pct", "100.5")


def test_value_outside_the_closed_list_violates_allowed_values(wh, landing):
    df = set_value(valid_rows("content", 3), 0, "platform", "myspace")
    q = only_violation(wh, landing, "content", df)
    assert (q["rule"], q["column_name"], q["value"]) == ("allowed_values", "platform", "myspace")


def test_event_time_after_the_load_time_violates_time_range(wh, landing):
    df = set_value(valid_rows("content", 3), 0, "created_at", datetime(2026, 1, 2))
    q = only_violation(wh, landing, "content", df)
    assert (q["rule"], q["column_name"]) == ("time_range", "created_at")


def test_future_date_violates_time_range(wh, landing):
    df = set_value(valid_rows("content_engagement", 3), 0, "observed_date", "2026-01-02")
    q = only_violation(wh, landing, "content_engagement", df, suffix="csv")
    assert (q["rule"], q["column_name"], q["value"]) == (
        "time_range",
        "observed_date",
        "2026-01-02",
    )


def test_time_before_2000_violates_time_range_in_any_temporal_column(wh, landing):
    df = set_value(valid_rows("content", 3), 1, "published_at", datetime(1999, 12, 31, 23))
    q = only_violation(wh, landing, "content", df)
    assert (q["rule"], q["column_name"]) == ("time_range", "published_at")


def test_a_row_breaking_several_rules_is_quarantined_once_with_every_violation(wh, landing):
    df = set_value(valid_rows("content", 3), 0, "platform", "myspace")
    df = set_value(set_value(df, 0, "hashtag_count", "-3"), 0, "client_id", None)
    q = only_violation(wh, landing, "content", df, suffix="csv")
    assert q["rule"] == "not_null"  # precedence: type, not_null, min, max, allowed, time
    assert q["violations"] == "not_null(client_id); min(hashtag_count); allowed_values(platform)"


def test_quarantine_row_carries_file_row_rule_value_and_original_row(wh, landing):
    df = set_value(valid_rows("conversions", 5), 3, "revenue", "12,50")
    q = only_violation(wh, landing, "conversions", df, suffix="csv")
    assert q["source_file"] == "conversions/date=2024-01-01/conversions-2024-01-01.csv"
    assert (q["source_row"], q["rule"], q["column_name"], q["value"]) == (
        4,
        "type",
        "revenue",
        "12,50",
    )
    assert json.loads(q["row_json"]) == df.row(3, named=True)
    assert q["quarantined_at"] == NOW


def test_loaded_rows_keep_contract_types_and_lineage(wh, landing):
    df = valid_rows("content", 3)
    write(df.cast(pl.String), landing, "content", suffix="csv")
    ingest(wh, landing, "content")
    raw = wh.read("select * from raw.content order by _source_row")
    assert raw.select(df.columns).equals(df)
    assert raw["_source_row"].to_list() == [1, 2, 3]
    assert set(raw["_loaded_at"]) == {NOW}


def test_timestamps_with_an_offset_are_converted_to_utc(wh, landing):
    df = set_value(valid_rows("content", 1), 0, "created_at", "2024-03-01T12:00:00+02:00")
    write(df, landing, "content", suffix="csv")
    ingest(wh, landing, "content")
    assert wh.read("select created_at from raw.content").item() == datetime(2024, 3, 1, 10)
