"""Serving API: 500 REST requests/s offered to cached endpoints and the same endpoints
uncached (every request a new cache key), p50 / p99 latency side by side; 200 concurrent
WebSocket dashboards and the latency from a version bump to each one's update. One uvicorn
process (the service) and one load-generating process share the machine's 2 cores.

The REST load is sent with aiohttp: httpx's async client spends about 3 ms of CPU per request
on this machine, so with it the client, not the service, capped the rate near 400 req/s
(aiohttp: about 0.2 ms)."""

from __future__ import annotations

import shutil

from bench_dbt import dbt_cli
from bench_ingest import ensure_raw_warehouse
from benchlib import Context, Record

ORDER = 90
OFFERED_RPS = 500
SECONDS = 10
WS_CLIENTS = 200
BUMPS = 5
CLIENTS = 20  # distinct client tokens the load cycles through
WORKERS = 64  # concurrent connections sending the scheduled requests
ENDPOINTS = ("usage-analytics", "revenue-tracking")


def dbt_reporting(duckdb_path: str, target_path: str, log_path: str) -> dict:
    import os

    os.environ.update(BI_DUCKDB_PATH=duckdb_path, DBT_TARGET="duckdb",
                      DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    return dbt_cli(["run", "--select", "+path:models/reporting"], target_path, log_path)


def _percentiles(latencies: list[float]) -> dict:
    import numpy as np

    if not latencies:
        return {"p50_ms": None, "p99_ms": None}
    a = np.asarray(latencies) * 1000
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99))}


def load(duckdb_path: str) -> dict:
    """Start the service, offer the REST load cached then uncached, then the WebSockets."""
    import asyncio
    import datetime as dt
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import aiohttp
    import httpx
    import websockets

    from dagster_project.serving import tokens
    from dagster_project.serving.versions import bump_versions
    from dagster_project.warehouse import Warehouse

    wh = Warehouse(duckdb_path=duckdb_path)
    clients = [c for (c,) in wh.read(
        "select client_id from reporting.rpt_client_revenue_daily group by 1 "
        "order by count(*) desc, 1 limit ?", [CLIENTS]).rows()]
    toks = [tokens.issue(wh, f"bench-{c}", "client", c, 1, "bench")[0] for c in clients]
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "BI_WAREHOUSE": "duckdb", "BI_DUCKDB_PATH": duckdb_path,
           "BI_SERVING_PORT": str(port), "BI_SERVING_RATE_PER_SECOND": "100000",
           "BI_SERVING_BURST": "100000", "BI_SERVING_WS_MIN_FREQUENCY_S": "5",
           "BI_SERVING_WS_QUEUE_SIZE": "64"}
    with open(Path(duckdb_path).with_suffix(".serving.log"), "wb") as log:  # the child keeps it
        server = subprocess.Popen([sys.executable, "-m", "dagster_project.serving"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)

        async def offered(http: aiohttp.ClientSession, body_for) -> dict:
            """OFFERED_RPS requests/s for SECONDS on a fixed schedule (request i is due at
            start + i / rate), sent by WORKERS connections; each latency runs from the due
            time to the full answer, so time spent waiting behind a slow answer counts."""
            latencies, statuses = [], {}
            n = OFFERED_RPS * SECONDS
            start = time.perf_counter() + 0.2

            async def worker(k: int):
                for i in range(k, n, WORKERS):
                    due = start + i / OFFERED_RPS
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tok = toks[i % len(toks)]
                    try:
                        async with http.post(f"{url}/api/v1/bi/{ENDPOINTS[i % len(ENDPOINTS)]}",
                                             json=body_for(i),
                                             headers={"Authorization": f"Bearer {tok}"}) as r:
                            await r.read()  # the whole answer (gzip-decoded, as a browser does)
                        statuses[r.status] = statuses.get(r.status, 0) + 1
                        if r.status == 200:
                            latencies.append(time.perf_counter() - due)
                    except (aiohttp.ClientError, TimeoutError) as e:
                        statuses[type(e).__name__] = statuses.get(type(e).__name__, 0) + 1

            await asyncio.gather(*(worker(k) for k in range(WORKERS)))
            elapsed = time.perf_counter() - start
            print(f"offered load done in {elapsed:.1f} s: {statuses}", file=sys.stderr, flush=True)
            return {"sent": n, "ok": len(latencies), "elapsed_s": elapsed,
                    "achieved_rps": len(latencies) / elapsed, "statuses": statuses,
                    **_percentiles(latencies)}

        async def rest() -> dict:
            async with aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=WORKERS),
                    timeout=aiohttp.ClientTimeout(total=30)) as http:
                for i in range(len(toks) * len(ENDPOINTS)):  # warm the cache
                    async with http.post(f"{url}/api/v1/bi/{ENDPOINTS[i % 2]}", json={}, headers={
                            "Authorization": f"Bearer {toks[i % len(toks)]}"}) as r:
                        await r.read()
                cached = await offered(http, lambda i: {})
                # a distinct 365-day window per request: a new cache key, so a warehouse read
                def window(i: int) -> dict:
                    end = dt.date(2024, 1, 1) + dt.timedelta(days=i % 2000)
                    return {"timeframe": {"start_date": str(end - dt.timedelta(days=364)),
                                          "end_date": str(end)}}

                uncached = await offered(http, window)
            return {"cached": cached, "uncached": uncached}

        async def dashboards() -> dict:
            ws_url = f"ws://127.0.0.1:{port}/ws/bi-dashboard"
            received: list[list[float]] = [[] for _ in range(BUMPS)]

            failures: list[str] = []

            async def dashboard(i: int, ready: asyncio.Event, done: asyncio.Event):
                try:
                    await subscribed(i, ready, done)
                except Exception as e:  # noqa: BLE001 - counted and reported, not fatal
                    failures.append(type(e).__name__)
                finally:
                    ready.set()

            async def subscribed(i: int, ready: asyncio.Event, done: asyncio.Event):
                async with websockets.connect(
                        ws_url, additional_headers={"Authorization": f"Bearer {toks[i % len(toks)]}"},
                        max_size=2**24, open_timeout=60) as ws:
                    await ws.send(json.dumps({"type": "subscribe", "metric_types": ["revenue",
                                              "engagement"], "update_frequency": 3600}))
                    json.loads(await ws.recv())  # snapshot
                    ready.set()
                    while not done.is_set():
                        try:
                            m = json.loads(await asyncio.wait_for(ws.recv(), 1))
                        except TimeoutError:
                            continue
                        if m["type"] == "update" and m["reason"] == "materialization":
                            k = m["data"]["revenue"]["versions"][
                                "reporting/rpt_client_revenue_daily"] - 1
                            if 0 <= k < BUMPS:
                                received[k].append(time.perf_counter())

            done = asyncio.Event()
            readies = [asyncio.Event() for _ in range(WS_CLIENTS)]
            tasks = [asyncio.create_task(dashboard(i, readies[i], done))
                     for i in range(WS_CLIENTS)]
            t0 = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 180)
            connect_s = time.perf_counter() - t0
            print(f"dashboards subscribed in {connect_s:.1f} s, {len(failures)} failed",
                  file=sys.stderr, flush=True)
            latencies = []
            for k in range(BUMPS):
                def bump():
                    with wh.session() as s:
                        bump_versions(s, ["reporting/rpt_client_revenue_daily"])
                    return time.perf_counter()
                at = await asyncio.to_thread(bump)
                deadline = time.perf_counter() + 30
                while len(received[k]) < WS_CLIENTS and time.perf_counter() < deadline:
                    await asyncio.sleep(0.05)
                latencies += [t - at for t in received[k]]
                await asyncio.sleep(1)
            done.set()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
            return {"clients": WS_CLIENTS, "failed": failures, "connect_and_snapshot_s": connect_s,
                    "updates": len(latencies), "expected_updates": WS_CLIENTS * BUMPS,
                    **_percentiles(latencies)}

        rest_result = asyncio.run(rest())
        print(f"REST done: {json.dumps(rest_result)}", file=sys.stderr, flush=True)
        ws_result = asyncio.run(dashboards())
        return {"rest": rest_result, "ws": ws_result, "clients": len(clients)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(ctx: Context) -> list[Record]:
    raw = ensure_raw_warehouse(ctx)
    db = ctx.path("serving", raw.name)
    shutil.copyfile(raw, db)
    ctx.measure("bench_serving:dbt_reporting", label="serving-dbt", duckdb_path=str(db),
                target_path=str(ctx.dir("serving-dbt-target")),
                log_path=str(ctx.dir("serving-dbt-logs")))
    m = ctx.measure("bench_serving:load", label="serving-load", duckdb_path=str(db))
    rest, ws = m.result["rest"], m.result["ws"]
    records = []
    for kind in ("cached", "uncached"):
        r = rest[kind]
        note = (f"{OFFERED_RPS} req/s offered for {SECONDS} s ({r['sent']} requests on a fixed "
                f"schedule over {WORKERS} connections; latency from each request's due time) "
                f"over {', '.join(ENDPOINTS)} for {m.result['clients']} clients; achieved "
                f"{r['achieved_rps']:.0f} req/s; statuses {r['statuses']}")
        records.append(Record.from_measurement(f"REST {kind} p50", r["p50_ms"], "ms", m,
                                               notes=note))
        records.append(Record.from_measurement(f"REST {kind} p99", r["p99_ms"], "ms", m,
                                               notes=note))
        records.append(Record.from_measurement(
            f"REST {kind} achieved rate", r["achieved_rps"], "req/s", m,
            target=OFFERED_RPS * 0.98 if kind == "cached" else None, target_op=">="))
    note = (f"{ws['clients']} dashboards (revenue + engagement), {BUMPS} version bumps; "
            f"{ws['updates']} of {ws['expected_updates']} updates received; connect + snapshot "
            f"of all {ws['connect_and_snapshot_s']:.1f} s")
    records.append(Record.from_measurement("WebSocket update after a bump p50", ws["p50_ms"],
                                           "ms", m, notes=note))
    records.append(Record.from_measurement("WebSocket update after a bump p99", ws["p99_ms"],
                                           "ms", m, notes=note))
    return records
