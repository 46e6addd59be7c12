"""Performance monitoring: SLO availability and burn rates, latency, content generation.

One module per concept: ``slo`` (availability, multi-window error-budget burn rates and the
alert rules), ``latency`` (percentiles per endpoint against a baseline), ``generation``
(content-generation success rate and duration), ``health`` (the overall status) and
``status``.
"""

from .generation import GenerationRules, generation_performance
from .health import overall_status
from .latency import LatencyRules, endpoint_latency
from .slo import BurnRules, burn_rates
from .status import HEALTH_LEVELS, STATUS_CODES, status_table

__all__ = ["HEALTH_LEVELS", "STATUS_CODES", "BurnRules", "GenerationRules", "LatencyRules", "burn_rates",
           "endpoint_latency", "generation_performance", "overall_status", "status_table"]
