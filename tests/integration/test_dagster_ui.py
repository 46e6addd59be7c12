"""`make dev`'s webserver serves the whole asset graph, grouped by domain, every asset described."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ASSET_NODES = """
{ assetNodes { assetKey { path } groupName description } }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webserver(pipeline_env):
    port = free_port()
    webserver_bin = Path(sys.executable).parent / "dagster-webserver"
    proc = subprocess.Popen(
        [str(webserver_bin), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(1)
        else:
            pytest.fail("dagster-webserver did not answer within 90 s")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_webserver_serves_every_asset_grouped_and_described(webserver):
    deadline = time.monotonic() + 60
    while True:  # the code location loads in the background after the server answers
        body = httpx.post(f"{webserver}/graphql", json={"query": ASSET_NODES}, timeout=30).json()
        nodes = (body.get("data") or {}).get("assetNodes") or []
        if nodes or time.monotonic() > deadline:
            break
        time.sleep(2)
    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert "raw/conversions" in keys and "marts/fct_revenue_daily" in keys
    assert {n["groupName"] for n in nodes} >= {"ingest", "usage", "revenue", "subscriptions", "performance", "experiments"}
    from dagster_project.definitions import defs

    assert keys == {s.key.to_user_string() for s in defs().resolve_all_asset_specs()}
    undescribed = [
        "/".join(n["assetKey"]["path"]) for n in nodes if not (n["description"] or "").strip()
    ]
    assert not undescribed
