"""The four channels: the request each one sends for a notification, and the sending.

Every request carries the notification's id as its idempotency key (HTTP header
``Idempotency-Key``; email ``Message-ID: <id@bi-engine>``), the same on every attempt, so a
receiver that saw a request whose answer was lost recognises the retry.

- **webhook**: ``POST`` of the JSON body (:func:`body`); when the channel names a secret,
  ``X-Signature-Timestamp: t`` (Unix seconds) and ``X-Signature: sha256=HMAC-SHA256(secret,
  f"{t}." + body)`` in hex (the construction of Stripe's and Slack's request signing:
  signing the timestamp with the body lets a receiver reject replays older than its tolerance);
- **slack**: an incoming-webhook payload (``text`` and one ``mrkdwn`` section block);
- **sms**: a Twilio-style form post ``To``, ``From``, ``Body`` to
  ``{base_url}/2010-04-01/Accounts/{account}/Messages.json`` with basic auth (account, token);
- **email**: SMTP, ``STARTTLS`` when the channel says so, login when a user is named.

Outcomes: 2xx (or SMTP accepted) is delivered; a timeout, a connection failure, HTTP 408, 429
or 5xx, or an SMTP 4xx reply is retryable; any other answer (a 4xx, a rejected SMTP login, a
missing environment variable) is permanent, and the notification is dead-lettered at once.
Error texts never contain a secret: every secret value is replaced by ``***``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from dagster_project.notify.rules import Channel
from dagster_project.settings import channel_secret

RETRYABLE_HTTP = frozenset({408, 429})
USER_AGENT = "bi-engine-alerts/1"


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retryable: bool
    status_code: int | None  # HTTP status or SMTP reply code
    error: str | None  # secrets redacted
    duration_ms: float


class MissingSetting(Exception):
    pass


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: int, body_bytes: bytes) -> str:
    """The ``X-Signature`` header value for ``body_bytes`` sent at ``timestamp``."""
    return "sha256=" + hmac_sha256_hex(secret.encode(), f"{timestamp}.".encode() + body_bytes)


def body(n: dict[str, Any]) -> bytes:
    """The JSON document a webhook receives (keys sorted, no whitespace: the signed bytes)."""
    doc = {k: n[k] for k in ("notification_id", "alert_key", "kind", "severity", "rule",
                             "source", "metric", "entity", "title")}
    doc["occurred_at"] = n["occurred_at"].isoformat() if n["occurred_at"] else None
    doc["details"] = json.loads(n["details"]) if n["details"] else None
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()


def text(n: dict[str, Any]) -> str:
    """One line for humans: severity, title, kind and time."""
    kind = {"new": "", "repeat": " (again)", "escalated": " (ESCALATED)"}.get(n["kind"], "")
    return f"[{n['severity'].upper()}] {n['title']}{kind} at {n['occurred_at']:%Y-%m-%d %H:%M} UTC"


def slack_payload(n: dict[str, Any]) -> dict:
    return {"text": text(n), "blocks": [{"type": "section", "text": {
        "type": "mrkdwn",
        "text": f"*{text(n)}*\nrule `{n['rule']}`, entity `{n['entity']}`, id `{n['notification_id']}`"}}]}


def _need(channel: Channel, field: str) -> str:
    variable = channel.settings.get(field)
    value = channel_secret(variable) if variable else None
    if value is None:
        raise MissingSetting(f"environment variable {variable} ({field} of channel "
                             f"{channel.name}) is not set")
    return value


def _optional(channel: Channel, field: str) -> str | None:
    variable = channel.settings.get(field)
    return channel_secret(variable) if variable else None


def _secrets(channel: Channel) -> list[str]:
    return [v for k, name in channel.settings.items() if k.endswith("_env")
            and isinstance(name, str) and (v := channel_secret(name))]


def _redact(message: str, secrets: list[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        message = message.replace(s, "***")
    return message


def send(n: dict[str, Any], channel: Channel, client: httpx.Client) -> Outcome:
    """Send notification ``n`` (a row of ``ops.alert_notifications``) on ``channel``."""
    start = time.perf_counter()
    try:
        if channel.kind == "email":
            code = _send_email(n, channel)
        else:
            code = _send_http(n, channel, client)
    except MissingSetting as e:
        return Outcome(False, False, None, str(e), _ms(start))
    except httpx.TimeoutException:
        return Outcome(False, True, None, f"timed out after {channel.timeout_s:g} s",
                       _ms(start))
    except httpx.HTTPError as e:
        return Outcome(False, True, None, _redact(f"{type(e).__name__}: {e}",
                                                  _secrets(channel)), _ms(start))
    except smtplib.SMTPAuthenticationError as e:
        return Outcome(False, False, e.smtp_code, f"SMTP login rejected ({e.smtp_code})",
                       _ms(start))
    except smtplib.SMTPResponseException as e:
        return Outcome(False, 400 <= e.smtp_code < 500, e.smtp_code,
                       _redact(f"SMTP {e.smtp_code}: {e.smtp_error!r}", _secrets(channel)),
                       _ms(start))
    except (smtplib.SMTPException, OSError) as e:
        return Outcome(False, True, None, _redact(f"{type(e).__name__}: {e}", _secrets(channel)),
                       _ms(start))
    if 200 <= code < 300:
        return Outcome(True, False, code, None, _ms(start))
    retryable = code in RETRYABLE_HTTP or code >= 500
    return Outcome(False, retryable, code, f"HTTP {code}", _ms(start))


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _send_http(n: dict[str, Any], channel: Channel, client: httpx.Client) -> int:
    headers = {"Idempotency-Key": n["notification_id"], "User-Agent": USER_AGENT}
    if channel.kind == "sms":
        base = _need(channel, "base_url_env").rstrip("/")
        account, token = _need(channel, "account_env"), _need(channel, "token_env")
        response = client.post(
            f"{base}/2010-04-01/Accounts/{account}/Messages.json", headers=headers,
            data={"To": channel.settings["recipient"], "From": channel.settings["sender"],
                  "Body": text(n)},
            auth=(account, token), timeout=channel.timeout_s)
        return response.status_code
    url = _need(channel, "url_env")
    if channel.kind == "slack":
        payload = json.dumps(slack_payload(n)).encode()
    else:
        payload = body(n)
        secret = _optional(channel, "secret_env")
        if secret:
            ts = int(time.time())
            headers |= {"X-Signature-Timestamp": str(ts), "X-Signature": signature(secret, ts,
                                                                                   payload)}
    headers["Content-Type"] = "application/json"
    return client.post(url, content=payload, headers=headers,
                       timeout=channel.timeout_s).status_code


def email_message(n: dict[str, Any], channel: Channel) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = text(n)
    msg["From"] = channel.settings["sender"]
    msg["To"] = ", ".join(channel.settings["recipients"])
    msg["Message-ID"] = f"<{n['notification_id']}@bi-engine>"
    msg.set_content(body(n).decode())
    return msg


def _send_email(n: dict[str, Any], channel: Channel) -> int:
    host = _need(channel, "host_env")
    port = int(_optional(channel, "port_env") or 587)
    with smtplib.SMTP(host, port, timeout=channel.timeout_s) as smtp:
        if channel.settings.get("starttls", False):
            ca_file = _optional(channel, "ca_file_env")
            smtp.starttls(context=ssl.create_default_context(cafile=ca_file))
        user = _optional(channel, "user_env")
        if user:
            smtp.login(user, _need(channel, "password_env"))
        smtp.send_message(email_message(n, channel))
    return 250
