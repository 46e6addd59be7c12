"""Writes: the API launches the Dagster job that owns the write, through the webserver's
GraphQL API, and never writes an analytics or ops table itself.

Each write request is first recorded in ``audit.audit_log`` (action ``api.<job>``, object
``api_requests/<request id>``, the job's config as ``after``), then launched with the request
id in the run's tags (``bi/api_request_id``), so every run the API started is linked to its
audit entry, and an attempt whose launch fails is still on record. The job itself audits what
it changes (a pricing decision, an alert rule set).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

import anyio
import duckdb
import requests
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from dagster_project.audit import record_audit
from dagster_project.serving.reader import FileGate, WarehouseBusy
from dagster_project.serving.tokens import Principal
from dagster_project.warehouse import Warehouse

REQUEST_TAG = "bi/api_request_id"


class LaunchFailed(Exception):
    """The webserver is unreachable or refused the launch (502)."""


@dataclass(frozen=True)
class Launched:
    run_id: str
    request_id: str
    audit_id: int


def _client(url: str) -> DagsterGraphQLClient:
    parts = urlparse(url)
    return DagsterGraphQLClient(parts.hostname or "127.0.0.1", port_number=parts.port,
                                use_https=parts.scheme == "https", timeout=30)


class Launcher:
    def __init__(self, dagster_url: str, warehouse: Warehouse, gate: FileGate):
        self.dagster_url = dagster_url
        self.warehouse = warehouse
        self.gate = gate  # the service's reads wait while the audit entry is written

    def _audit(self, principal: Principal, job: str, request_id: str, config: dict) -> int:
        try:
            with self.gate.writing(), self.warehouse.session() as s:
                return record_audit(s, f"api:{principal.name}", f"api.{job}",
                                    f"api_requests/{request_id}", None,
                                    {"job": job, "config": config,
                                     "token_id": principal.token_id,
                                     "client_id": principal.client_id})
        except duckdb.IOException as e:  # a run holds the DuckDB file
            raise WarehouseBusy(str(e)) from None

    def _launch_sync(self, principal: Principal, job: str, op: str, config: dict) -> Launched:
        request_id = uuid.uuid4().hex
        audit_id = self._audit(principal, job, request_id, config)
        try:
            run_id = _client(self.dagster_url).submit_job_execution(
                job, run_config={"ops": {op: {"config": config}}},
                tags={REQUEST_TAG: request_id, "bi/api_token_id": principal.token_id})
        except DagsterGraphQLClientError as e:  # refused, or (wrapped) the webserver not there
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise LaunchFailed(f"Dagster webserver at {self.dagster_url} did not launch {job}: "
                               f"{first}") from None
        except (requests.RequestException, OSError) as e:  # refused, timed out: not there
            raise LaunchFailed(f"Dagster webserver at {self.dagster_url} unreachable: "
                               f"{type(e).__name__}") from None
        return Launched(run_id, request_id, audit_id)

    async def launch(self, principal: Principal, job: str, op: str, config: dict) -> Launched:
        return await anyio.to_thread.run_sync(self._launch_sync, principal, job, op, config)
