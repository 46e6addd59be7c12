"""The ASGI app factory: routes, limits, compression, error responses, the version poller."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.middleware.gzip import GZipMiddleware

from dagster_project.serving import routes_bi, routes_writes, websocket
from dagster_project.serving.auth import AuthError
from dagster_project.serving.deps import RateLimited
from dagster_project.serving.launcher import Launcher, LaunchFailed
from dagster_project.serving.reader import QueryTimeout, WarehouseBusy
from dagster_project.serving.service import Service
from dagster_project.serving.settings import ServingSettings
from dagster_project.warehouse import Warehouse


class BodyLimit:
    """413 for request bodies over ``max_bytes``: by Content-Length up front, and for a chunked
    body by reading it (never more than ``max_bytes`` held) before the app sees it."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                return await _too_large(self.max_bytes, send)
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await _too_large(self.max_bytes, send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(max_bytes: int, send) -> None:
    body = json.dumps({"detail": f"request body larger than {max_bytes} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _error(status: int, detail, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail}, headers=headers)


def _validation_detail(exc: RequestValidationError) -> list[dict]:
    """pydantic's errors with the field path and the rule in words (no echo of the input)."""
    return [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()]


def create_app(settings: ServingSettings, warehouse: Warehouse,
               client_warehouse: Warehouse | None = None) -> FastAPI:
    """The service over ``warehouse`` (``client_warehouse``: PostgreSQL's client role, for
    client-scoped reporting reads under row-level security)."""
    svc = Service(settings, warehouse, client_warehouse)
    svc.launcher = Launcher(settings.dagster_url, warehouse, svc.reader.gate)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await svc.poll_once()
        poller = asyncio.create_task(svc.poll_forever())
        try:
            yield
        finally:
            poller.cancel()

    app = FastAPI(title="BI engine serving API", version="1.0.0", lifespan=lifespan,
                  description="Authenticated, rate-limited, cached reads of the reporting and "
                  "analytics schemas; writes launch Dagster jobs. See README, Serving API.")
    app.state.service = svc
    app.include_router(routes_bi.router)
    app.include_router(routes_writes.router)
    app.include_router(websocket.router)

    @app.get("/health", tags=["health"])
    async def health() -> dict:
        """Liveness and what the service sees: the backend, table versions, cache and
        WebSocket counters (open, closed as slow consumers).
        No token needed; touches no warehouse table."""
        return {"status": "ok", "warehouse": warehouse.backend,
                "tables_versioned": len(svc.versions),
                "cache": {"hits": svc.computer.hits, "misses": svc.computer.misses},
                "websockets": dict(svc.ws_counts)}

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, exc.message, headers)

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited):
        return _error(429, str(exc), {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return _error(422, _validation_detail(exc))

    @app.exception_handler(WarehouseBusy)
    async def _busy(request: Request, exc: WarehouseBusy):
        return _error(503, "warehouse busy (a pipeline run holds it); retry shortly",
                      {"Retry-After": "1"})

    @app.exception_handler(QueryTimeout)
    async def _timeout(request: Request, exc: QueryTimeout):
        return _error(504, str(exc))

    @app.exception_handler(LaunchFailed)
    async def _launch(request: Request, exc: LaunchFailed):
        return _error(502, str(exc))

    app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def app_from_environment() -> FastAPI:
    """The app configured by the environment (``BI_*`` and ``BI_SERVING_*``): what
    ``make serve`` runs (``uvicorn --factory``)."""
    from psycopg.conninfo import make_conninfo

    from dagster_project.serving.settings import serving_settings
    from dagster_project.settings import get_settings

    settings = get_settings()
    serving = serving_settings()
    warehouse = Warehouse.from_settings(settings)
    client = None
    if warehouse.backend == "postgres":
        client = Warehouse(backend="postgres", postgres_dsn=make_conninfo(
            settings.postgres_dsn, user=serving.pg_client_user,
            password=serving.pg_client_password or None))
    return create_app(serving, warehouse, client)
