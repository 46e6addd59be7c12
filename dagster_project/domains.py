"""The business domains: the one list that says which groups exist, who owns them and how often
they refresh.

Everything that needs a domain's group, owner or cadence reads it here: the dbt translator (a
model's folder below its layer names its domain), the Python assets of ``defs/<domain>/``, the
freshness policies and the hourly job's selection (``definitions.py``, ``defs/automation.py``)
and the tests. Adding a domain is one row here, plus its ``analytics/<domain>/`` and
``defs/<domain>/`` packages and dbt folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Cadence = Literal["hourly", "nightly"]


@dataclass(frozen=True)
class Domain:
    name: str  # the Dagster group; the dbt folder below marts/, intermediate/ and reporting/
    owner: str
    cadence: Cadence  # hourly: refreshed by hourly_refresh and fresh within 3 hours; nightly: 30
    description: str

    @property
    def owners(self) -> list[str]:
        return [self.owner]


DOMAINS: dict[str, Domain] = {d.name: d for d in (
    Domain("ingest", "team:data-platform", "hourly",
           "Landing files validated into raw.* (bad rows quarantined)."),
    Domain("staging", "team:data-platform", "nightly",
           "Staging views (rename and cast) and shared intermediate models."),
    Domain("usage", "team:product-analytics", "nightly",
           "Platform usage, content performance and feature adoption; platform revenue and trends, "
           "feature effects, automation savings and posting recommendations."),
    Domain("revenue", "team:growth-analytics", "hourly",
           "Conversions, revenue, customer journeys and marketing spend."),
    Domain("subscriptions", "team:growth-analytics", "nightly",
           "Clients, subscription events, MRR, price history and tier demand."),
    Domain("performance", "team:platform-reliability", "hourly",
           "API and resource performance, content generation; SLO burn rates, latency and status."),
    Domain("experiments", "team:experimentation", "nightly",
           "A/B experiment read-outs, sequential monitoring, power and decisions."),
    Domain("attribution", "team:growth-analytics", "nightly",
           "Multi-touch attribution, ROI and post revenue impact."),
    Domain("customers", "team:customer-analytics", "nightly",
           "End-customer RFM, clusters and lifetime value; client churn risk and health."),
    Domain("monitoring", "team:platform-reliability", "hourly", "Anomaly detection, alert rules, alert lifecycle and delivery."),
    Domain("pricing", "team:pricing", "nightly",
           "Price elasticity per tier, demand model, competitive position, recommendations "
           "with risk, and the admin approval workflow for price changes."),
    Domain("forecasting", "team:planning-analytics", "nightly",
           "Revenue and MRR forecasts with calibrated intervals, backtests, capacity planning."),
    Domain("insights", "team:product-analytics", "nightly",
           "Per-client business metrics and ranked, templated insights from every analytics group."),
)}

# models outside a domain folder (staging/, intermediate/common/) belong to this domain
PLUMBING = "staging"


def domain(name: str) -> Domain:
    """The registered domain ``name`` (KeyError names the known ones)."""
    try:
        return DOMAINS[name]
    except KeyError:
        raise KeyError(f"unknown domain {name!r}; known: {', '.join(DOMAINS)}") from None


def groups(cadence: Cadence) -> list[str]:
    """The domains refreshed at ``cadence``."""
    return [d.name for d in DOMAINS.values() if d.cadence == cadence]
