"""Synthetic platform data with planted ground truth.

``simulate(scale, seed, out_dir)`` (or ``python -m dagster_project.simulator``) writes every raw
table of the landing contract, one Parquet file per table and day, plus truth files. See
``params`` for the planted values and the scales, ``world`` for the generative story.
"""

from dagster_project.simulator.params import SCALES
from dagster_project.simulator.runner import simulate

__all__ = ["SCALES", "scale_row_counts", "simulate"]

# Rows per table at seed 42 (wall time on 2 cores: tiny 2.1 s, small 12.5 s, medium 25 s, large 55 s),
# measured with `python -m dagster_project.simulator --scale S --seed 42`.
MEASURED_ROW_COUNTS: dict[str, dict[str, int]] = {'tiny': {'clients': 203,
          'subscription_events': 327,
          'plan_prices': 11,
          'competitor_prices': 70,
          'feature_usage_logs': 13024,
          'content': 3404,
          'content_engagement': 36056,
          'touchpoints': 33341,
          'conversions': 1358,
          'marketing_spend': 13426,
          'api_requests': 36000,
          'resource_usage': 14400,
          'content_generation_jobs': 1489,
          'experiments': 6,
          'experiment_assignments': 12140},
 'small': {'clients': 1425,
           'subscription_events': 5239,
           'plan_prices': 11,
           'competitor_prices': 260,
           'feature_usage_logs': 308073,
           'content': 84258,
           'content_engagement': 1055379,
           'touchpoints': 1208662,
           'conversions': 54458,
           'marketing_spend': 308714,
           'api_requests': 1555200,
           'resource_usage': 777600,
           'content_generation_jobs': 36885,
           'experiments': 6,
           'experiment_assignments': 50914},
 'medium': {'clients': 2087,
            'subscription_events': 12329,
            'plan_prices': 11,
            'competitor_prices': 520,
            'feature_usage_logs': 413177,
            'content': 123308,
            'content_engagement': 1583637,
            'touchpoints': 2160054,
            'conversions': 104603,
            'marketing_spend': 788031,
            'api_requests': 4204800,
            'resource_usage': 2102400,
            'content_generation_jobs': 53476,
            'experiments': 6,
            'experiment_assignments': 108970},
 'large': {'clients': 5672,
           'subscription_events': 41485,
           'plan_prices': 11,
           'competitor_prices': 770,
           'feature_usage_logs': 930268,
           'content': 380290,
           'content_engagement': 4944478,
           'touchpoints': 8179547,
           'conversions': 404582,
           'marketing_spend': 2758372,
           'api_requests': 15552000,
           'resource_usage': 6220800,
           'content_generation_jobs': 165416,
           'experiments': 6,
           'experiment_assignments': 163061}}


def scale_row_counts() -> dict[str, dict]:
    """Per scale: days simulated, metric resolution and the measured rows per table at seed 42."""
    return {name: {"days": s.days, "metric_step_minutes": s.metric_step,
                   "rows_seed_42": MEASURED_ROW_COUNTS.get(name)} for name, s in SCALES.items()}
