"""The Spark session's reading of portable SQL (no Spark needed): staged tables found however
they are spelled, never inside literals or comments; DELETE and INSERT targets; type names;
and ``BI_WAREHOUSE=spark`` alone selecting the backend."""

from __future__ import annotations

import pytest

from dagster_project.warehouse import spark_statements as st

STAGED = {"marts.t": "marts._bi_stage_x_0_t"}
STAGE = '"marts"."_bi_stage_x_0_t"'


@pytest.mark.parametrize("spelling", ['marts.t', '"marts"."t"', 'MARTS.T', '`marts`.`t`',
                                      '"marts" . "t"'])
def test_every_spelling_of_a_staged_table_points_at_its_stage(spelling):
    assert st.point_at(f"select id from {spelling} where id = ?", STAGED) == (
        f"select id from {STAGE} where id = ?")


def test_a_column_qualified_by_the_staged_table_keeps_its_column():
    assert st.point_at("select marts.t.id from marts.t", STAGED) == (
        f"select {STAGE}.id from {STAGE}")


def test_literals_comments_other_tables_and_aliases_are_left_alone():
    sql = ("select 'marts.t' as s, t.id, other.t.x -- marts.t\n"
           "from marts.tt t join raw.t r on r.id = t.id /* marts.t */")
    assert st.point_at(sql, STAGED) == sql


def test_a_quoted_name_keeps_its_case_and_a_bare_one_is_lowered():
    assert st.point_at('select 1 from "Marts"."t"', STAGED) == 'select 1 from "Marts"."t"'
    assert st.table_name('"Marts".T') == "Marts.t"


def test_delete_is_read_into_table_alias_and_condition():
    assert st.parse_delete('delete from "ops"."rejected" r where r.table_name = ?') == st.Delete(
        "ops.rejected", "r", "r.table_name = ?")
    assert st.parse_delete("DELETE FROM ops.rejected;") == st.Delete("ops.rejected", None, None)
    assert st.parse_delete("select 1") is None
    with pytest.raises(ValueError, match="DELETE FROM table"):
        st.parse_delete("delete from ops.a using ops.b where a.k = b.k")


def test_insert_and_drop_targets_and_first_keywords():
    assert st.insert_target('insert into "ops"."x" values (1)') == "ops.x"
    assert st.insert_target("insert overwrite table ops.x select 1") == "ops.x"
    assert st.insert_target("select 1") is None
    assert st.dropped_table("drop table if exists marts._stage_t") == "marts._stage_t"
    assert st.dropped_table("drop view marts.v") is None
    assert st.first_keyword("-- why\n  WITH a as (select 1) select * from a") == "with"
    assert st.creates_view("CREATE OR REPLACE VIEW marts.v as select 1")
    assert not st.creates_view("create temporary view v as select 1")
    assert not st.creates_view("create table marts.view_log (a string)")


def test_portable_column_types_get_their_spark_names():
    assert [st.spark_type(t) for t in ("varchar", "double precision", "bigint", "timestamp")] == [
        "string", "double", "bigint", "timestamp"]


def test_bi_warehouse_spark_alone_selects_the_spark_backend_on_the_default_port(monkeypatch):
    from dagster_project.settings import get_settings
    from dagster_project.warehouse import Warehouse

    monkeypatch.setenv("BI_WAREHOUSE", "spark")
    monkeypatch.delenv("BI_SPARK_CONNECT_URL", raising=False)
    settings = get_settings()
    warehouse = Warehouse.from_settings(settings)
    assert (settings.dbt_target, warehouse.backend) == ("spark", "spark")
    # the port `make spark-up` starts Spark Connect on
    assert warehouse.spark_connect_url == "sc://127.0.0.1:15002"
    with pytest.raises(ValueError, match="serving API does not read from Spark"), \
            warehouse.read_session():
        pass
