"""The shared asset metadata helpers."""

from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

from dagster_project.metadata import (
    markdown_table,
    png_markdown,
    preview_metadata,
    table_metadata,
)
from dagster_project.warehouse import Warehouse


def test_table_metadata_counts_rows_and_describes_columns():
    df = pl.DataFrame({"channel": ["email", "direct"], "share": [0.25, 0.75]})
    meta = table_metadata(df, {"share": "Share of conversions."})
    assert meta["dagster/row_count"] == 2
    cols = {c.name: c for c in meta["dagster/column_schema"].columns}
    assert cols["share"].description == "Share of conversions." and cols["share"].type == "Float64"
    assert "| email | 0.25 |" in meta["preview"].value


def test_markdown_table_rounds_floats_and_shows_nulls_empty():
    text = markdown_table(pl.DataFrame({"a": [1.23456789, None]}), float_digits=2)
    assert text.splitlines() == ["| a |", "| --- |", "| 1.23 |", "|  |"]


def test_png_markdown_embeds_a_real_png():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    value = png_markdown(fig, alt="line").value
    payload = value.split("base64,", 1)[1].rstrip(")")
    assert value.startswith("![line](data:image/png;base64,")
    assert base64.b64decode(payload)[:8] == b"\x89PNG\r\n\x1a\n"


def test_preview_metadata_shows_the_first_rows_of_a_warehouse_table(tmp_path):
    wh = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    wh.write("marts.t", pl.DataFrame({"id": list(range(30)), "channel": ["email"] * 30}))
    with wh.session() as s:
        lines = preview_metadata(s, "marts.t", rows=3).value.splitlines()
    assert lines[0] == "| id | channel |" and len(lines) == 2 + 3
    assert {line.split(" | ")[1] for line in lines[2:]} == {"email |"}
