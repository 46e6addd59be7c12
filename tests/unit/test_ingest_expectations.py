"""Great Expectations suites derived from the contract: key constraints and value rules."""

from __future__ import annotations

import polars as pl

from dagster_project.contract import table
from dagster_project.ingest.expectations import build_suite, validate_frame
from dagster_project.ingest.testing import valid_rows


def failed(result) -> set[tuple[str, tuple[str, ...]]]:
    return {(o.expectation, o.columns) for o in result.outcomes if not o.success}


def test_suite_covers_columns_key_not_null_sets_and_bounds():
    contract = table("conversions")
    kinds = [e.expectation_type for e in build_suite(contract).expectations]
    assert kinds.count("expect_column_to_exist") == len(contract.columns)
    assert kinds.count("expect_column_values_to_be_unique") == 1
    assert kinds.count("expect_column_values_to_not_be_null") == len(contract.required_columns)
    assert "expect_column_values_to_be_in_set" in kinds
    assert "expect_column_values_to_be_between" in kinds


def test_clean_frame_passes_every_expectation():
    result = validate_frame(valid_rows("conversions", 20), table("conversions"))
    assert result.success and result.keys_ok and failed(result) == set()


def test_duplicate_single_column_key_fails_the_key_expectation():
    df = valid_rows("conversions", 5)
    result = validate_frame(pl.concat([df, df.head(1)]), table("conversions"))
    assert not result.success and not result.keys_ok and result.others_ok
    assert failed(result) == {("expect_column_values_to_be_unique", ("conversion_id",))}


def test_duplicate_compound_key_fails_the_compound_key_expectation():
    df = valid_rows("marketing_spend", 5)
    result = validate_frame(pl.concat([df, df.tail(1)]), table("marketing_spend"))
    key = ("client_id", "channel", "campaign_id", "spend_date")
    assert not result.keys_ok
    assert failed(result) == {("expect_compound_columns_to_be_unique", key)}


def test_value_rules_fail_without_failing_the_key_constraint():
    df = valid_rows("content", 5).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("myspace"))
        .otherwise("platform")
        .alias("platform"),
        pl.when(pl.int_range(pl.len()) == 1)
        .then(-1)
        .otherwise("hashtag_count")
        .alias("hashtag_count"),
    )
    result = validate_frame(df, table("content"))
    assert result.keys_ok and not result.others_ok
    assert failed(result) == {
        ("expect_column_values_to_be_in_set", ("platform",)),
        ("expect_column_values_to_be_between", ("hashtag_count",)),
    }
    [bad_set] = [o for o in result.outcomes if o.columns == ("platform",) and not o.success]
    assert bad_set.unexpected_count == 1 and bad_set.sample == ("myspace",)


def test_empty_frame_passes():
    assert validate_frame(table("clients").empty_frame(), table("clients")).success


def test_a_big_batch_checked_in_chunks_gives_the_whole_batch_result(any_warehouse, tmp_path):
    """The latest load is read a group of files at a time; the combined suite result has the
    counts of one validation over all its rows (bad values in two different chunks)."""
    from dagster_project.ingest.batch_checks import latest_batch
    from dagster_project.ingest.expectations import combine
    from dagster_project.ingest.load import ingest_table
    from dagster_project.ingest.testing import landing_path, write_landing_file

    contract = table("content")
    for day in ("2024-01-01", "2024-01-02", "2024-01-03"):
        rows = valid_rows("content", 3).with_columns(pl.col("content_id") + f"-{day}")
        write_landing_file(rows, landing_path(tmp_path, "content", day))
    with any_warehouse.session() as s:
        ingest_table(s, "content", tmp_path)
        # two rows that reached raw by another path, in the same load, in different files
        s.execute("update raw.content set hashtag_count = -1 where content_id in "
                  "(select min(content_id) from raw.content group by _source_file limit 2)")
    with any_warehouse.session() as s:
        _, chunks = latest_batch(s, contract, max_rows=3)
        parts = [validate_frame(c, contract) for c in chunks]
        _, whole = latest_batch(s, contract, max_rows=100)
        everything = validate_frame(next(whole), contract)
    assert len(parts) == 3
    combined = combine(parts)
    assert failed(combined) == failed(everything) == {
        ("expect_column_values_to_be_between", ("hashtag_count",))}
    [bounds] = [o for o in combined.outcomes if not o.success]
    assert bounds.unexpected_count == 2
