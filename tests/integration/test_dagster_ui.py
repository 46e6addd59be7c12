"""`make dev`'s webserver serves the whole asset graph, grouped by domain, every asset described;
in headless Chromium an analyst finds every group in the catalogue, an analytics asset's plot
and the review job's Launchpad config.

Screenshots go to ``$BI_SCREENSHOT_DIR`` (``make screenshots`` sets it to ``docs/img``, the
README's pictures), otherwise into the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from dagster_project.domains import DOMAINS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LOCATION = "dagster_project.definitions"  # workspace.yaml's module
PLOTTED = dg.AssetKey(["analytics", "experiment_monitor"])  # an analytics asset with a plot
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WAIT_S = 60
ASSET_NODES = """
{ assetNodes { assetKey { path } groupName description } }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def materialized(built_tiny_env):
    """Every asset (the plotted one included) materialized on tiny data: a copy of the
    session's tiny nightly build (tests/conftest.py)."""
    env, _ = built_tiny_env
    return env


@pytest.fixture(scope="module")
def webserver(materialized):
    port = free_port()
    webserver_bin = Path(sys.executable).parent / "dagster-webserver"
    (materialized.dagster_home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nnux:\n  enabled: false\n")  # no welcome modal
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


def asset_nodes(webserver) -> list[dict]:
    deadline = time.monotonic() + 60
    while True:  # the code location loads in the background after the server answers
        body = httpx.post(f"{webserver}/graphql", json={"query": ASSET_NODES}, timeout=30).json()
        nodes = (body.get("data") or {}).get("assetNodes") or []
        if nodes or time.monotonic() > deadline:
            return nodes
        time.sleep(2)


def test_webserver_serves_every_asset_grouped_and_described(webserver):
    nodes = asset_nodes(webserver)
    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert "raw/conversions" in keys and "marts/fct_revenue_daily" in keys
    assert {n["groupName"] for n in nodes} == set(DOMAINS)
    from dagster_project.definitions import defs

    assert keys == {s.key.to_user_string() for s in defs().resolve_all_asset_specs()}
    undescribed = [
        "/".join(n["assetKey"]["path"]) for n in nodes if not (n["description"] or "").strip()
    ]
    assert not undescribed


@pytest.fixture(scope="module")
def browser(webserver, tmp_path_factory):
    """Headless Chromium driven by chromedriver (Debian's chromium and chromium-driver)."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("chromium / chromium-driver not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--window-size=1600,1000",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    asset_nodes(webserver)  # the code location has loaded
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("BI_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for_text(driver, *texts: str) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_S).until(
        lambda d: all(t in d.find_element(By.TAG_NAME, "body").text for t in texts))
    return driver.find_element(By.TAG_NAME, "body").text


def test_asset_catalogue_lists_every_group(webserver, browser, screenshots):
    from collections import Counter

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from dagster_project.definitions import defs

    expected = Counter(s.group_name for s in defs().resolve_all_asset_specs())
    browser.set_window_size(1600, 9000)  # tall enough that the virtualized table renders every row
    try:
        browser.get(f"{webserver}/assets")
        WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(
            By.TAG_NAME, "body").text.count(LOCATION) == expected.total())  # one per asset row
        lines = browser.find_element(By.TAG_NAME, "body").text.splitlines()
    finally:
        browser.set_window_size(1600, 1000)
    # each row names its group on a line of its own
    assert Counter(line for line in lines if line in DOMAINS) == expected
    assert set(expected) == set(DOMAINS)
    browser.get(f"{webserver}/asset-groups")  # the asset graph, grouped by domain
    wait_for_text(browser, "Global asset lineage", *DOMAINS)
    time.sleep(2)  # the graph's layout settles after the names appear
    browser.save_screenshot(str(screenshots / "asset_graph.png"))


def test_analytics_asset_page_shows_its_plot(webserver, browser, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{webserver}/assets/{PLOTTED.to_user_string()}")
    wait_for_text(browser, "Metadata", "Row count")
    row = browser.find_element(By.XPATH, "//tr[td[normalize-space()='plot']]")
    row.find_element(By.XPATH, ".//*[contains(text(), 'Show Markdown')]").click()
    WebDriverWait(browser, WAIT_S).until(lambda d: d.execute_script(
        "const i = document.querySelector(\"img[src^='data:image/png']\");"
        "return i !== null && i.complete && i.naturalWidth > 0"))  # decoded, not a broken image
    time.sleep(1)  # the dialog fades in
    browser.save_screenshot(str(screenshots / "analytics_asset.png"))


def test_review_job_launchpad_shows_its_default_config(webserver, browser):
    browser.get(f"{webserver}/locations/{LOCATION}/jobs/review_pricing_proposal/playground")
    text = wait_for_text(browser, "review_pricing_proposal_op:")
    for line in ("decision: approve", "notice_days: 30", "proposal_id: ''", "reviewer: ''"):
        assert line in text
