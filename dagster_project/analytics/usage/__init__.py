"""Usage analytics: what each platform earns, what to post and when, what automation saves.

One module per concept: ``panels`` (weekly client x platform panels, attributed revenue over
time), ``trends`` (weekly OLS trends with intervals), ``platforms`` (per client x platform
summary and trends), ``adoption`` (Kaplan-Meier adoption curves, adoption by tier),
``correlation`` (within-client cross-platform correlations), ``fixed_effects`` (the within
estimator with clustered errors), ``feature_effects`` (features vs revenue, content flags vs
reach), ``automation`` (hours saved and their value), ``posting_slots`` (peak hours, best
days), ``posting_frequency`` (the engagement-maximizing frequency), ``recommendations`` (the
posting recommendations) and ``status``.
"""

from .adoption import adoption_by_tier, adoption_curves
from .automation import automation_savings
from .correlation import platform_correlations
from .feature_effects import adoption_revenue_effects, content_flag_effects
from .fixed_effects import FixedEffectsFit, fit_within
from .panels import (
    PLATFORMS,
    client_week_revenue,
    full_weeks,
    posting_weeks,
    scaled_weekly_revenue,
    weekly_panel,
)
from .platforms import platform_summary, platform_trends
from .posting_frequency import FrequencySettings, frequency_curves
from .posting_slots import SlotSettings, slot_recommendations
from .recommendations import PostingResult, PostingSettings, posting_recommendations
from .status import STATUS_CODES, status_description, status_table
from .trends import weekly_trends

__all__ = [
    "PLATFORMS",
    "STATUS_CODES",
    "FixedEffectsFit",
    "FrequencySettings",
    "PostingResult",
    "PostingSettings",
    "SlotSettings",
    "adoption_by_tier",
    "adoption_curves",
    "adoption_revenue_effects",
    "automation_savings",
    "client_week_revenue",
    "content_flag_effects",
    "fit_within",
    "frequency_curves",
    "full_weeks",
    "platform_correlations",
    "platform_summary",
    "platform_trends",
    "posting_recommendations",
    "posting_weeks",
    "scaled_weekly_revenue",
    "slot_recommendations",
    "status_description",
    "status_table",
    "weekly_panel",
    "weekly_trends",
]
