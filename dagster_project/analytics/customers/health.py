"""Client health segments and their month-over-month transitions.

At every snapshot (month end, and the as-of date) each scored client gets the segment of the
first rule of ``health_segments.yml`` (see :mod:`.rules`) that holds, over

- ``churn_risk``: the calibrated chance of cancelling within 30 days (:mod:`.churn`);
- ``mrr_percentile``: its MRR's mid-rank percentile among the clients scored at the snapshot,
  (rank - 1 + (ties - 1) / 2) / (n - 1) in [0, 1] (0.5 when it is the only one);
- ``usage_trend``: ln((feature uses in the last 30 days + 1) / (the 30 days before + 1));
- ``tier_headroom``: tiers above its current one.

Transitions: for each pair of consecutive snapshots, the clients moving from each segment to
each segment; a client scored at the later snapshot only comes from ``new``, one scored at the
earlier only goes to ``churned`` (it is no longer a trial or paying client). A client without
a churn risk (no model; see its status) has no segment and takes no part.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .churn import usage_trend
from .rules import HERE, Rule, load_rules, polars_segment

DEFAULT_RULES = HERE / "health_segments.yml"
RULE_COLUMNS = ("churn_risk", "mrr_percentile", "usage_trend", "tier_headroom")
NEW, CHURNED = "new", "churned"


def health_rules(path: str | Path | None = None) -> list[Rule]:
    """The health segment rules (the packaged table unless ``path`` is given)."""
    return load_rules(path or DEFAULT_RULES, RULE_COLUMNS)


def client_health(snapshots: pl.DataFrame, risk: pl.DataFrame,
                  rules: list[Rule] | None = None) -> pl.DataFrame:
    """One row per client x snapshot: the rule inputs and the health segment."""
    rules = rules or health_rules()
    df = snapshots.select("client_id", "snapshot_date", "tier", "mrr", "tier_headroom",
                          usage_trend=usage_trend()).join(
        risk.select("client_id", "snapshot_date", "churn_risk", "status", "status_message"),
        on=["client_id", "snapshot_date"], how="left")
    scored = pl.col("churn_risk").is_not_null()
    n = scored.sum().over("snapshot_date")
    rank = pl.when(scored).then(pl.col("mrr")).rank("min").over("snapshot_date")
    ties = pl.len().over("snapshot_date", "mrr", scored)
    pct = pl.when(n > 1).then((rank - 1 + (ties - 1) / 2) / (n - 1)).otherwise(0.5)
    return df.with_columns(mrr_percentile=pl.when(scored).then(pct)).with_columns(
        health_segment=pl.when(scored).then(polars_segment(rules)),
        status=pl.col("status").fill_null("no_model"),
        status_message=pl.col("status_message").fill_null("no churn risk for this snapshot"),
    ).sort("snapshot_date", "client_id")


def segment_transitions(health: pl.DataFrame) -> pl.DataFrame:
    """Clients per (from_snapshot, to_snapshot, from_segment, to_segment), with the share of
    the from-segment's clients."""
    seg = health.filter(pl.col("health_segment").is_not_null()).select(
        "client_id", "snapshot_date", "health_segment")
    dates = seg["snapshot_date"].unique().sort()
    pairs = pl.DataFrame({"from_snapshot": dates[:-1], "to_snapshot": dates[1:]})
    before = pairs.join(seg.rename({"snapshot_date": "from_snapshot",
                                    "health_segment": "from_segment"}), on="from_snapshot")
    after = pairs.join(seg.rename({"snapshot_date": "to_snapshot",
                                   "health_segment": "to_segment"}), on="to_snapshot")
    moves = before.join(after, on=["from_snapshot", "to_snapshot", "client_id"], how="full",
                        coalesce=True).with_columns(
        pl.col("from_segment").fill_null(NEW), pl.col("to_segment").fill_null(CHURNED))
    counts = moves.group_by("from_snapshot", "to_snapshot", "from_segment", "to_segment").agg(
        clients=pl.len())
    return counts.with_columns(
        share_of_from=pl.col("clients") / pl.col("clients").sum().over(
            "from_snapshot", "to_snapshot", "from_segment")).sort(
        "from_snapshot", "from_segment", "to_segment")
