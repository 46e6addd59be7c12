"""Headless Chromium driven through chromedriver's W3C WebDriver HTTP API (no client library:
a handful of calls through httpx), for the BI test: open a page with a session cookie, wait
until a script says it has rendered, read what it shows.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

import httpx

from dagster_project.devtools.pgserver import free_port

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--no-first-run", "--window-size=1600,4000"]


def available() -> bool:
    return shutil.which("chromedriver") is not None and shutil.which("chromium") is not None


class Browser:
    """One chromedriver process and one browser session; a context manager."""

    def __init__(self):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="bi_chromium_")
        self.driver = subprocess.Popen(["chromedriver", f"--port={self.port}"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait_for_driver()
        caps = {"browserName": "chrome", "goog:chromeOptions": {
            "binary": shutil.which("chromium"),
            "args": [*CHROMIUM_ARGS, f"--user-data-dir={self.profile}"]}}
        self.session = self._call("POST", "/session",
                                  {"capabilities": {"alwaysMatch": caps}})["sessionId"]

    def _wait_for_driver(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/status", timeout=2).json()["value"]["ready"]:
                    return
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(0.3)
        raise RuntimeError("chromedriver did not start")

    def _call(self, method: str, path: str, body: dict | None = None):
        response = httpx.request(method, f"{self.base}{path}", json=body, timeout=120)
        value = response.json().get("value")
        if response.status_code >= 400:
            raise RuntimeError(f"webdriver {method} {path}: {value}")
        return value

    def open(self, url: str) -> None:
        self._call("POST", f"/session/{self.session}/url", {"url": url})

    def set_cookies(self, origin: str, cookies: dict[str, str]) -> None:
        """Cookies for ``origin`` (the browser must be on it to set them)."""
        self.open(origin)
        for name, value in cookies.items():
            self._call("POST", f"/session/{self.session}/cookie",
                       {"cookie": {"name": name, "value": value, "path": "/"}})

    def run(self, script: str):
        """The value of ``script`` (a function body) in the page."""
        return self._call("POST", f"/session/{self.session}/execute/sync",
                          {"script": script, "args": []})

    def wait_for(self, script: str, timeout: float = 120):
        """Poll ``script`` until it returns a truthy value; that value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.run(script)
            if value:
                return value
            time.sleep(1)
        raise TimeoutError(f"the page did not get there in {timeout} s")

    def screenshot(self, path: Path) -> None:
        import base64

        path.write_bytes(base64.b64decode(
            self._call("GET", f"/session/{self.session}/screenshot")))

    def close(self) -> None:
        try:
            self._call("DELETE", f"/session/{self.session}")
        finally:
            self.driver.terminate()
            try:
                self.driver.wait(timeout=20)
            except subprocess.TimeoutExpired:  # seen on a clean CI machine: SIGTERM not honoured
                self.driver.kill()
                self.driver.wait(timeout=20)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
