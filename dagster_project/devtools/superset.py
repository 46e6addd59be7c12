"""A throwaway Apache Superset for the BI test (``make test-bi``): set up, started and driven
over its REST API from this process; Superset itself runs in its own environment
(``.bi/superset-venv``, installed by ``make test-bi`` from ``bi/superset/requirements.txt``).

What the test needs and nothing more: the metadata database initialised, an admin, the server
on a free port, then databases (SQLAlchemy URIs), datasets, charts and dashboards created the
way a person would in the UI (the same API calls), and the session cookie a browser needs.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dagster_project.devtools.pgserver import free_port
from dagster_project.settings import PROJECT_ROOT

VENV = PROJECT_ROOT / ".bi" / "superset-venv"
CONFIG = PROJECT_ROOT / "bi" / "superset" / "superset_config.py"
ADMIN, PASSWORD = "admin", "admin"


def installed() -> bool:
    return (VENV / "bin" / "superset").exists()


@dataclass
class Superset:
    state: Path
    port: int = 0
    process: subprocess.Popen | None = None
    token: str = ""
    log: Path = field(init=False)
    secret_key: str = field(init=False)

    def __post_init__(self):
        self.log = self.state / "superset.log"
        self.secret_key = secrets.token_hex(24)  # one per server: it signs the session cookies

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "SUPERSET_CONFIG_PATH": str(CONFIG),
                "SUPERSET_HOME": str(self.state / "home"), "BI_SUPERSET_STATE": str(self.state),
                "BI_SUPERSET_SECRET_KEY": self.secret_key, "FLASK_APP": "superset"}

    def cli(self, *args: str, timeout: float = 600) -> None:
        with self.log.open("a") as out:
            result = subprocess.run([str(VENV / "bin" / "superset"), *args], env=self.env(),
                                    stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                                    check=False)
        if result.returncode != 0:
            raise RuntimeError(f"superset {args[0]} failed: {self.log.read_text()[-3000:]}")

    def start(self, ready_timeout: float = 180) -> None:
        """Initialise the metadata database and the admin, start the web server, log in."""
        self.cli("db", "upgrade")
        self.cli("fab", "create-admin", "--username", ADMIN, "--firstname", "BI",
                 "--lastname", "Test", "--email", "bi@example.com", "--password", PASSWORD)
        self.cli("init")
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(VENV / "bin" / "superset"), "run", "-h", "127.0.0.1", "-p", str(self.port),
             "--with-threads"], env=self.env(), stdout=self.log.open("a"),
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"superset exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            raise RuntimeError(f"superset did not answer in {ready_timeout} s")
        self.token = self.post("/api/v1/security/login", {
            "username": ADMIN, "password": PASSWORD, "provider": "db", "refresh": False,
        }, auth=False)["access_token"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def post(self, path: str, body: dict, auth: bool = True, method: str = "POST") -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        response = httpx.request(method, f"{self.url}{path}", json=body, headers=headers,
                                 timeout=120)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json()

    def session_cookie(self) -> dict[str, str]:
        """Log in through the login form, as a browser does; the cookies it sets."""
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=60) as client:
            client.post("/login/", data={"username": ADMIN, "password": PASSWORD})
            return dict(client.cookies)

    # --- what a person builds in the UI -------------------------------------------------------

    def add_database(self, name: str, sqlalchemy_uri: str) -> int:
        return self.post("/api/v1/database/", {"database_name": name,
                                               "sqlalchemy_uri": sqlalchemy_uri,
                                               "expose_in_sqllab": True})["id"]

    def add_dataset(self, database_id: int, schema: str, table: str, sql: str | None = None
                    ) -> int:
        """A dataset of ``schema.table``; with ``sql``, a virtual dataset named ``table`` (the
        metadata database keeps dataset names unique across connections)."""
        body = {"database": database_id, "schema": schema, "table_name": table}
        return self.post("/api/v1/dataset/", body | ({"sql": sql} if sql else {}))["id"]

    def add_dashboard(self, title: str) -> int:
        return self.post("/api/v1/dashboard/", {"dashboard_title": title,
                                                "published": True})["id"]

    def add_table_chart(self, dashboard_id: int, dataset_id: int, title: str,
                        columns: list[str], number_format: str, order_by: str) -> int:
        """A table chart (raw records) of ``columns``, numbers shown with the d3 format
        ``number_format``, every row on one page."""
        params = {
            "viz_type": "table", "datasource": f"{dataset_id}__table", "query_mode": "raw",
            "all_columns": columns, "order_by_cols": [json.dumps([order_by, True])],
            "row_limit": 10000, "server_pagination": False, "page_length": 0,
            "include_search": False, "adhoc_filters": [],
            "column_config": {c: {"d3NumberFormat": number_format} for c in columns},
        }
        return self.post("/api/v1/chart/", {
            "slice_name": title, "viz_type": "table", "datasource_id": dataset_id,
            "datasource_type": "table", "params": json.dumps(params),
            "dashboards": [dashboard_id]})["id"]

    def add_big_number(self, dashboard_id: int, dataset_id: int, title: str, column: str,
                       number_format: str) -> int:
        """A big-number chart of SUM(``column``)."""
        metric = {"expressionType": "SIMPLE", "column": {"column_name": column},
                  "aggregate": "SUM", "label": f"SUM({column})"}
        params = {"viz_type": "big_number_total", "datasource": f"{dataset_id}__table",
                  "metric": metric, "adhoc_filters": [], "y_axis_format": number_format}
        return self.post("/api/v1/chart/", {
            "slice_name": title, "viz_type": "big_number_total", "datasource_id": dataset_id,
            "datasource_type": "table", "params": json.dumps(params),
            "dashboards": [dashboard_id]})["id"]
