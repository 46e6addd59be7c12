"""FastAPI dependencies and the errors the app turns into responses."""

from __future__ import annotations

import math
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dagster_project.serving.auth import AuthError
from dagster_project.serving.service import Service
from dagster_project.serving.tokens import Principal

bearer = HTTPBearer(auto_error=False, description="A token from `make token-issue` "
                    "(python -m dagster_project.serving.tokens issue).")


class RateLimited(Exception):
    def __init__(self, wait_s: float):
        super().__init__(f"rate limit exceeded; retry in {wait_s:.2f} s")
        self.retry_after = max(1, math.ceil(wait_s))


def service(request: Request) -> Service:
    return request.app.state.service


async def authenticate(svc: Service, token: str | None) -> Principal:
    if svc.tokens.knows(token):  # in memory: no I/O on the event loop
        return svc.tokens.authenticate(token)
    return await anyio.to_thread.run_sync(svc.tokens.authenticate, token)


async def caller(request: Request,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                 ) -> Principal:
    """The authenticated principal of the request, after its token bucket allowed it."""
    svc = service(request)
    principal = await authenticate(svc, creds.credentials if creds else None)
    wait = svc.buckets.take(principal.token_id)
    if wait:
        raise RateLimited(wait)
    return principal


Caller = Annotated[Principal, Depends(caller)]

__all__ = ["AuthError", "Caller", "RateLimited", "authenticate", "bearer", "caller", "service"]
