"""Metadata every Python asset attaches: row count, column schema, preview and plots."""

from __future__ import annotations

import base64
import io
from typing import Any

import dagster as dg
import polars as pl

PREVIEW_ROWS = 20


def column_schema(df: pl.DataFrame, descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=descriptions.get(name))
            for name, dtype in df.schema.items()
        ]
    )


def table_metadata(
    df: pl.DataFrame, descriptions: dict[str, str] | None = None, preview_rows: int = PREVIEW_ROWS
) -> dict[str, Any]:
    """``dagster/row_count``, ``dagster/column_schema`` and a markdown preview of ``df``."""
    return {
        "dagster/row_count": df.height,
        "dagster/column_schema": column_schema(df, descriptions),
        "preview": dg.MetadataValue.md(markdown_table(df.head(preview_rows))),
    }


def warehouse_table_metadata(session, table: str, descriptions: dict[str, str] | None = None,
                             preview_rows: int = PREVIEW_ROWS) -> dict[str, Any]:
    """``table_metadata`` of a warehouse table read back through ``session`` (a
    ``WarehouseSession``): its ``count(*)``, its columns and its first ``preview_rows`` rows, so
    a table written a part at a time is never held whole to describe it."""
    from dagster_project.warehouse import qualified

    head = session.read(f"select * from {qualified(table)} limit {int(preview_rows)}")
    return {
        "dagster/row_count": int(session.scalar(f"select count(*) from {qualified(table)}")),
        "dagster/column_schema": column_schema(head, descriptions),
        "preview": dg.MetadataValue.md(markdown_table(head)),
    }


def preview_metadata(session, table: str, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """A markdown preview of the first ``rows`` rows of a warehouse table or view, read through
    ``session`` (a ``WarehouseSession``)."""
    from dagster_project.warehouse import qualified

    return dg.MetadataValue.md(markdown_table(
        session.read(f"select * from {qualified(table)} limit {int(rows)}")))


def markdown_table(df: pl.DataFrame, float_digits: int = 4) -> str:
    """A GitHub-flavoured markdown table of ``df`` (floats rounded for reading)."""
    if df.width == 0:
        return "_(no columns)_"
    shown = df.with_columns(pl.col(pl.Float32, pl.Float64).round(float_digits))
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "| " + " | ".join("---" for _ in shown.columns) + " |"
    body = [
        "| " + " | ".join("" if v is None else str(v) for v in row) + " |"
        for row in shown.iter_rows()
    ]
    return "\n".join([header, rule, *body])


def png_markdown(figure, alt: str = "plot") -> dg.MetadataValue:
    """A matplotlib figure embedded as a PNG in markdown metadata (closes the figure)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})")
