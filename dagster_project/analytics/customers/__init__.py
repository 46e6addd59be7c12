"""End-customers and clients: RFM, clusters, lifetime value, churn risk and health.

One module per concept: ``rules`` (the segment rule tables), ``rfm`` (scores and segments, as
warehouse SQL), ``clustering`` (k-means on log-RFM and behaviour), ``fitting`` (the shared
per-group maximum-likelihood fitter), ``bgnbd`` and ``gamma_gamma`` (the two models), ``clv``
(per customer and per segment, pooled with shrinkage), ``churn`` (LightGBM with a logistic
baseline), ``health`` (client health segments and their transitions) and ``status``.
"""

from .churn import ChurnResult, ChurnSettings, churn_risk
from .clustering import ClusterResult, ClusterSettings, cluster_customers
from .clv import ClvResult, ClvSettings, lifetime_value
from .health import client_health, health_rules, segment_transitions
from .rfm import rfm_sql, segment_rules
from .rules import rules_table
from .status import STATUS_CODES, status_description, status_table

__all__ = [
    "STATUS_CODES", "ChurnResult", "ChurnSettings", "ClusterResult", "ClusterSettings",
    "ClvResult", "ClvSettings", "churn_risk", "client_health", "cluster_customers",
    "health_rules", "lifetime_value", "rfm_sql", "rules_table", "segment_rules",
    "segment_transitions", "status_description", "status_table",
]
