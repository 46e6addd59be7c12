"""Hand-made attribution inputs for the unit tests: journeys from counts, random journeys over
five channels, and the rule-based credits the warehouse would compute for them (the rules
written out by hand, not dbt's SQL)."""

from __future__ import annotations

import numpy as np
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


CHANNELS = "abcde"  # the channels of random_journeys


def random_journeys(seed: int, n: int = 1500, clients: int = 3) -> pl.DataFrame:
    """Journeys of 0-6 touches (repeats allowed) whose conversion depends on their channels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 7, n)
    touches = rng.integers(0, len(CHANNELS), lengths.sum())
    paths = np.split(touches, np.cumsum(lengths)[:-1])
    p = np.array([0.05, 0.1, 0.2, 0.02, 0.15])
    converted = [bool(rng.random() < 1 - np.prod(1 - p[np.unique(t)]) if len(t) else
                      rng.random() < 0.05) for t in paths]
    return pl.DataFrame({
        "client_id": [f"c{i}" for i in rng.integers(0, clients, n)],
        "channel_path": [" > ".join(CHANNELS[i] for i in t) if len(t) else None for t in paths],
        "converted": converted,
        "revenue": np.where(converted, rng.gamma(2.0, 30.0, n), 0.0),
        "is_settled": ~(np.array(converted) & (rng.random(n) < 0.2)),  # recent orders
    })
