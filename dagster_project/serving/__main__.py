"""``python -m dagster_project.serving`` (``make serve``): uvicorn on BI_SERVING_HOST:PORT."""

import uvicorn

from dagster_project.serving.settings import serving_settings

if __name__ == "__main__":
    s = serving_settings()
    uvicorn.run("dagster_project.serving.app:app_from_environment", factory=True, host=s.host,
                port=s.port, ws_max_size=64 * 1024, log_level="info")
