"""Hand-made attribution inputs for the unit tests: journeys from counts, and the rule-based
credits the warehouse would compute for them (the rules written out by hand, not dbt's SQL)."""

from __future__ import annotations

import polars as pl


def journeys(rows: list[tuple[str, str | None, int, int]], order_value: float = 10.0
             ) -> pl.DataFrame:
    """(client, path, conversions, nulls) -> one row per journey (``order_value`` per order)."""
    out = []
    for client, path, conv, null in rows:
        out += [(client, path, True, order_value)] * conv + [(client, path, False, 0.0)] * null
    return pl.DataFrame(out, orient="row", schema={"client_id": pl.String, "channel_path": pl.String,
                                                   "converted": pl.Boolean, "revenue": pl.Float64})


def rule_credits_for(df: pl.DataFrame) -> pl.DataFrame:
    """What marts.fct_attribution_touch_credits gives for the journeys ``df`` (equal touch timings,
    so time decay equals linear; channel names trimmed)."""
    rules = {
        "first_touch": lambda n: [1.0] + [0.0] * (n - 1),
        "last_touch": lambda n: [0.0] * (n - 1) + [1.0],
        "linear": lambda n: [1.0 / n] * n,
        "time_decay": lambda n: [1.0 / n] * n,  # equal timings: not under test here
        "position_based": lambda n: [1.0] if n == 1 else [0.5, 0.5] if n == 2
        else [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4],
    }
    conv = df.filter("converted").group_by("client_id", "channel_path").agg(
        pl.len().alias("n"), pl.col("revenue").sum())
    rows = []
    for client, path, n, rev in conv.iter_rows():
        if path is None:  # no touch: the whole conversion to '(none)'
            rows += [(client, None, m, "(none)", float(n), rev) for m in rules]
            continue
        chans = [c.strip() for c in path.split(">")]
        for model, rule in rules.items():
            for ch, w in zip(chans, rule(len(chans))):
                rows.append((client, path, model, ch, w * n, w * rev))
    return pl.DataFrame(rows, schema=["client_id", "channel_path", "attribution_model", "channel",
                                      "credit", "revenue_credit"], orient="row")
