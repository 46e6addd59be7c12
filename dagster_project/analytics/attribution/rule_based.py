"""The rule-based credits (computed in the warehouse) regrouped per journey group and channel."""

from __future__ import annotations

import numpy as np
import polars as pl

from .journeys import NONE_CHANNEL, Journeys
from .settings import RULE_MODELS


def rule_fractions(j: Journeys, rule_credits: pl.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per model, the share of a group's conversions and of its revenue per channel (G x K+1).

    ``rule_credits``: client_id, channel_path (null without touches), attribution_model, channel,
    credit, revenue_credit, summed over the group's conversions. Channel names are trimmed, as
    in ``group_journeys``; the path text is matched as it is.
    """
    channels = (*j.channels, NONE_CHANNEL)
    keys = pl.DataFrame({
        "client_id": pl.Series(j.clients, dtype=pl.String).gather(j.client),
        "channel_path": j.path_text,
    }).with_row_index("g")
    rc = rule_credits.with_columns(pl.col("channel_path").fill_null(""), pl.col("client_id").cast(pl.String))
    joined = rc.join(keys, on=["client_id", "channel_path"], how="inner").with_columns(
        pl.col("channel").str.strip_chars().replace_strict({c: i for i, c in enumerate(channels)},
                                         return_dtype=pl.Int64).alias("ch"))
    G, K1 = len(j.length), len(channels)
    out = {}
    for model in RULE_MODELS:
        part = joined.filter(pl.col("attribution_model") == model)
        idx = part["g"].to_numpy().astype(np.int64) * K1 + part["ch"].to_numpy()
        conv = np.bincount(idx, part["credit"].to_numpy(), G * K1).reshape(G, K1)
        rev = np.bincount(idx, part["revenue_credit"].to_numpy(), G * K1).reshape(G, K1)
        out[model] = (
            np.divide(conv, j.conversions[:, None], out=np.zeros_like(conv), where=j.conversions[:, None] > 0),
            np.divide(rev, j.revenue[:, None], out=np.zeros_like(rev), where=j.revenue[:, None] > 0),
        )
    return out
