"""Row counts and column schemas of built relations, read through a real warehouse."""

from __future__ import annotations

from dagster_project.defs.dbt.relation_metadata import Relation, relation_metadata


def test_tables_get_row_counts_and_views_none_whatever_the_manifest_said(any_warehouse):
    """Which relation is a view comes from the warehouse's catalog: a manifest parsed before a
    model became a table (or a view) does not decide it. Three rows inserted by hand."""
    with any_warehouse.session() as s:
        s.execute("create schema if not exists marts")
        s.execute("create table marts.t (id integer, label varchar)")
        s.execute("insert into marts.t values (1, 'a'), (2, 'b'), (3, 'c')")
        s.execute("create view marts.v as select id from marts.t where id > 1")
    found = relation_metadata(any_warehouse, [
        Relation("model.x.t", "marts", "t", {"id": "the key"}),
        Relation("model.x.v", "marts", "v", {}),
    ])
    table, view = found["model.x.t"], found["model.x.v"]
    assert table["dagster/table_name"] == "marts.t"
    assert table["dagster/row_count"] == 3
    assert [(c.name, c.description) for c in table["dagster/column_schema"].columns] == [
        ("id", "the key"), ("label", None)]
    assert "dagster/row_count" not in view
    assert [c.name for c in view["dagster/column_schema"].columns] == ["id"]
