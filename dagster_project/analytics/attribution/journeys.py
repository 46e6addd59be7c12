"""Journeys grouped and encoded for the data-driven attribution models (pure numpy/polars).

Identical journeys of a client are grouped first (one row per client x channel path with its
journey, conversion and revenue totals); every model then works on the groups, so the cost grows
with the number of distinct paths, not of journeys. Paths are encoded as an integer matrix
(group x position, -1 padding) over the sorted channel list, and as a channel-set bitmask.

Settled journeys. A journey's outcome is settled once the lookback after its last touch has
passed: a non-converting journey is only in the data then (before, it may still convert), but an
order is there at once. Estimating conversion probabilities from every order and the settled
non-converting journeys would favour converters (on `small` it inflated the pooled conversion
probabilities by a quarter), so the models are fitted on the settled journeys (``fit_journeys``,
``fit_conversions``) and credit every order. A client without a settled order with a touch is
fitted on all its journeys (a Markov chain without a conversion could not credit its orders).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

NONE_CHANNEL = "(none)"  # credit for conversions without a touch in their window
SEPARATOR = " > "


@dataclass(frozen=True)
class Journeys:
    """Journeys grouped by client and channel path.

    ``clients[client[g]]`` and ``paths[g, :length[g]]`` (channel indexes into ``channels``) describe
    group g; ``journeys``, ``conversions`` and ``revenue`` are its totals (non-converting journeys
    = journeys - conversions). A group of length 0 holds conversions without a touch.
    ``unsettled`` of its conversions are not settled yet: they are credited, not fitted on.
    """

    channels: tuple[str, ...]
    clients: tuple[str, ...]
    client: np.ndarray  # (G,) int
    paths: np.ndarray  # (G, L) int, -1 padded
    length: np.ndarray  # (G,) int
    journeys: np.ndarray  # (G,) float
    conversions: np.ndarray  # (G,) float
    revenue: np.ndarray  # (G,) float
    path_text: np.ndarray | None = None  # (G,) the channel_path string ('' without touches)
    unsettled: np.ndarray | None = None  # (G,) float; None = every journey settled

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def n_clients(self) -> int:
        return len(self.clients)

    @cached_property
    def masks(self) -> np.ndarray:
        """Channel-set bitmask of each group (bit j = channel j touched at least once; cached, and
        shared by the reweighted copies of ``with_weights``)."""
        bits = np.where(self.paths >= 0, np.left_shift(1, np.maximum(self.paths, 0)), 0)
        return np.bitwise_or.reduce(bits, axis=1) if bits.shape[1] else np.zeros(len(bits), int)

    @cached_property
    def client_groups(self) -> list[np.ndarray]:
        """The groups of each client (indexes in path order), one array per client of
        ``clients``: what a client's random streams are drawn for."""
        order = np.argsort(self.client, kind="stable")
        return np.split(order, np.searchsorted(self.client[order], np.arange(1, self.n_clients)))

    @property
    def fit_journeys(self) -> np.ndarray:
        """The settled journeys of each group: what the models are fitted on."""
        return self.journeys if self.unsettled is None else self.journeys - self.unsettled

    @property
    def fit_conversions(self) -> np.ndarray:
        return self.conversions if self.unsettled is None else self.conversions - self.unsettled

    @property
    def mean_order_value(self) -> np.ndarray:
        """Revenue per conversion of each group (0 without conversions): what a resampled or
        held-out converting journey of the group brings."""
        return np.divide(self.revenue, self.conversions, out=np.zeros_like(self.revenue),
                         where=self.conversions > 0)

    def with_weights(self, journeys, conversions, revenue, unsettled=None) -> Journeys:
        """The same groups with other totals (a bootstrap resample or a train/test split)."""
        out = Journeys(self.channels, self.clients, self.client, self.paths, self.length,
                       np.asarray(journeys, float), np.asarray(conversions, float),
                       np.asarray(revenue, float), self.path_text,
                       None if unsettled is None else np.asarray(unsettled, float))
        out.__dict__["masks"] = self.masks  # same paths, same channel sets, same clients
        out.__dict__["client_groups"] = self.client_groups
        return out


def group_journeys(df: pl.DataFrame, channels: list[str] | None = None) -> Journeys:
    """Group journeys (``client_id``, ``channel_path`` 'a > b' or null, ``converted``, ``revenue``,
    optional ``journeys`` count and ``is_settled`` flag per row) by client and path, and encode
    the paths. Non-converting journeys must be settled (leave out those that may still convert).

    A path is channel names separated by '>' (the warehouse writes ' > '); each name is trimmed
    of surrounding whitespace, and an empty name (a non-null path '', 'a > > b', 'a >') is a
    ValueError naming the client and the path. A null path is a journey without a touch.

    A row with a ``journeys`` weight w stands for w identical journeys: w journeys, w conversions
    when ``converted``, and ``revenue`` is the row's TOTAL revenue (of its w conversions), not
    the revenue per journey; a group's revenue is the sum of its rows' revenue."""
    _check_channel_names(df)
    weight = pl.col("journeys") if "journeys" in df.columns else pl.lit(1)
    settled = pl.col("is_settled") if "is_settled" in df.columns else pl.lit(True)
    if "is_settled" in df.columns:
        open_ = df.filter(~pl.col("converted") & ~pl.col("is_settled").fill_null(True))
        if open_.height:
            raise ValueError(f"{open_.height} non-converting journeys are not settled (they may "
                             "still convert): leave them out of the attribution input")
    grouped = (
        df.lazy()
        .with_columns(pl.col("channel_path").fill_null(""), weight.cast(pl.Float64).alias("_w"),
                      (~settled.fill_null(True)).cast(pl.Float64).alias("_open"))
        .group_by("client_id", "channel_path")
        .agg(
            pl.col("_w").sum().alias("journeys"),
            (pl.col("_w") * pl.col("converted").cast(pl.Float64)).sum().alias("conversions"),
            (pl.col("_w") * pl.col("converted").cast(pl.Float64) * pl.col("_open")).sum()
            .alias("unsettled"),
            pl.col("revenue").cast(pl.Float64).fill_null(0.0).sum().alias("revenue"),
        )
        .with_columns(  # clients without a settled order with a touch: fit on everything
            pl.when(((pl.col("conversions") - pl.col("unsettled")) * (pl.col("channel_path") != ""))
                    .sum().over("client_id") > 0)
            .then(pl.col("unsettled")).otherwise(0.0).alias("unsettled"))
        .sort("client_id", "channel_path")
        .collect()
    )
    steps = grouped.select(
        pl.int_range(pl.len()).alias("g"),
        pl.when(pl.col("channel_path") == "").then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col("channel_path").str.split(SEPARATOR.strip())).alias("step"),
    ).explode("step").drop_nulls("step").with_columns(pl.col("step").str.strip_chars())
    if channels is None:
        channels = sorted(steps["step"].unique().to_list())
    index = {c: i for i, c in enumerate(channels)}
    steps = steps.with_columns(
        pl.col("step").replace_strict(index, default=-1, return_dtype=pl.Int64).alias("ch"),
        pl.int_range(pl.len()).over("g").alias("pos"),
    )
    if (steps["ch"] < 0).any():
        unknown = steps.filter(pl.col("ch") < 0)["step"].unique().to_list()
        raise ValueError(f"channel_path holds channels outside {channels}: {unknown}")
    G = grouped.height
    length = np.bincount(steps["g"].to_numpy(), minlength=G)
    L = int(length.max()) if G else 0
    paths = np.full((G, L), -1, dtype=np.int64)
    paths[steps["g"].to_numpy(), steps["pos"].to_numpy()] = steps["ch"].to_numpy()
    client_codes = grouped["client_id"].cast(pl.String)
    clients = tuple(client_codes.unique(maintain_order=True).to_list())
    client = client_codes.replace_strict({c: i for i, c in enumerate(clients)},
                                         return_dtype=pl.Int64).to_numpy()
    return Journeys(
        channels=tuple(channels), clients=clients, client=client, paths=paths, length=length,
        journeys=grouped["journeys"].to_numpy().astype(float),
        conversions=grouped["conversions"].to_numpy().astype(float),
        revenue=grouped["revenue"].to_numpy().astype(float),
        path_text=grouped["channel_path"].to_numpy(),
        unsettled=grouped["unsettled"].to_numpy().astype(float),
    )


def _check_channel_names(df: pl.DataFrame) -> None:
    """ValueError naming the first clients and paths that hold an empty channel name."""
    bad = (
        df.lazy().select("client_id", "channel_path").drop_nulls("channel_path").unique()
        .filter(pl.col("channel_path").str.split(SEPARATOR.strip())
                .list.eval(pl.element().str.strip_chars() == "").list.any())
        .sort("client_id", "channel_path").collect()
    )
    if bad.height:
        shown = "; ".join(f"client {c!r} path {p!r}" for c, p in bad.head(5).iter_rows())
        raise ValueError(f"channel_path holds an empty channel name in {bad.height} client x path "
                         f"pair(s): {shown}")


def per_client_totals(j: Journeys) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(touched conversions, touched revenue, untouched conversions, untouched revenue) per client."""
    touched = j.length > 0
    n = j.n_clients
    tc = np.bincount(j.client, j.conversions * touched, minlength=n)
    tr = np.bincount(j.client, j.revenue * touched, minlength=n)
    uc = np.bincount(j.client, j.conversions * ~touched, minlength=n)
    ur = np.bincount(j.client, j.revenue * ~touched, minlength=n)
    return tc, tr, uc, ur
