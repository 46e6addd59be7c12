"""A real BI tool on the reporting schema: Apache Superset renders the client overview
dashboard from PostgreSQL, and what the browser shows equals the warehouse.

Opt-in (``make test-bi``, which installs Superset into ``.bi/superset-venv`` first); skipped
otherwise. On a database of its own in the session's throwaway PostgreSQL: the roles command
(``make pg-roles``), then ``nightly_refresh`` on the tiny simulation as ``bi_writer`` (the
pipeline's role), the alert rules applied and one alerting pass, and the reporting models
rebuilt so that they see the alerts. Superset gets two database connections, as a person adds
them in its UI: ``bi_reader`` (every client) and a per-client login role in ``bi_client`` with
``app.client_id`` pinned on the role (README "Roles and BI access"). On each, one dashboard of
``reporting.rpt_client_overview``: revenue (a big number and a table), the top channel under
the recommended attribution model with its interval, the experiments with a decision, the open
alerts. Headless Chromium (chromedriver) opens each dashboard logged in, waits for the charts,
and reads the numbers from the page. The expected numbers come from SQL written here over the
marts, the analytics tables and ``ops.alerts`` (not from the reporting model), run as the
superuser, who is not subject to row-level security.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from dagster_project.devtools import browser, superset

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.bi,
              pytest.mark.skipif(os.environ.get("BI_TEST_SUPERSET") != "1",
                                 reason="opt-in: make test-bi")]

REPO_ROOT = Path(__file__).resolve().parents[2]
DISPLAY = ".2f"  # the d3 format of every number on the dashboard
TOLERANCE = 0.005 + 1e-9  # half a unit of the last digit shown
OVERVIEW = "rpt_client_overview"

# The charts of the client overview dashboard: title -> the columns it shows.
CHARTS = {
    "Revenue by client": ["client_id", "revenue", "orders"],
    "Top channel (recommended attribution model)": [
        "client_id", "recommended_attribution_model", "top_channel", "top_channel_revenue",
        "top_channel_revenue_lower", "top_channel_revenue_upper"],
    "Experiments with a decision": ["client_id", "experiments", "experiments_decided"],
    "Open alerts": ["client_id", "open_alerts", "acknowledged_alerts"],
}
BIG_NUMBER = "Revenue, all clients shown"

# The warehouse's answers, computed here from the marts, the analytics tables and ops.alerts.
EXPECTED_SQL = """
with revenue as (
    select client_id, sum(revenue) as revenue, sum(orders) as orders
    from marts.fct_revenue_daily group by client_id
), recommended as (
    select distinct client_id, recommended_model from analytics.attribution_model_comparison
), top_channel as (
    select distinct on (a.client_id) a.client_id, a.attribution_model, a.channel,
        a.attributed_revenue, a.revenue_lower, a.revenue_upper
    from analytics.channel_attribution a
    join recommended r on r.client_id = a.client_id and r.recommended_model = a.attribution_model
    where a.channel <> '(none)'
    order by a.client_id, a.attributed_revenue desc, a.channel
), rule_based as (
    select client_id, channel, attribution_model, sum(revenue_credit) as attributed_revenue
    from marts.fct_attribution_touch_credits group by 1, 2, 3
), experiments as (
    select e.client_id, count(distinct e.experiment_id) as experiments,
        count(distinct e.experiment_id) filter (
            where r.is_primary and r.decision in ('ship', 'do not ship')) as decided
    from analytics.experiments e
    left join analytics.experiment_results r on r.experiment_id = e.experiment_id
    where e.client_id is not null group by e.client_id
), alerts as (
    select entity as client_id, count(*) filter (where status = 'open') as open_alerts,
        count(*) filter (where status = 'acknowledged') as acknowledged
    from ops.alerts group by entity
)
select c.client_id, coalesce(v.revenue, 0) as revenue, coalesce(v.orders, 0) as orders,
    t.attribution_model, t.channel,
    coalesce(rb.attributed_revenue, t.attributed_revenue) as top_revenue,
    t.revenue_lower, t.revenue_upper,
    coalesce(x.experiments, 0) as experiments, coalesce(x.decided, 0) as decided,
    coalesce(a.open_alerts, 0) as open_alerts, coalesce(a.acknowledged, 0) as acknowledged
from marts.dim_clients c
left join revenue v on v.client_id = c.client_id
left join top_channel t on t.client_id = c.client_id
left join rule_based rb on rb.client_id = t.client_id and rb.channel = t.channel
    and rb.attribution_model = t.attribution_model
left join experiments x on x.client_id = c.client_id
left join alerts a on a.client_id = c.client_id
order by c.client_id
"""


def _definitions():
    from dagster_project.definitions import defs

    return defs()


def _run(d, job: str, run_config: dict | None = None) -> None:
    with dg.DagsterInstance.get() as instance:
        result = d.resolve_job_def(job).execute_in_process(instance=instance,
                                                            run_config=run_config)
    assert result.success, job


def _rebuild_reporting(d) -> None:
    keys = dg.AssetSelection.key_prefixes("reporting").resolve(d.resolve_asset_graph())
    with dg.DagsterInstance.get() as instance:
        assert d.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=list(keys)).success


@pytest.fixture(scope="module")
def warehouse(pg_server, tiny_simulation, pipeline_env_factory, tmp_path_factory):
    """The tiny pipeline on PostgreSQL as make run-postgres loads it, alerts included."""
    if not (superset.installed() and browser.available()):
        pytest.fail("make test-bi installs Superset; chromium and chromium-driver are needed")
    db = f"bi_superset_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as con:
        con.execute(f'create database "{db}"')
    roles = subprocess.run([sys.executable, "-m", "dagster_project.postgres.roles", "--dsn",
                            pg_server.conninfo(db)], cwd=REPO_ROOT, capture_output=True,
                           text=True, timeout=120, check=False)
    assert roles.returncode == 0, roles.stderr
    with pytest.MonkeyPatch.context() as mp:
        pipeline_env_factory(tmp_path_factory.mktemp("bi_pipeline"), tiny_simulation, mp)
        for name, value in pg_server.warehouse_env(db, user="bi_writer").items():
            mp.setenv(name, value)
        d = _definitions()
        _run(d, "nightly_refresh")
        client = _plant_revenue_anomaly(pg_server.conninfo(db, user="bi_writer"))
        _run(d, "apply_alert_rules",
             {"ops": {"apply_alert_rules_op": {"config": {"actor": "bi-test"}}}})
        _run(d, "process_alerts")
        _rebuild_reporting(d)
    with psycopg.connect(pg_server.conninfo(db)) as con:
        cur = con.execute(EXPECTED_SQL)
        names = [c.name for c in cur.description]
        expected = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    return {"server": pg_server, "db": db, "expected": expected, "client": client}


def _plant_revenue_anomaly(conninfo: str) -> str:
    """Stand in for the detector, as tests/integration/test_monitoring_alert_pipeline.py does:
    the tiny data's client revenue anomalies score below the client-revenue-anomaly rule's
    0.995, so one scored 0.999 is added for the client with the most revenue, on the newest
    day scored (within the rules' lookback). The alerting pass makes it an open alert about
    that client. Returns the client."""
    with psycopg.connect(conninfo, autocommit=True) as con:
        (client,) = con.execute("select client_id from marts.fct_revenue_daily group by 1"
                                " order by sum(revenue) desc, client_id limit 1").fetchone()
        con.execute("""
            insert into analytics.metric_anomalies (anomaly_id, metric, entity, ts, value,
                expected, score, detector, pattern, status, status_message, detected_at)
            select 'bi-test-anomaly', 'client_daily_revenue', %(client)s, max(ts), 0.0, 100.0,
                0.999, 'robust_baseline', 'drop', 'ok', 'ok', max(ts)
            from analytics.metric_anomalies""", {"client": client})
    return client


@pytest.fixture(scope="module")
def client_id(warehouse) -> str:
    """The client with the most revenue, which has the planted alert: its dashboard has every
    number to show."""
    return warehouse["client"]


@pytest.fixture(scope="module")
def dashboards(warehouse, client_id, tmp_path_factory):
    """Superset with both connections and a client overview dashboard on each, rendered."""
    server, db = warehouse["server"], warehouse["db"]
    role = f"bi_client_{client_id.replace('-', '_')}"
    with psycopg.connect(server.conninfo(db), autocommit=True) as con:
        con.execute(f"create role {role} login in role bi_client")
        con.execute(f"alter role {role} set app.client_id = '{client_id}'")
    state = tmp_path_factory.mktemp("superset")
    app = superset.Superset(state)
    uri = "postgresql+psycopg2://{user}@127.0.0.1:{port}/{db}"
    try:
        app.start()
        rendered = {}
        with browser.Browser() as chrome:
            chrome.set_cookies(app.url, app.session_cookie())
            for name, user in (("bi_reader", "bi_reader"), ("client", role)):
                database = app.add_database(f"warehouse as {user}",
                                            uri.format(user=user, port=server.port, db=db))
                # the client's is a SQL dataset over the same table: row-level security
                # applies to whatever SQL the connection runs
                dataset = (app.add_dataset(database, "reporting", OVERVIEW) if name == "bi_reader"
                           else app.add_dataset(database, "reporting", f"{OVERVIEW}_{role}",
                                                sql=f"select * from reporting.{OVERVIEW}"))
                dashboard = app.add_dashboard(f"Client overview ({user})")
                for title, columns in CHARTS.items():
                    app.add_table_chart(dashboard, dataset, title, columns, DISPLAY, "client_id")
                app.add_big_number(dashboard, dataset, BIG_NUMBER, "revenue", DISPLAY)
                rendered[name] = render(chrome, f"{app.url}/superset/dashboard/{dashboard}/"
                                        "?standalone=1", state / f"dashboard_{name}.png")
        yield rendered
    finally:
        app.stop()
        with psycopg.connect(server.conninfo(db), autocommit=True) as con:
            con.execute(f"drop owned by {role}")
            con.execute(f"drop role {role}")


# Each chart of the page: its title, its table (header and rows) and its big number, as text.
READ_CHARTS = """
const holders = [...document.querySelectorAll('.dashboard-component-chart-holder')];
const charts = holders.map(h => ({
  title: (h.querySelector('.header-title') || {innerText: ''}).innerText.trim(),
  header: [...h.querySelectorAll('thead th')].map(t => t.innerText.trim()),
  rows: [...h.querySelectorAll('tbody tr')].map(
      r => [...r.querySelectorAll('td')].map(td => td.innerText.trim())),
  number: (h.querySelector('.header-line') || {innerText: ''}).innerText.trim(),
  loading: h.querySelector('.loading') !== null,
}));
const done = charts.length === N_CHARTS && charts.every(c => !c.loading && (c.rows.length || c.number));
return done ? charts : null;
""".replace("N_CHARTS", str(len(CHARTS) + 1))


def render(chrome: browser.Browser, url: str, screenshot: Path) -> dict[str, dict]:
    chrome.open(url)
    charts = chrome.wait_for(READ_CHARTS, timeout=180)
    chrome.screenshot(screenshot)
    return {c["title"]: c for c in charts}


def table(chart: dict) -> dict[str, dict[str, str]]:
    """A rendered table chart as {client_id: {column: text}}."""
    return {row[0]: dict(zip(chart["header"], row, strict=True)) for row in chart["rows"]}


def shown(text: str) -> float:
    return float(text.replace(",", ""))


def assert_shows(rendered: dict[str, dict], expected: dict[str, dict]) -> None:
    """Every chart shows exactly the clients of ``expected`` with their numbers."""
    for title in CHARTS:
        assert set(table(rendered[title])) == set(expected), title
    revenue = table(rendered["Revenue by client"])
    channel = table(rendered["Top channel (recommended attribution model)"])
    experiments = table(rendered["Experiments with a decision"])
    alerts = table(rendered["Open alerts"])
    for client, want in expected.items():
        assert shown(revenue[client]["revenue"]) == pytest.approx(want["revenue"],
                                                                   abs=TOLERANCE), client
        assert shown(revenue[client]["orders"]) == want["orders"], client
        assert shown(experiments[client]["experiments"]) == want["experiments"], client
        assert shown(experiments[client]["experiments_decided"]) == want["decided"], client
        assert shown(alerts[client]["open_alerts"]) == want["open_alerts"], client
        assert shown(alerts[client]["acknowledged_alerts"]) == want["acknowledged"], client
        row = channel[client]
        if want["channel"] is None:
            assert row["top_channel"] == "N/A", (client, row)  # how Superset shows a null
            continue
        assert row["recommended_attribution_model"] == want["attribution_model"], client
        assert row["top_channel"] == want["channel"], client
        for column, key in (("top_channel_revenue", "top_revenue"),
                            ("top_channel_revenue_lower", "revenue_lower"),
                            ("top_channel_revenue_upper", "revenue_upper")):
            assert shown(row[column]) == pytest.approx(want[key], abs=TOLERANCE), (client, column)
    total = sum(r["revenue"] for r in expected.values())
    assert shown(rendered[BIG_NUMBER]["number"]) == pytest.approx(total, abs=TOLERANCE)


def test_reader_dashboard_shows_every_client_with_the_warehouses_numbers(dashboards, warehouse):
    expected = warehouse["expected"]
    assert len(expected) > 100  # the tiny simulation's clients
    assert_shows(dashboards["bi_reader"], expected)


def test_client_scoped_dashboard_shows_only_that_client(dashboards, warehouse, client_id):
    expected = warehouse["expected"][client_id]
    assert expected["channel"] is not None and expected["open_alerts"] == 1
    assert_shows(dashboards["client"], {client_id: expected})


def test_the_dashboards_show_attribution_experiments_and_alerts(warehouse, dashboards):
    # the tiny data give the dashboard something to show in each group
    expected = warehouse["expected"].values()
    assert any(r["channel"] for r in expected)
    assert any(r["decided"] for r in expected)
    assert sum(r["open_alerts"] + r["acknowledged"] for r in expected) > 0
