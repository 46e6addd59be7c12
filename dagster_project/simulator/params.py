"""Planted parameters of the generative story and the per-scale volume settings.

Everything the analytics must recover lives here as plain constants; the truth files are
written from these values (plus what is measured on the simulated history).

Scales (days simulated from ``DEFAULT_START`` = 2025-01-01; metrics resolution):

| scale  | days | launch clients | endpoints x hosts | metric step | rows at seed 42 | wall (2 cores) |
|--------|------|----------------|-------------------|-------------|-----------------|----------------|
| tiny   | 50   | 60             | 5 x 2             | 10 minutes  | 165,255         | ~2 s           |
| small  | 180  | 300            | 6 x 3             | 1 minute    | 5,447,084       | ~12 s          |
| medium | 365  | 400            | 8 x 4             | 1 minute    | 11,657,409      | ~25 s          |
| large  | 540  | 800            | 20 x 8            | 1 minute    | 39,746,758      | ~55 s          |

Tiny samples the per-minute metric feeds every 10 minutes (rows are still minute starts with
per-minute values) to stay small. Memory stays bounded (under 0.6 GB at large): rows are
generated and written day by day; only per-client and per-customer state is carried.
Exact counts are returned by :func:`dagster_project.simulator.scale_row_counts`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dagster_project.contract import vocabulary

DEFAULT_START = dt.date(2025, 1, 1)
PLATFORMS = vocabulary("platform")
TIERS = vocabulary("tier")
CHANNELS = vocabulary("channel")
NICHES = vocabulary("niche")
COUNTRIES = vocabulary("country")
ACQ_CHANNELS = vocabulary("acquisition_channel")
FEATURES = vocabulary("feature")
CONTENT_TYPES = ("video", "reel", "story", "carousel", "single_image", "text")


@dataclass(frozen=True)
class Scale:
    name: str
    days: int
    launch_clients: int  # clients of the launch cohort (day 0)
    demand_mult: float  # multiplies the weekly sign-up demand per tier
    customers_per_client: float  # launch prospects per client
    prospect_rate: float  # new prospects per active client per day
    post_rate_mult: float
    feature_rate_mult: float
    endpoints: int
    hosts: int
    metric_step: int  # minutes between metric rows
    experiment_units_per_day: int
    experiment_days: int
    cpu_crossing_day: int


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 50, 60, 0.7, 48, 1.6, 0.5, 0.5, 5, 2, 10, 90, 28, 38),
    "small": Scale("small", 180, 300, 2.0, 48, 1.2, 0.45, 0.4, 6, 3, 1, 250, 42, 130),
    "medium": Scale("medium", 365, 400, 1.5, 32, 0.36, 0.2, 0.2, 8, 4, 1, 400, 56, 260),
    "large": Scale("large", 540, 800, 3.0, 32, 0.24, 0.15, 0.12, 20, 8, 1, 600, 56, 400),
}

# ---------------------------------------------------------------- clients and pricing
NICHE_MIX = (0.18, 0.12, 0.1, 0.1, 0.08, 0.08, 0.1, 0.06, 0.12, 0.06)
COUNTRY_MIX = (0.35, 0.1, 0.08, 0.06, 0.05, 0.04, 0.04, 0.07, 0.05, 0.06, 0.06, 0.04)
ACQ_MIX = (0.3, 0.25, 0.15, 0.15, 0.05, 0.1)
LAUNCH_TIER_MIX = (0.5, 0.3, 0.15, 0.05)
REFERENCE_PRICE = {"starter": 29.0, "professional": 79.0, "business": 199.0, "enterprise": 599.0}
ELASTICITY = {"starter": -1.6, "professional": -1.2, "business": -0.8, "enterprise": -0.5}
WEEKLY_DEMAND = {"starter": 12.0, "professional": 7.0, "business": 3.0, "enterprise": 0.8}
# (fraction of the scale's nominal days, multiplier on the previous list price)
PRICE_CHANGES = {
    "starter": ((0.3, 1.10), (0.7, 0.93)),
    "professional": ((0.45, 1.12), (0.85, 1.05)),
    "business": ((0.25, 0.90), (0.6, 1.15)),
    "enterprise": ((0.5, 1.08),),
}
SUB_SEASON_AMPLITUDE = 0.25  # yearly sign-up season, peak mid January
SUB_SEASON_PEAK_DOY = 15
SUB_WEEKDAY = (1.1, 1.1, 1.05, 1.05, 1.0, 0.8, 0.75)  # Mon..Sun, normalised at use
PRICE_EXPERIMENT = {
    "experiment_id": "exp-006",
    "tiers": ("starter", "professional"),
    "arms": (("control", 0.5, 1.0), ("higher_price", 0.5, 1.2)),
    "start_frac": 0.2,
}
TRIAL_SHARE = 0.35
TRIAL_DAYS = 14
ANNUAL_SHARE = (0.15, 0.2, 0.3, 0.45)
SEATS_MEAN = (2, 5, 12, 30)

# ---------------------------------------------------------------- churn
BASE_HAZARD = {"starter": 0.07, "professional": 0.05, "business": 0.035, "enterprise": 0.02}
CHURN_DRIVERS = {
    "log_price_ratio": 0.9,  # log(monthly price shown at sign-up / reference price)
    "engagement_trend": -0.35,  # posting-rate trend z-score (posts drift as exp(0.15 z age_months))
    "feature_adoption": -1.5,  # share of the 8 features the client adopts, minus 0.5
    "annual_billing": -0.8,  # 1 for annual billing
}
POSTING_TREND = 0.15
REACTIVATION_SHARE = 0.2
UPGRADE_SHARE = 0.06
DOWNGRADE_SHARE = 0.04

# ---------------------------------------------------------------- content and usage
PLATFORM_ADOPTION = (0.8, 0.5, 0.3, 0.35, 0.4, 0.6)
CONTENT_TYPE_MIX = {  # video, reel, story, carousel, single_image, text
    "instagram": (0.05, 0.35, 0.25, 0.2, 0.15, 0.0),
    "tiktok": (0.9, 0.1, 0.0, 0.0, 0.0, 0.0),
    "youtube": (0.85, 0.15, 0.0, 0.0, 0.0, 0.0),
    "linkedin": (0.1, 0.0, 0.0, 0.2, 0.3, 0.4),
    "twitter": (0.1, 0.0, 0.0, 0.0, 0.3, 0.6),
    "facebook": (0.15, 0.15, 0.1, 0.15, 0.3, 0.15),
}
PLATFORM_EFFECTS = {"instagram": 1.0, "tiktok": 1.8, "youtube": 1.4, "linkedin": 0.5,
                    "twitter": 0.6, "facebook": 0.8}
CONTENT_TYPE_EFFECTS = {"video": 1.5, "reel": 1.7, "story": 0.6, "carousel": 1.2,
                        "single_image": 1.0, "text": 0.5}
PEAK_HOURS = {"instagram": [11, 12, 19, 20], "tiktok": [19, 20, 21, 22], "youtube": [15, 16, 17],
              "linkedin": [8, 9, 12], "twitter": [12, 13, 17], "facebook": [13, 14, 15]}
PEAK_HOUR_LIFT = 0.5  # impressions x1.5 when published in a platform peak hour
VIRAL_OPTIMIZATION_LIFT = 0.35  # impressions x1.35 when viral_optimized
BASE_IMPRESSIONS = 800.0  # median lifetime impressions of a post at effect 1
IMPRESSION_SIGMA = 0.9  # log-normal post-level sigma
DECAY_DAYS = {"instagram": 2.0, "tiktok": 3.0, "youtube": 5.0, "linkedin": 2.5,
              "twitter": 1.0, "facebook": 2.0}
ENGAGEMENT_DAYS = 14
POSTS_PER_DAY_SHAPE = 1.5  # gamma shape of client posting rates
POSTS_PER_DAY_MEAN = (0.6, 1.2, 2.5, 5.0)  # per tier
FEATURE_ADOPTION = (0.9, 0.6, 0.4, 0.5, 0.5, 0.3, 0.25, 0.3)
FEATURE_USES_PER_DAY = (1.0, 0.8, 0.4, 0.6, 0.7, 0.5, 0.2, 0.4)
FEATURE_TIME_SAVED = (6.0, 4.0, 10.0, 2.0, 5.0, 3.0, 15.0, 4.0)
JOB_FAILURE_RATE = 0.06
JOB_TIMEOUT_RATE = 0.03

# ---------------------------------------------------------------- customers and journeys
BGNBD_OPPORTUNITY = {"r": 0.75, "alpha": 8.0}  # purchase-opportunity rate per day ~ Gamma(r, rate alpha)
BGNBD_DROPOUT = {"a": 1.0, "b": 3.0}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 15.0}
EXPOSURE = {"instagram": 0.35, "tiktok": 0.25, "youtube": 0.15, "linkedin": 0.10,
            "twitter": 0.12, "facebook": 0.30, "email": 0.30, "paid_search": 0.20,
            "organic_search": 0.25, "referral": 0.08, "direct": 0.20}
CONVERSION_P = {"instagram": 0.06, "tiktok": 0.04, "youtube": 0.08, "linkedin": 0.07,
                "twitter": 0.02, "facebook": 0.03, "email": 0.10, "paid_search": 0.12,
                "organic_search": 0.09, "referral": 0.20, "direct": 0.15}
EXTRA_TOUCHES_MEAN = 0.4  # touches per exposed channel = 1 + Poisson(0.4)
LOOKBACK_DAYS = 30
# After each decision (bought or not) a customer starts no new purchase opportunity for this many
# days, so one customer's journeys never overlap: the touches of an opportunity fall in the
# lookback before its decision, and two decisions are at least two lookbacks apart, which is what
# lets the warehouse cut a customer's touches back into the simulated journeys (see the module
# docstring of simulator.world).
REFRACTORY_DAYS = 2 * LOOKBACK_DAYS
PAID_CHANNELS = ("instagram", "tiktok", "youtube", "linkedin", "twitter", "facebook", "email",
                 "paid_search")
REVENUE_WEEKLY = (1.0, 0.97, 0.98, 1.0, 1.08, 1.02, 0.95)  # Mon..Sun, normalised at use
REVENUE_YEARLY_AMPLITUDE = 0.15
REVENUE_YEARLY_PEAK_DOY = 330
PROSPECT_GROWTH = 0.002  # per day, exponential growth of new prospects per client

# ---------------------------------------------------------------- system metrics
SERVICES_ENDPOINTS = (
    ("publisher", "/v1/posts/publish", 120.0, 80.0),
    ("scheduler", "/v1/schedule", 90.0, 40.0),
    ("analytics", "/v1/analytics/summary", 60.0, 150.0),
    ("content_ai", "/v1/ai/generate", 25.0, 900.0),
    ("auth", "/v1/auth/token", 200.0, 20.0),
    ("publisher", "/v1/posts", 150.0, 35.0),
    ("analytics", "/v1/analytics/export", 8.0, 1200.0),
    ("scheduler", "/v1/schedule/bulk", 10.0, 300.0),
    ("content_ai", "/v1/ai/caption", 40.0, 400.0),
    ("auth", "/v1/auth/refresh", 120.0, 15.0),
    ("publisher", "/v1/media/upload", 30.0, 500.0),
    ("analytics", "/v1/analytics/posts", 70.0, 90.0),
    ("scheduler", "/v1/calendar", 50.0, 60.0),
    ("content_ai", "/v1/ai/hashtags", 35.0, 250.0),
    ("auth", "/v1/auth/sso", 15.0, 120.0),
    ("publisher", "/v1/posts/retry", 12.0, 110.0),
    ("analytics", "/v1/analytics/audience", 20.0, 200.0),
    ("scheduler", "/v1/queue", 45.0, 25.0),
    ("content_ai", "/v1/ai/image", 8.0, 2500.0),
    ("auth", "/v1/users/me", 180.0, 12.0),
)
CAPACITY_THRESHOLDS = {"cpu_pct": 80.0, "memory_pct": 85.0, "disk_pct": 90.0, "queue_depth": 200.0}
ANOMALY_CYCLE_DAYS = 56
# (pattern, metric, endpoint index or host, start day offset, start minute, duration minutes, size)
ANOMALY_TEMPLATES = (
    ("spike", "requests", 0, 9, 600, 30, 5.0),
    ("drop", "requests", 1, 16, 180, 120, 0.05),
    ("level_shift", "latency_p95_ms", 2, 23, 0, 3 * 1440, 1.8),
    ("trend", "cpu_pct", "host-01", 30, 0, 3 * 1440, 35.0),
    ("recurring", "errors", 3, 42, 120, 7 * 1440, 0.3),  # 20 minutes at 02:00 each day
)
RECURRING_PERIOD_MIN = 1440
RECURRING_DURATION_MIN = 20
