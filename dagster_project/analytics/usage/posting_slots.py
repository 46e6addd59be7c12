"""When to post: peak publish hours (0-23) and best weekdays per client, platform and type.

Estimand: for a slot s (an hour of the day, or a weekday) the ratio of expected engagements per
post published in s to the client's average slot, in the segment (platform x content type). On
the log scale, with y_p = log(1 + engagements_p) of posts observed for their whole engagement
window and r_p = y_p - mean of y over the client's posts in the segment (client fixed effect):

* pooled slot effect m_s = mean of r_p over every client's posts in s (the segment's profile),
  standard error sd(r) / sqrt(n_s);
* the client's effect, shrunk towards the pool (a normal prior with ``prior_posts``
  pseudo-posts at m_s; Efron & Morris 1975 style partial pooling):
  e_cs = (n_cs rbar_cs + k m_s) / (n_cs + k), se_cs = sigma / sqrt(n_cs + k), sigma the
  segment's residual sd; lift = exp(e_cs) - 1 with the interval exp(e_cs +- z se_cs) - 1.

A slot is recommended when its interval lies above 0 (better than the client's average slot)
and the client has published at least ``min_slot_posts`` (3) complete posts in it: the pool
sharpens the client's own evidence but never replaces it. At most ``max_slots`` (3), best first. The minimum-data rule: a client x segment with fewer than
``min_posts`` complete posts gets ``too_few_posts`` and no recommendation. Hours are those of
``published_at`` in the client's time zone when the data has one; the landing contract has
none, so hours are UTC (the ``timezone`` column says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from scipy import stats

from .status import with_status

SEGMENT = ["platform", "content_type"]


@dataclass(frozen=True)
class SlotSettings:
    slot: str  # column of the posts frame: publish_hour or publish_weekday
    max_slots: int = 3
    min_posts: int = 20
    prior_posts: float = 10.0
    level: float = 0.95
    min_slot_posts: int = 3

    def __post_init__(self):
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if self.min_posts < 2 or self.max_slots < 1 or self.prior_posts < 0 or self.min_slot_posts < 1:
            raise ValueError("min_posts must be >= 2, max_slots >= 1, prior_posts >= 0 and "
                             "min_slot_posts >= 1")


@dataclass(frozen=True)
class SlotResult:
    pooled: pl.DataFrame  # segment x slot: posts, effect, interval, engagement rate
    recommended: pl.DataFrame  # client x segment x rank: the recommended slots
    summary: pl.DataFrame  # client x segment: posts, status, the slots as text


def _residuals(posts: pl.DataFrame) -> pl.DataFrame:
    keys = ["client_id", *SEGMENT]
    return posts.with_columns(pl.col("engagements").cast(pl.Float64).log1p().alias("_y")).with_columns(
        (pl.col("_y") - pl.col("_y").mean().over(keys)).alias("_r"), pl.len().over(keys).alias("client_posts"))


def slot_recommendations(posts: pl.DataFrame, settings: SlotSettings) -> SlotResult:
    """``posts``: client_id, platform, content_type, the slot column, engagements, impressions
    (complete posts only)."""
    s = settings.slot
    z = float(stats.norm.ppf(0.5 + settings.level / 2))
    df = _residuals(posts)
    # sigma from clients with at least two posts in the segment (a lone post's residual is 0)
    sigma = df.filter(pl.col("client_posts") > 1).group_by(SEGMENT).agg(
        (pl.col("_r").pow(2).sum() / (pl.len() - pl.col("client_id").n_unique())).sqrt().alias("sigma"))
    pooled = df.group_by(*SEGMENT, s).agg(
        pl.len().alias("posts"), pl.col("_r").mean().alias("effect"), pl.col("_r").std().alias("_sd"),
        pl.col("engagements").sum().alias("_e"), pl.col("impressions").sum().alias("_i"),
    ).with_columns((pl.col("_sd") / pl.col("posts").sqrt()).alias("effect_se")).with_columns(
        (pl.col("effect") - z * pl.col("effect_se")).alias("_lo"),
        (pl.col("effect") + z * pl.col("effect_se")).alias("_hi"),
        pl.when(pl.col("_i") > 0).then(pl.col("_e") / pl.col("_i")).alias("engagement_rate"),
    ).with_columns(pl.col("effect").exp().sub(1).alias("lift"), pl.col("_lo").exp().sub(1).alias("lift_low"),
                   pl.col("_hi").exp().sub(1).alias("lift_high"))
    pooled = with_status(pooled, [(pl.col("posts") < 2, "too_few_posts")],
                         ["effect", "effect_se", "lift", "lift_low", "lift_high"]).select(
        *SEGMENT, s, "posts", "effect", "effect_se", "lift", "lift_low", "lift_high",
        "engagement_rate", "status", "status_message").sort(*SEGMENT, s)
    k = settings.prior_posts
    own = df.group_by("client_id", *SEGMENT, s).agg(
        pl.len().alias("own_posts"), pl.col("_r").mean().alias("_rbar"),
        pl.col("engagements").sum().alias("_e"), pl.col("impressions").sum().alias("_i"),
        pl.col("client_posts").first())
    est = own.join(pooled.select(*SEGMENT, s, pl.col("effect").alias("_m")), on=[*SEGMENT, s]).join(
        sigma, on=SEGMENT, how="left").with_columns(
        ((pl.col("own_posts") * pl.col("_rbar") + k * pl.col("_m")) / (pl.col("own_posts") + k)).alias("_e_cs"),
        (pl.col("sigma") / (pl.col("own_posts") + k).sqrt()).alias("_se"),
    ).with_columns(
        pl.col("_e_cs").exp().sub(1).alias("lift"),
        (pl.col("_e_cs") - z * pl.col("_se")).exp().sub(1).alias("lift_low"),
        (pl.col("_e_cs") + z * pl.col("_se")).exp().sub(1).alias("lift_high"),
        pl.when(pl.col("_i") > 0).then(pl.col("_e") / pl.col("_i")).alias("own_engagement_rate"))
    eligible = est.filter((pl.col("client_posts") >= settings.min_posts) & (pl.col("lift_low") > 0)
                          & (pl.col("own_posts") >= settings.min_slot_posts))
    recommended = eligible.sort("client_id", *SEGMENT, s).with_columns(  # ties: the earlier slot
        pl.col("lift").rank("ordinal", descending=True).over("client_id", *SEGMENT).alias("rank")
    ).filter(pl.col("rank") <= settings.max_slots).select(
        "client_id", *SEGMENT, pl.col("rank").cast(pl.Int64), s, "own_posts", "lift", "lift_low",
        "lift_high", "own_engagement_rate").sort("client_id", *SEGMENT, "rank")
    text = recommended.group_by("client_id", *SEGMENT).agg(
        pl.col(s).sort_by("rank").cast(pl.String).str.join(",").alias("slots"),
        pl.col("lift").sort_by("rank").first().alias("best_lift"))
    summary = df.group_by("client_id", *SEGMENT).agg(pl.len().alias("posts")).join(
        text, on=["client_id", *SEGMENT], how="left")
    summary = with_status(summary, [(pl.col("posts") < settings.min_posts, "too_few_posts"),
                                    (pl.col("slots").is_null(), "no_peak")], ["slots", "best_lift"])
    return SlotResult(pooled, recommended, summary.sort("client_id", *SEGMENT))
