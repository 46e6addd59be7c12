"""Forecasts with calibrated intervals: revenue and MRR ensembles, backtests, capacity.

One module per concept: ``panel`` (daily series and the gap rules), ``rules`` (which series
get a forecast, from which members), ``baselines`` (seasonal naive, Holt-Winters),
``features`` and ``global_models`` (LightGBM, random forest, MLP across series), ``members``,
``metrics`` (MASE, sMAPE, coverage, interval score), ``conformal`` (intervals per horizon),
``ensemble`` (weights from the backtest), ``backtest`` (rolling origin), ``forecast`` (the
whole forecast of a panel), ``capacity`` (trend models, threshold crossings), ``settings``
and ``status``.
"""

from .capacity import CAPACITY_SCHEMA, CapacitySettings, capacity_forecast, thresholds
from .forecast import ForecastResult, forecast_panel
from .panel import Panel, build_panel
from .settings import MEMBERS, ForecastSettings
from .status import STATUS_CODES, status_description, status_table

__all__ = [
    "CAPACITY_SCHEMA", "MEMBERS", "STATUS_CODES", "CapacitySettings", "ForecastResult",
    "ForecastSettings", "Panel", "build_panel", "capacity_forecast", "forecast_panel",
    "status_description", "status_table", "thresholds",
]
