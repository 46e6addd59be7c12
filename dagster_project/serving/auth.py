"""Who is calling: bearer tokens checked against an in-memory copy of ``ops.api_tokens``.

The copy is reloaded when the poller sees ``ops/api_tokens`` bumped in
``ops.serving_versions`` (so a revocation takes effect within one poll interval) and when an
unknown token id arrives, so a token issued a moment ago works at once. Misses share reloads:
a miss waits for a reload that started after it arrived (one at a time), so a flood of random
ids costs one small read at a time, not one each. Expiry is checked on every request against
the clock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

from dagster_project.serving.tokens import Principal, split_token, verify


class AuthError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class TokenIndex:
    def __init__(self, load: Callable[[], dict[str, dict]]):
        self._load = load
        self._rows: dict[str, dict] = {}
        self._started = float("-inf")  # when the last completed reload started
        self._lock = threading.Lock()

    def reload(self, unless_started_after: float | None = None) -> None:
        with self._lock:
            if unless_started_after is not None and self._started > unless_started_after:
                return  # a reload that began after the caller's miss has just completed
            started = time.monotonic()
            self._rows = self._load()
            self._started = started

    def authenticate(self, token: str | None) -> Principal:
        """The token's principal; AuthError(401) when missing, malformed, unknown, wrong,
        expired or revoked. Blocking (it may reload): call it off the event loop on a miss."""
        if not token:
            raise AuthError(401, "missing bearer token (Authorization: Bearer <token>)")
        parts = split_token(token)
        if parts is None:
            raise AuthError(401, "malformed token")
        token_id, secret = parts
        row = self._rows.get(token_id)
        if row is None:
            self.reload(unless_started_after=time.monotonic())
            row = self._rows.get(token_id)
        if row is None:
            raise AuthError(401, "invalid token")
        refusal = verify(row, secret, utcnow())
        if refusal:
            raise AuthError(401, refusal)
        return Principal(token_id=token_id, name=row["name"], role=row["role"],
                         client_id=row["client_id"], expires_at=row["expires_at"])

    def knows(self, token: str | None) -> bool:
        parts = split_token(token or "")
        return parts is not None and parts[0] in self._rows


def scoped_client(principal: Principal, requested: str | None) -> str:
    """The client a request reads: a client token's own (naming another is 403); an admin
    token must name one (422)."""
    if principal.is_admin:
        if requested is None:
            raise AuthError(422, "client_id is required with an admin token")
        return requested
    if requested is not None and requested != principal.client_id:
        raise AuthError(403, f"this token is scoped to client {principal.client_id}; "
                        f"it cannot read {requested}")
    return principal.client_id


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise AuthError(403, "this endpoint needs an admin token")
