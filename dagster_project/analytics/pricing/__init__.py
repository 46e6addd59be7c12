"""Pricing: elasticity per tier, the demand model, competitive position and recommendations.

One module per concept: ``poisson`` (Poisson regression with robust errors), ``features`` (the
demand controls: Fourier terms, trend, marketing), ``elasticity`` (observational, experiment and
combined estimates), ``dml`` (the double machine learning check), ``demand`` (LightGBM weekly
demand and its seasonal-naive baseline), ``churn_effect`` (the churn model's price sensitivity),
``simulate`` (outcomes at candidate prices), ``guardrails`` (the rules file), ``position``
(price index and position), ``recommend`` (the suggestions), ``approval`` (the proposal
workflow's rules) and ``status``.
"""

from .churn_effect import ChurnPriceEffect, churn_price_effect
from .demand import DemandResult, DemandSettings, demand_model
from .dml import DmlSettings, dml_elasticities
from .elasticity import ElasticityResult, ElasticitySettings, estimate_elasticities
from .guardrails import Guardrails, load_guardrails
from .position import competitive_position
from .recommend import recommend, recommendation_id
from .simulate import simulate_prices, tier_base
from .status import STATUS_CODES, status_description, status_table

__all__ = [
    "STATUS_CODES", "ChurnPriceEffect", "DemandResult", "DemandSettings", "DmlSettings",
    "ElasticityResult", "ElasticitySettings", "Guardrails", "churn_price_effect",
    "competitive_position", "demand_model", "dml_elasticities", "estimate_elasticities",
    "load_guardrails", "recommend", "recommendation_id", "simulate_prices", "status_description",
    "status_table", "tier_base",
]
