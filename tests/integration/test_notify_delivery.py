"""Delivery against real servers on 127.0.0.1 started here: an HTTP receiver (webhook, Slack,
SMS provider) and an SMTP server (aiosmtpd). Signatures are verified by the receiver with its
own HMAC; flaky, hanging, failing and unreachable endpoints end every notification delivered
or dead-lettered, none lost; idempotency keys repeat only on retries; a delivery process
killed mid-batch finishes after a restart without a key counted twice."""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import hashlib
import hmac
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import numpy as np
import polars as pl
import pytest

from dagster_project.alert_events import alert_event, write_alert_events
from dagster_project.notify.channels import hmac_sha256_hex
from dagster_project.notify.deliver import deliver_due, redeliver_dead_letters
from dagster_project.notify.rules import parse_rules
from dagster_project.notify.store import applied_rules, apply_rule_set, evaluate
from dagster_project.postgres.roles import apply_roles
from dagster_project.warehouse import Warehouse

pytestmark = pytest.mark.integration

WEBHOOK_SECRET = "whsec-test-secret-123"
SMS_TOKEN = "sms-token-secret-456"
SMTP_PASSWORD = "smtp-password-789"
T0 = dt.datetime(2025, 3, 1)


class Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops connections from 8 concurrent senders
    daemon_threads = True


class Receiver:
    """A threaded HTTP server. ``mode`` per path prefix: ok, flaky (500 with probability 1/2,
    seeded), hang_first (the first request of each key is accepted, then answered too late),
    fail (500), reject (400). ``accepted`` counts, per idempotency key, the requests the
    receiver processed (answered 200, or accepted before hanging)."""

    def __init__(self, delay: float = 0.0):
        self.requests: list[dict] = []
        self.accepted: Counter = Counter()
        self.modes: dict[str, str] = {}
        self.delay = delay
        self.rng = np.random.default_rng(11)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers.get("Idempotency-Key")
                mode = next((m for p, m in receiver.modes.items() if self.path.startswith(p)),
                            "ok")
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body, "at": time.time()})
                    seen = receiver.accepted[key]
                    code = {"ok": 200, "fail": 500, "reject": 400,
                            "flaky": 500 if receiver.rng.random() < 0.5 else 200,
                            "hang_first": 200}[mode]
                    if code == 200:
                        receiver.accepted[key] += 1
                if receiver.delay:
                    time.sleep(receiver.delay)
                if mode == "hang_first" and seen == 0:
                    time.sleep(1.6)  # beyond the channel's 1 s timeout: the answer is lost
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


RULES_TEXT = """
delivery: {max_attempts: MAX, backoff_base: 1s, backoff_max: 2s, batch_size: 50, workers: 8}
channels:
  hook: {type: webhook, url_env: T_HOOK_URL, secret_env: T_HOOK_SECRET, timeout: 1s}
  slack: {type: slack, url_env: T_SLACK_URL, timeout: 1s}
  sms: {type: sms, base_url_env: T_SMS_URL, account_env: T_SMS_ACCOUNT, token_env: T_SMS_TOKEN,
        sender: "+15550100", recipient: "+15550199", timeout: 1s}
  mail: {type: email, host_env: T_SMTP_HOST, port_env: T_SMTP_PORT, user_env: T_SMTP_USER,
         password_env: T_SMTP_PASSWORD, ca_file_env: T_SMTP_CA, starttls: STARTTLS,
         sender: alerts@example.org, recipients: [oncall@example.org, sre@example.org],
         timeout: 2s}
rules:
  - name: all
    source: "*"
    condition: {type: event, min_severity: info}
    channels: [CHANNELS]
    cooldown: 1h
"""


def rules_text(channels: str, max_attempts: int = 4, starttls: bool = False) -> str:
    return (RULES_TEXT.replace("CHANNELS", channels).replace("MAX", str(max_attempts))
            .replace("STARTTLS", str(starttls).lower()))


@pytest.fixture
def endpoints(receiver, monkeypatch):
    for name, value in {"T_HOOK_URL": f"{receiver.url}/hook", "T_HOOK_SECRET": WEBHOOK_SECRET,
                        "T_SLACK_URL": f"{receiver.url}/slack/T000/B000/XOXB-SLACK-SECRET",
                        "T_SMS_URL": f"{receiver.url}/sms", "T_SMS_ACCOUNT": "AC123",
                        "T_SMS_TOKEN": SMS_TOKEN}.items():
        monkeypatch.setenv(name, value)
    return receiver


def queue(w: Warehouse, text: str, n: int) -> int:
    """Apply ``text`` and queue ``n`` distinct events (one alert each); notifications queued."""
    rules = parse_rules(text)
    if w.backend == "postgres":  # the audit log is created by the roles command only
        apply_roles(w.postgres_dsn)
    with w.session() as s:
        apply_rule_set(s, rules, "test")
        write_alert_events(s, [alert_event(T0 + dt.timedelta(minutes=i), "forecasting",
                                           "warning", f"host{i:05d}", "capacity", {"i": i})
                               for i in range(n)])
    with w.session() as s:
        return evaluate(s, rules, s.clock()).notifications


def drain(w: Warehouse, seconds: float = 30.0):
    """Deliver until nothing is pending (retries wait their backoff)."""
    with w.session() as s:
        rules = applied_rules(s)
    total, deadline = None, time.monotonic() + seconds
    while time.monotonic() < deadline:
        step = deliver_due(w.session, rules)
        total = step if total is None else total + step
        with w.session() as s:
            pending = s.scalar("select count(*) from ops.alert_notifications "
                               "where status = 'pending'")
        if not pending:
            return total
        time.sleep(0.3)
    raise AssertionError(f"{pending} notifications still pending after {seconds} s")


def notifications(w: Warehouse) -> pl.DataFrame:
    with w.session() as s:
        return s.read("select * from ops.alert_notifications order by notification_id")


def deliveries(w: Warehouse) -> pl.DataFrame:
    with w.session() as s:
        return s.read("select * from ops.alert_deliveries order by notification_id, attempt")


def test_hmac_sha256_matches_rfc_4231_test_case_2():
    # RFC 4231, 4.3: key "Jefe", data "what do ya want for nothing?"
    assert hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_webhook_body_and_signature_verify_at_the_receiver(any_warehouse, endpoints):
    assert queue(any_warehouse, rules_text("hook, slack, sms"), 3) == 9
    summary = drain(any_warehouse)
    assert (summary.sent, summary.retried, summary.dead_lettered) == (9, 0, 0)
    sent = notifications(any_warehouse).filter(pl.col("channel") == "hook")
    hooks = [r for r in endpoints.requests if r["path"] == "/hook"]
    assert len(hooks) == 3
    for r in hooks:
        ts, sig = r["headers"]["X-Signature-Timestamp"], r["headers"]["X-Signature"]
        expected = hmac.new(WEBHOOK_SECRET.encode(), f"{ts}.".encode() + r["body"],
                            hashlib.sha256).hexdigest()
        assert sig == f"sha256={expected}"
        assert abs(time.time() - int(ts)) < 60  # fresh: a replay would be old
        doc = json.loads(r["body"])
        row = sent.filter(pl.col("notification_id") == doc["notification_id"]).row(0, named=True)
        assert r["headers"]["Idempotency-Key"] == row["notification_id"]
        assert (doc["entity"], doc["severity"], doc["kind"], doc["source"]) == (
            row["entity"], "warning", "new", "forecasting")
        assert doc["details"]["i"] == int(row["entity"][4:])
        tampered = hmac.new(WEBHOOK_SECRET.encode(), f"{ts}.".encode() + r["body"] + b" ",
                            hashlib.sha256).hexdigest()
        assert sig != f"sha256={tampered}"


def test_slack_and_sms_payloads(any_warehouse, endpoints):
    queue(any_warehouse, rules_text("slack, sms"), 1)
    drain(any_warehouse)
    (slack,) = [r for r in endpoints.requests if r["path"].startswith("/slack")]
    doc = json.loads(slack["body"])
    assert doc["text"] == "[WARNING] capacity at 2025-03-01 00:00 UTC"
    assert doc["blocks"][0]["type"] == "section" and "host00000" in doc["blocks"][0]["text"]["text"]
    (sms,) = [r for r in endpoints.requests if r["path"].startswith("/sms")]
    assert sms["path"] == "/sms/2010-04-01/Accounts/AC123/Messages.json"
    form = parse_qs(sms["body"].decode())
    assert form == {"To": ["+15550199"], "From": ["+15550100"],
                    "Body": ["[WARNING] capacity at 2025-03-01 00:00 UTC"]}
    assert sms["headers"]["Authorization"] == "Basic " + base64.b64encode(
        f"AC123:{SMS_TOKEN}".encode()).decode()


def test_a_flaky_endpoint_ends_with_every_alert_delivered_once_or_dead_lettered(
        any_warehouse, endpoints):
    endpoints.modes = {"/hook": "flaky"}
    n = queue(any_warehouse, rules_text("hook", max_attempts=4), 120)
    summary = drain(any_warehouse)
    final = notifications(any_warehouse)
    assert final.height == n == 120
    assert set(final["status"]) <= {"delivered", "dead_letter"}  # none pending, none lost
    delivered = set(final.filter(pl.col("status") == "delivered")["notification_id"])
    dead = set(final.filter(pl.col("status") == "dead_letter")["notification_id"])
    # the receiver accepted each delivered key exactly once and no dead-lettered one
    assert {k: c for k, c in endpoints.accepted.items() if c} == {k: 1 for k in delivered}
    assert summary.sent == len(delivered) and summary.dead_lettered == len(dead)
    # P(4 failures in a row) = 1/16: about 7.5 of 120; far from none and far from many
    assert 1 <= len(dead) <= 20
    attempts = deliveries(any_warehouse)
    assert attempts.height == final["attempts"].sum()
    # every attempt reached the receiver, except those that failed in transport (logged so)
    transport = attempts.filter(pl.col("status_code").is_null())
    assert attempts.height - transport.height == len(endpoints.requests)
    assert (final.filter(pl.col("status") == "dead_letter")["attempts"] == 4).all()
    # re-delivery once the endpoint is healthy: the same keys, accepted once each
    endpoints.modes = {}
    with any_warehouse.session() as s:
        assert redeliver_dead_letters(s, applied_rules(s)) == len(dead)
    drain(any_warehouse)
    assert set(notifications(any_warehouse)["status"]) == {"delivered"}
    assert set(endpoints.accepted) == delivered | dead
    assert set(endpoints.accepted.values()) == {1}


def test_a_lost_answer_is_retried_with_the_same_key(tmp_path, endpoints):
    w = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    endpoints.modes = {"/hook": "hang_first"}
    queue(w, rules_text("hook"), 10)
    drain(w)
    final = notifications(w)
    assert set(final["status"]) == {"delivered"} and (final["attempts"] == 2).all()
    keys = Counter(r["headers"]["Idempotency-Key"] for r in endpoints.requests)
    assert set(keys) == set(final["notification_id"])  # no new key was made up
    assert set(keys.values()) == {2}  # the hung request and its retry
    first = deliveries(w).filter(pl.col("attempt") == 1)
    assert set(first["outcome"]) == {"retry"} and set(first["error"]) == {"timed out after 1 s"}


def test_server_errors_unreachable_and_rejecting_endpoints_dead_letter_with_reasons(
        tmp_path, endpoints, monkeypatch):
    w = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    endpoints.modes = {"/hook": "fail", "/sms": "reject"}
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_port
    closed.server_close()  # nothing listens there now
    monkeypatch.setenv("T_SLACK_URL", f"http://127.0.0.1:{port}/services/XOXB-SLACK-SECRET")
    queue(w, rules_text("hook, slack, sms", max_attempts=3), 2)
    drain(w)
    final = notifications(w)
    assert set(final["status"]) == {"dead_letter"}
    by_channel = {c: g for c, g in final.group_by("channel")}
    assert set(by_channel[("hook",)]["last_error"]) == {"HTTP 500"}
    assert (by_channel[("hook",)]["attempts"] == 3).all()  # retried: a 5xx may pass
    assert set(by_channel[("sms",)]["last_error"]) == {"HTTP 400"}
    assert (by_channel[("sms",)]["attempts"] == 1).all()  # permanent: dead at once
    assert all(e.startswith("ConnectError") for e in by_channel[("slack",)]["last_error"])
    errors = " ".join(deliveries(w)["error"].drop_nulls())
    assert "SLACK-SECRET" not in errors and SMS_TOKEN not in errors


def test_a_missing_secret_dead_letters_naming_the_variable(tmp_path, endpoints, monkeypatch):
    w = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("T_SMS_TOKEN")
    queue(w, rules_text("sms"), 1)
    drain(w)
    (row,) = notifications(w).rows(named=True)
    assert row["status"] == "dead_letter" and row["attempts"] == 1
    assert row["last_error"] == ("environment variable T_SMS_TOKEN (token_env of channel sms) "
                                 "is not set")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"

    def __init__(self):
        self.messages = []


def smtp_server(tmp_path, starttls: bool, password: str):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"alerts" and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535

    kwargs = {}
    if starttls:
        cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                       capture_output=True)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs = {"tls_context": context, "require_starttls": True}
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticate,
                            auth_require_tls=starttls, **kwargs)
    controller.start()
    return controller, mailbox, (tmp_path / "cert.pem") if starttls else None


@pytest.mark.parametrize("starttls", [False, True])
def test_email_over_smtp_with_login(tmp_path, monkeypatch, starttls):
    controller, mailbox, cert = smtp_server(tmp_path, starttls, SMTP_PASSWORD)
    try:
        for name, value in {"T_SMTP_HOST": "127.0.0.1", "T_SMTP_PORT": str(controller.port),
                            "T_SMTP_USER": "alerts", "T_SMTP_PASSWORD": SMTP_PASSWORD,
                            "T_SMTP_CA": str(cert or "")}.items():
            monkeypatch.setenv(name, value)
        w = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
        queue(w, rules_text("mail", starttls=starttls), 2)
        drain(w)
    finally:
        controller.stop()
    final = notifications(w)
    assert set(final["status"]) == {"delivered"}
    assert len(mailbox.messages) == 2
    for envelope in mailbox.messages:
        assert envelope.rcpt_tos == ["oncall@example.org", "sre@example.org"]
        msg = message_from_bytes(envelope.content, policy=email.policy.default)
        nid = msg["Message-ID"].strip("<>").split("@")[0]
        assert nid in set(final["notification_id"])
        assert msg["Subject"].startswith("[WARNING] capacity at 2025-03-01")
        assert json.loads(msg.get_content())["notification_id"] == nid


def test_an_smtp_server_that_rejects_the_login_dead_letters_without_leaking_it(
        tmp_path, monkeypatch):
    controller, mailbox, _ = smtp_server(tmp_path, False, "the-right-password")
    try:
        for name, value in {"T_SMTP_HOST": "127.0.0.1", "T_SMTP_PORT": str(controller.port),
                            "T_SMTP_USER": "alerts", "T_SMTP_PASSWORD": SMTP_PASSWORD}.items():
            monkeypatch.setenv(name, value)
        w = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
        queue(w, rules_text("mail"), 1)
        drain(w)
    finally:
        controller.stop()
    (row,) = notifications(w).rows(named=True)
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "dead_letter", 1, "SMTP login rejected (535)")
    assert not mailbox.messages
    assert SMTP_PASSWORD not in " ".join(deliveries(w)["error"].drop_nulls())


def test_a_killed_delivery_process_finishes_after_restart_without_a_key_counted_twice(
        tmp_path, monkeypatch):
    slow = Receiver(delay=0.01)
    try:
        path = tmp_path / "w.duckdb"
        w = Warehouse(duckdb_path=str(path))
        monkeypatch.setenv("T_HOOK_URL", f"{slow.url}/hook")
        monkeypatch.setenv("T_HOOK_SECRET", WEBHOOK_SECRET)
        n = queue(w, rules_text("hook"), 1000)
        env = {**os.environ, "BI_WAREHOUSE": "duckdb", "BI_DUCKDB_PATH": str(path)}
        cmd = [sys.executable, "-m", "dagster_project.notify", "deliver"]
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(slow.requests) < 333 and time.monotonic() < deadline:
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait()
        at_kill = len(slow.requests)
        assert 333 <= at_kill < n  # killed in the middle
        with w.session() as s:
            done = s.scalar("select count(*) from ops.alert_notifications "
                            "where status = 'delivered'")
        assert done <= at_kill < n  # recorded only after sending; the rest still pending
        restart = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                                 check=False)
        assert restart.returncode == 0, restart.stderr
    finally:
        slow.close()
    final = notifications(w)
    assert final.height == n and set(final["status"]) == {"delivered"}
    keys = Counter(r["headers"]["Idempotency-Key"] for r in slow.requests)
    assert set(keys) == set(final["notification_id"])
    repeated = [k for k, c in keys.items() if c > 1]
    # only the batch in flight at the kill is sent again, with its own keys
    assert max(keys.values()) <= 2 and len(repeated) <= 50
    assert len(slow.requests) == n + len(repeated)
