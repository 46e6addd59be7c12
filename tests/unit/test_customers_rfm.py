"""RFM scores in the warehouse (DuckDB) against hand computations, row-order invariance, ties,
and the segment rule table branch by branch."""

from __future__ import annotations

import itertools

import duckdb
import polars as pl
import pytest

from dagster_project.analytics.customers import rfm
from dagster_project.analytics.customers.rules import load_rules, polars_segment, sql_case

COLUMNS = "client_id, customer_id, orders, valid_orders, days_since_last_order, total_revenue, " \
          "avg_order_value, as_of_date"


def run(rows: list[tuple], **kw) -> pl.DataFrame:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.dim_end_customers (client_id varchar, customer_id varchar, "
                "orders bigint, valid_orders bigint, days_since_last_order bigint, "
                "total_revenue double, avg_order_value double, as_of_date date)")
    con.executemany(f"insert into marts.dim_end_customers ({COLUMNS}) values "
                    "(?, ?, ?, ?, ?, ?, ?, date '2025-06-30')", rows)
    return pl.from_arrow(con.sql(rfm.rfm_sql(**kw)).to_arrow_table()).sort("customer_id")


# client c: ten customers; recency 1..10 days, orders: six with 1, three with 2, one with 5
ROWS = [("c", f"k{i:02d}", f, f, rec, 10.0 * i * f, 10.0 * i)
        for i, (rec, f) in enumerate(zip(range(1, 11), [1, 1, 1, 1, 1, 1, 2, 2, 2, 5]))]


def test_scores_follow_the_share_of_customers_beaten():
    got = run(ROWS)
    # recency: k00 (1 day) beats 9 others -> 1 + floor(5 * 9 / 10) = 5; k09 (10 days) beats 0 -> 1
    assert got["r_score"].to_list() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # frequency: the six one-order customers beat nobody -> 1; the 2-order ones beat 6 -> 4;
    # the 5-order one beats 9 -> 5
    assert got["f_score"].to_list() == [1] * 6 + [4] * 3 + [5]
    assert got["m_score"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert set(got["status"]) == {"ok"}


def test_scores_do_not_depend_on_row_order():
    base = run(ROWS)
    for order in (ROWS[::-1], ROWS[3:] + ROWS[:3], sorted(ROWS, key=lambda r: r[5])):
        assert run(order).equals(base)


def test_identical_customers_always_share_their_scores():
    tied = ROWS + [("c", "k99", 2, 2, 4, 40.0, 20.0), ("c", "k98", 2, 2, 4, 40.0, 20.0)]
    got = run(tied).filter(pl.col("customer_id").is_in(["k98", "k99"]))
    assert got.select("r_score", "f_score", "m_score").n_unique() == 1


def test_everyone_on_the_same_day_shares_one_recency_score():
    same = [("c", f"k{i}", 1, 1, 3, 10.0, 10.0) for i in range(7)]
    got = run(same)
    assert set(got["r_score"]) == {1} and set(got["f_score"]) == {1}
    assert got["segment"].n_unique() == 1


def test_one_customer_and_nonpositive_orders_get_statuses_and_null_scores():
    got = run([("solo", "a", 1, 1, 5, 10.0, 10.0), ("c", "b", 2, 0, None, None, None),
               *ROWS[:3]])
    by = {r["customer_id"]: r for r in got.iter_rows(named=True)}
    assert by["a"]["status"] == "single_customer" and by["a"]["r_score"] is None
    assert by["b"]["status"] == "no_valid_orders" and by["b"]["segment"] is None
    assert by["b"]["nonpositive_orders"] == 2


# the grid of rfm_segments.yml's comment, typed out by hand (rows R5..R1, columns F1..F5)
GRID = {5: ["new", "potential loyalists", "loyal", "champions", "champions"],
        4: ["potential loyalists", "potential loyalists", "loyal", "champions", "champions"],
        3: ["potential loyalists", "potential loyalists", "loyal", "loyal", "loyal"],
        2: ["hibernating", "hibernating", "at risk", "at risk", "at risk"],
        1: ["lost", "lost", "at risk", "can't lose", "can't lose"]}


@pytest.mark.parametrize("r,f,m", list(itertools.product(range(1, 6), repeat=3)))
def test_every_score_cell_gets_the_documented_segment(r, f, m):
    expected = GRID[r][f - 1]
    if expected == "can't lose" and m < 4:
        expected = "at risk"
    rules = rfm.segment_rules()
    con = duckdb.connect()
    in_sql = con.sql(f"select {sql_case(rules)} as s from (select {r} as recency, "
                     f"{f} as frequency, {m} as monetary)").fetchall()[0][0]
    in_polars = pl.DataFrame({"recency": [r], "frequency": [f], "monetary": [m]}).select(
        polars_segment(rules))[0, 0]
    assert in_sql == in_polars == expected


def test_a_rule_table_without_a_catch_all_is_refused(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text("rules:\n  - segment: a\n    recency: [1, 5]\n")
    with pytest.raises(ValueError, match="last rule"):
        load_rules(path, rfm.SCORE_COLUMNS)
    path.write_text("rules:\n  - segment: a\n    recency: [4, 2]\n  - segment: b\n")
    with pytest.raises(ValueError, match="min 4.0 > max 2.0"):
        load_rules(path, rfm.SCORE_COLUMNS)
