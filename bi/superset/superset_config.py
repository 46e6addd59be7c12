"""Superset's configuration for the BI test (``make test-bi``): read through
SUPERSET_CONFIG_PATH by the Superset of ``.bi/superset-venv``. Everything it keeps (its
metadata database) lives in BI_SUPERSET_STATE, a temporary folder of the test."""

import os

_STATE = os.environ["BI_SUPERSET_STATE"]
SECRET_KEY = os.environ["BI_SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_STATE}/superset.db"
# a local, single-user test server: no CSRF tokens or CSP headers to juggle in the API calls
WTF_CSRF_ENABLED = False
TALISMAN_ENABLED = False
CONTENT_SECURITY_POLICY_WARNING = False
# no result cache: every chart the browser renders is a query on the warehouse
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
SUPERSET_WEBSERVER_TIMEOUT = 120
