"""Alert delivery: 10,000 alerts folded into ops.alerts and delivered to a local signed webhook
(a receiver in its own process that counts idempotency keys); target: delivery < 30 s."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchlib import Context, Record

ORDER = 75
N_ALERTS = 10_000
TARGET_S = 30.0

RULES = """
delivery: {max_attempts: 5, backoff_base: 30s, backoff_max: 1h, batch_size: 500, workers: 16}
channels:
  hook: {type: webhook, url_env: BENCH_HOOK_URL, secret_env: BENCH_HOOK_SECRET, timeout: 5s}
rules:
  - name: all
    source: "*"
    condition: {type: event, min_severity: info}
    channels: [hook]
    cooldown: 1h
"""


def receiver(port_file: str, keys_file: str) -> None:
    """A threaded HTTP receiver answering 200 and counting requests per Idempotency-Key;
    writes the counts to ``keys_file`` on SIGTERM."""
    from collections import Counter
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    keys: Counter = Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection per sender thread

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            keys[self.headers["Idempotency-Key"]] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)

    def stop(*_):
        Path(keys_file).write_text(json.dumps(keys))
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    Path(port_file).write_text(str(server.server_port))
    server.serve_forever()


def deliver_10k(work_dir: str) -> dict:
    import datetime as dt
    import os

    from dagster_project.alert_events import alert_event, write_alert_events
    from dagster_project.notify.deliver import deliver_due
    from dagster_project.notify.rules import parse_rules
    from dagster_project.notify.store import apply_rule_set, evaluate
    from dagster_project.warehouse import Warehouse

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    port_file, keys_file = work / "port", work / "keys.json"
    for f in (port_file, keys_file, work / "alerts.duckdb"):
        f.unlink(missing_ok=True)
    script = ("import sys; sys.path.insert(0, 'bench');"
              " from bench_monitoring_delivery import receiver;"
              f" receiver({str(port_file)!r}, {str(keys_file)!r})")
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        while not port_file.exists():
            time.sleep(0.05)
        os.environ["BENCH_HOOK_URL"] = f"http://127.0.0.1:{port_file.read_text()}/hook"
        os.environ["BENCH_HOOK_SECRET"] = "bench-secret"
        w = Warehouse(duckdb_path=str(work / "alerts.duckdb"))
        rules = parse_rules(RULES)
        t0 = dt.datetime(2025, 1, 1)
        with w.session() as s:
            apply_rule_set(s, rules, "bench")
            write_alert_events(s, [alert_event(t0 + dt.timedelta(seconds=i), "bench", "warning",
                                               f"entity{i:05d}", "load test", {"i": i})
                                   for i in range(N_ALERTS)])
        started = time.perf_counter()
        with w.session() as s:
            queued = evaluate(s, rules, s.clock()).notifications
        evaluated = time.perf_counter() - started
        started = time.perf_counter()
        summary = deliver_due(w.session, rules, max_seconds=600)
        delivered = time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    keys = json.loads(keys_file.read_text())
    return {"queued": queued, "sent": summary.sent, "retried": summary.retried,
            "dead_lettered": summary.dead_lettered, "batches": summary.batches,
            "evaluate_s": evaluated, "deliver_s": delivered, "distinct_keys": len(keys),
            "max_per_key": max(keys.values(), default=0)}


def run(ctx: Context) -> list[Record]:
    m = ctx.measure("bench_monitoring_delivery:deliver_10k",
                    work_dir=str(ctx.dir("monitoring_delivery")))
    r = m.result
    exact = (r["queued"] == r["sent"] == r["distinct_keys"] == N_ALERTS
             and r["max_per_key"] == 1)
    note = (f"{r['sent']} sent in {r['batches']} batches, {r['retried']} retried, "
            f"{r['dead_lettered']} dead-lettered; receiver saw {r['distinct_keys']} keys, "
            f"at most {r['max_per_key']} each ({'exact' if exact else 'MISMATCH'})")
    return [
        Record.from_measurement("deliver_10k_alerts_s", r["deliver_s"], "s", m,
                                target=TARGET_S, notes=note),
        Record.from_measurement("deliver_throughput", r["sent"] / r["deliver_s"], "alerts/s", m),
        Record.from_measurement("evaluate_10k_events_s", r["evaluate_s"], "s", m,
                                notes="events -> occurrences -> alerts -> notifications, "
                                "one transaction"),
    ]
