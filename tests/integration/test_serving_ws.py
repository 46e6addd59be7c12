"""``WS /ws/bi-dashboard`` against a real uvicorn process on a tiny reporting warehouse:
subscribe and snapshot (only the token's client), updates at the requested frequency and when
a table's version is bumped, ping/pong, unsubscribe, auth failure and scope close codes, and a
slow consumer closed with 4429. Expected rows come from SQL on the same file."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from dagster_project.serving import tokens
from dagster_project.serving.versions import bump_versions
from dagster_project.warehouse import Warehouse

pytestmark = pytest.mark.integration
MIN_FREQUENCY = 0.002  # the server's lower bound in this module (5 s in production)


@pytest.fixture(scope="module")
def env(tmp_path_factory, dbt_helpers, serving_helpers):
    db = serving_helpers.build_serving_warehouse(tmp_path_factory.mktemp("serving_ws"),
                                                 dbt_helpers)
    wh = Warehouse(duckdb_path=str(db))
    server = serving_helpers.Server(db, ws_min_frequency_s=MIN_FREQUENCY, ws_queue_size=4)
    try:
        yield {"db": db, "wh": wh, "server": server, "h": serving_helpers,
               "c1": tokens.issue(wh, "ws-c1", "client", "c1", 1, "test")[0]}
    finally:
        server.stop()


def open_socket(env, token, **kw):
    headers = env["h"].bearer(token) if token else None
    return connect(env["server"].ws_url, additional_headers=headers, open_timeout=30, **kw)


def subscribe(ws, **fields):
    ws.send(json.dumps({"type": "subscribe", "client_id": "c1", "metric_types": ["revenue"],
                        "update_frequency": 60, **fields}))
    return json.loads(ws.recv(timeout=30))


def close_code(ws) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=30)
    return closed.value.rcvd.code


def last_30_days_revenue(env, client):
    return env["h"].query(env["db"], """
        select cast(revenue_date as varchar), revenue from reporting.rpt_client_revenue_daily
        where client_id = ? and revenue_date >= (select max(revenue_date)
            from reporting.rpt_client_revenue_daily where client_id = ?) - 29
        order by revenue_date""", [client, client])


def test_subscribe_pushes_a_snapshot_of_the_tokens_client_only(env):
    with open_socket(env, env["c1"]) as ws:
        snap = subscribe(ws, metric_types=["revenue", "engagement", "performance"])
    assert snap["type"] == "snapshot" and snap["client_id"] == "c1"
    revenue = snap["data"]["revenue"]
    assert [(d["revenue_date"], d["revenue"]) for d in revenue["daily"]] == \
        [tuple(r) for r in last_30_days_revenue(env, "c1")]
    assert revenue["client_id"] == "c1"
    assert [g["client_id"] for g in snap["data"]["performance"]["content_generation"]] == ["c1"]
    assert snap["update_frequency"] == 60


def test_subscribing_to_another_client_closes_4403(env):
    with open_socket(env, env["c1"]) as ws:
        ws.send(json.dumps({"type": "subscribe", "client_id": "c2"}))
        assert close_code(ws) == 4403


@pytest.mark.parametrize("token", [None, "bi_000000000000.nope"])
def test_a_missing_or_invalid_token_closes_4401(env, token):
    with open_socket(env, token) as ws:
        assert close_code(ws) == 4401


def test_a_revoked_token_closes_4401_at_connect(env):
    tok, row = tokens.issue(env["wh"], "ws-revoked", "client", "c1", 1, "test")
    tokens.revoke(env["wh"], row["token_id"], "test")
    time.sleep(1.0)  # five poll intervals: the service has reloaded the tokens
    with open_socket(env, tok) as ws:
        assert close_code(ws) == 4401


def test_invalid_messages_close_4400(env):
    for message in ("not json", json.dumps({"type": "dance"}),
                    json.dumps({"type": "subscribe", "metric_types": ["weather"]})):
        with open_socket(env, env["c1"]) as ws:
            ws.send(message)
            assert close_code(ws) == 4400, message


def test_ping_is_answered_with_pong(env):
    with open_socket(env, env["c1"]) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "pong"}
        ws.ping().wait(timeout=30)  # a protocol-level ping frame is answered too


def test_updates_arrive_at_the_requested_frequency_bounded_below(env):
    with open_socket(env, env["c1"]) as ws:
        snap = subscribe(ws, update_frequency=0.001)
        assert snap["update_frequency"] == MIN_FREQUENCY
        start = time.monotonic()
        updates = [json.loads(ws.recv(timeout=30)) for _ in range(3)]
        elapsed = time.monotonic() - start
    assert {u["type"] for u in updates} == {"update"}
    assert {u["reason"] for u in updates} == {"interval"}
    assert elapsed >= 3 * MIN_FREQUENCY * 0.9


def test_a_version_bump_pushes_an_update_before_the_interval(env):
    with open_socket(env, env["c1"]) as ws:
        subscribe(ws, update_frequency=3600)
        with env["wh"].session() as s:  # what serving_versions_sensor does for a new run
            bump_versions(s, ["reporting/rpt_client_revenue_daily"])
        update = json.loads(ws.recv(timeout=15))
    assert update["type"] == "update" and update["reason"] == "materialization"
    assert update["data"]["revenue"]["versions"]["reporting/rpt_client_revenue_daily"] >= 1


def test_unsubscribe_stops_updates_and_keeps_the_socket(env):
    with open_socket(env, env["c1"]) as ws:
        subscribe(ws, update_frequency=0.1)
        ws.send(json.dumps({"type": "unsubscribe"}))
        while (m := json.loads(ws.recv(timeout=30)))["type"] == "update":
            pass  # updates sent before the unsubscribe was read
        assert m == {"type": "unsubscribed"}
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)  # five intervals: nothing
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "pong"}


def test_a_consumer_that_does_not_read_is_closed_4429(env):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a reader that barely reads
    sock.connect(("127.0.0.1", env["server"].port))
    health = env["server"].url + "/health"
    before = httpx.get(health).json()["websockets"]["closed_slow"]
    # no permessage-deflate: identical updates would compress to a few bytes each
    with open_socket(env, env["c1"], sock=sock, max_queue=1, ping_interval=None,
                     compression=None) as ws:
        ws.send(json.dumps({"type": "subscribe", "client_id": "c1",
                            "metric_types": ["revenue", "engagement", "performance"],
                            "update_frequency": MIN_FREQUENCY}))
        deadline = time.monotonic() + 60
        while httpx.get(health).json()["websockets"]["closed_slow"] == before:
            assert time.monotonic() < deadline, "the slow consumer was not closed in 60 s"
            time.sleep(0.2)
        assert close_code(ws) == 4429
