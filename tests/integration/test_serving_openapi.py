"""Property-based test of the serving API from its published OpenAPI document (schemathesis):
valid and invalid bodies and paths for every operation, sent with a client token and with an
admin token to a real uvicorn over the tiny reporting warehouse; no answer may be a 5xx.

The write operations are left out: each example would launch a real Dagster run (they are
tested one by one in test_serving_writes.py, where a webserver runs)."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from dagster_project.serving import tokens
from dagster_project.warehouse import Warehouse

pytestmark = pytest.mark.integration
WRITES = ("/api/v1/bi/approve-pricing", "/api/v1/bi/experiments", "/api/v1/bi/alerts/rules")


@pytest.fixture(scope="module")
def served(tmp_path_factory, dbt_helpers, serving_helpers):
    db = serving_helpers.build_serving_warehouse(tmp_path_factory.mktemp("serving_openapi"),
                                                 dbt_helpers)
    wh = Warehouse(duckdb_path=str(db))
    toks = {"client": tokens.issue(wh, "st-client", "client", "c1", 1, "test")[0],
            "admin": tokens.issue(wh, "st-admin", "admin", None, 1, "test")[0]}
    server = serving_helpers.Server(db, rate_per_second=100000, burst=100000)
    try:
        yield server, toks
    finally:
        server.stop()


def test_no_generated_request_gets_a_server_error(served):
    """Each operation's examples (hypothesis through schemathesis' strategies; its pytest
    plugin does not run on pytest 9), sent as a client and as an admin."""
    server, toks = served
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json").exclude(
        path=list(WRITES), method="POST")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7  # five area reads, the experiment results, health
    for operation in operations:
        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=40, deadline=None, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def no_server_error(case):
            for role in ("client", "admin"):
                case.call_and_validate(base_url=server.url,
                                       headers={"Authorization": f"Bearer {toks[role]}"},
                                       checks=[not_a_server_error])

        no_server_error()
