"""``WS /ws/bi-dashboard``: live dashboard metrics for one client.

Protocol (JSON text frames):

- connect with ``Authorization: Bearer <token>`` (or ``?token=<token>`` for browsers, which
  cannot set headers on a WebSocket); checked when the socket opens;
- client: ``{"type": "subscribe", "client_id": "c_0001", "metric_types": ["revenue",
  "engagement", "performance"], "update_frequency": 30}``; server: ``{"type": "snapshot",
  "client_id", "metric_types", "update_frequency", "data": {<metric>: <the REST area's
  answer>}}``;
- server, afterwards: ``{"type": "update", "reason": "materialization" | "interval", "data"}``
  when a table a metric reads gets a new version, or every ``update_frequency`` seconds
  (bounded below by ``BI_SERVING_WS_MIN_FREQUENCY_S``, 5 s); a re-subscribe replaces the
  subscription (a new snapshot follows);
- client ``{"type": "ping"}`` -> server ``{"type": "pong"}`` (WebSocket ping frames are
  answered too); client ``{"type": "unsubscribe"}`` -> ``{"type": "unsubscribed"}``, updates
  stop, the socket stays open.

Close codes: 4400 invalid message, 4401 missing/invalid/expired/revoked token, 4403 client_id
outside the token's scope, 4408 no subscribe within 30 s of connecting, 4429 slow consumer
(more than ``BI_SERVING_WS_QUEUE_SIZE`` messages waiting), 1011 server error.
Each connection has a bounded outgoing queue; a consumer that does not keep up is closed
rather than buffered without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dagster_project.serving import queries
from dagster_project.serving.auth import AuthError, scoped_client
from dagster_project.serving.deps import authenticate
from dagster_project.serving.models import ClientId
from dagster_project.serving.service import Service

log = logging.getLogger(__name__)
router = APIRouter()

INVALID, UNAUTHORIZED, FORBIDDEN, NO_SUBSCRIBE, SLOW_CONSUMER, SERVER_ERROR = (
    4400, 4401, 4403, 4408, 4429, 1011)
SUBSCRIBE_WITHIN_S = 30.0
CLOSE_TIMEOUT_S = 5.0


class Subscribe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    client_id: ClientId | None = None
    metric_types: list[str] = Field(default=list(queries.METRIC_TYPES), min_length=1)
    update_frequency: float = Field(default=30.0, gt=0, le=86400)


class SlowConsumer(Exception):
    pass


class Connection:
    def __init__(self, ws: WebSocket, svc: Service):
        self.ws, self.svc = ws, svc
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=svc.settings.ws_queue_size)
        self.updates: asyncio.Task | None = None

    def push(self, message: dict) -> None:
        try:
            self.queue.put_nowait(json.dumps(message))
        except asyncio.QueueFull:
            raise SlowConsumer from None

    async def metrics(self, client_id: str, metric_types: list[str]) -> dict:
        data = {}
        for metric_type in metric_types:
            aq = queries.metric(metric_type, client_id)
            body, _ = await self.svc.answer(aq, client_id, {"metric": metric_type})
            data[metric_type] = json.loads(body.json())
        return data

    def _watched(self, client_id: str, metric_types: list[str]) -> dict[str, int]:
        tables = {t for m in metric_types for t in queries.metric(m, client_id).tables}
        return {t: self.svc.versions.get(t, 0) for t in tables}

    async def run_updates(self, sub: Subscribe, client_id: str) -> None:
        frequency = max(sub.update_frequency, self.svc.settings.ws_min_frequency_s)
        self.push({"type": "snapshot", "client_id": client_id, "metric_types": sub.metric_types,
                   "update_frequency": frequency,
                   "data": await self.metrics(client_id, sub.metric_types)})
        seen = self._watched(client_id, sub.metric_types)
        while True:
            changed = self.svc.versions_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=frequency)
            now = self._watched(client_id, sub.metric_types)
            if changed.is_set() and now == seen:
                continue  # another table changed: nothing new for this subscription
            reason = "materialization" if now != seen else "interval"
            seen = now
            self.push({"type": "update", "reason": reason, "client_id": client_id,
                       "data": await self.metrics(client_id, sub.metric_types)})

    async def send_loop(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                await self.ws.send_text(await self.queue.get())


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    """Send the close frame; a peer whose buffers are full may never take it: give up after
    CLOSE_TIMEOUT_S (uvicorn's keepalive ping then drops the dead connection)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code=code, reason=reason[:120]), CLOSE_TIMEOUT_S)


@router.websocket("/ws/bi-dashboard")
async def bi_dashboard(ws: WebSocket):
    svc: Service = ws.app.state.service
    header = ws.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ws.query_params.get(
        "token")
    await ws.accept()
    try:
        principal = await authenticate(svc, token)
    except AuthError as e:
        await _close(ws, UNAUTHORIZED, e.message)
        return
    conn = Connection(ws, svc)
    svc.ws_counts["open"] += 1
    sender = asyncio.create_task(conn.send_loop())
    failure: tuple[int, str] | None = None
    try:
        subscribed = False
        while True:
            timeout = None if subscribed else SUBSCRIBE_WITHIN_S
            try:
                raw = await asyncio.wait_for(ws.receive_text(), timeout=timeout)
            except TimeoutError:
                failure = (NO_SUBSCRIBE, "no subscribe message within 30 s")
                break
            try:
                message = json.loads(raw)
                kind = message.get("type") if isinstance(message, dict) else None
            except json.JSONDecodeError:
                kind = None
            if kind == "ping":
                conn.push({"type": "pong"})
            elif kind == "unsubscribe":
                if conn.updates:
                    conn.updates.cancel()
                    conn.updates = None
                conn.push({"type": "unsubscribed"})
            elif kind == "subscribe":
                try:
                    sub = Subscribe.model_validate(message)
                    unknown = sorted(set(sub.metric_types) - set(queries.METRIC_TYPES))
                    if unknown:
                        raise ValueError(f"unknown metric_types {unknown}")
                    client_id = scoped_client(principal, sub.client_id)
                except AuthError as e:
                    failure = (FORBIDDEN if e.status == 403 else INVALID, e.message)
                    break
                except (ValidationError, ValueError) as e:
                    failure = (INVALID, f"invalid subscribe: {e}".replace("\n", " "))
                    break
                if conn.updates:
                    conn.updates.cancel()
                conn.updates = asyncio.create_task(conn.run_updates(sub, client_id))
                conn.updates.add_done_callback(lambda t: _on_updates_done(t, ws))
                subscribed = True
            else:
                failure = (INVALID, "expected a JSON object of type subscribe, unsubscribe, ping")
                break
    except (WebSocketDisconnect, RuntimeError):  # the client left, or we closed the socket
        pass
    except SlowConsumer:
        failure = (SLOW_CONSUMER, "slow consumer: outgoing queue full")
    finally:
        svc.ws_counts["open"] -= 1
        if conn.updates:
            conn.updates.cancel()
        sender.cancel()
    if failure:
        if failure[0] == SLOW_CONSUMER:
            svc.ws_counts["closed_slow"] += 1
        await _close(ws, *failure)


def _on_updates_done(task: asyncio.Task, ws: WebSocket) -> None:
    """The update task ended on its own: a slow consumer or an error closes the socket."""
    if task.cancelled():
        return
    error = task.exception()
    if isinstance(error, SlowConsumer):
        ws.app.state.service.ws_counts["closed_slow"] += 1
        asyncio.ensure_future(_close(ws, SLOW_CONSUMER, "slow consumer: outgoing queue full"))
    elif error is not None:
        log.error("dashboard updates failed: %r", error)
        asyncio.ensure_future(_close(ws, SERVER_ERROR, "server error"))
