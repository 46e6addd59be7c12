"""Batches of clients: where the journeys come from, and how the clients are cut into batches.

The models are fitted a batch of clients at a time so that memory depends on the batch, not on
the number of clients. A ``JourneySource`` gives the journeys already grouped (one row per client
x channel path x converted x settled, with its journey count and revenue) and the rule-based
credits per client x path x model x channel, for a range of clients ``first``..``last`` in the
source's own client order; the warehouse is one source (the asset's SQL), frames in memory
another (``FrameJourneys``). ``plan_batches`` cuts the ordered clients into contiguous ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import polars as pl

from .journeys import SEPARATOR, Journeys, group_journeys


@dataclass(frozen=True)
class ClientBatch:
    """The clients ``first``..``last`` (inclusive, in the source's order)."""

    first: str
    last: str
    clients: int
    groups: int  # client x channel path groups


class JourneySource(Protocol):
    def client_groups(self) -> pl.DataFrame:
        """client_id, groups (distinct channel paths, a null path counted as one) of every
        client with journeys, in the order the source's client ranges follow."""

    def channel_names(self) -> list[str]:
        """The distinct channel names of the paths, as written between the separators."""

    def journeys(self, batch: ClientBatch) -> pl.DataFrame:
        """The journeys of the batch's clients for ``group_journeys``: client_id, channel_path,
        converted, revenue, is_settled and (optionally) a ``journeys`` count per row."""

    def rule_credits(self, batch: ClientBatch) -> pl.DataFrame:
        """The batch's rule-based credits for ``rule_based.rule_fractions``."""


def plan_batches(client_groups: pl.DataFrame, max_groups: int, max_clients: int
                 ) -> list[ClientBatch]:
    """Contiguous ranges of the clients of ``client_groups`` (client_id, groups; in the source's
    order): a new batch starts at the first client whose groups start past a multiple of
    ``max_groups`` (counted from the first client), and after ``max_clients`` clients. So a batch
    holds at most ``max_clients`` clients and fewer than ``max_groups`` groups plus those of its
    last client (a client is never split)."""
    if max_groups < 1 or max_clients < 1:
        raise ValueError(f"max_groups and max_clients must be >= 1, got {max_groups} and "
                         f"{max_clients}")
    bins = client_groups.with_columns(
        ((pl.col("groups").cum_sum() - pl.col("groups")) // max_groups).alias("_by_groups"),
    ).with_columns((pl.int_range(pl.len()).over("_by_groups") // max_clients).alias("_by_clients"))
    plan = bins.group_by("_by_groups", "_by_clients", maintain_order=True).agg(
        pl.col("client_id").first().alias("first"), pl.col("client_id").last().alias("last"),
        pl.len().alias("clients"), pl.col("groups").sum())
    return [ClientBatch(f, la, int(c), int(g))
            for f, la, c, g in plan.select("first", "last", "clients", "groups").iter_rows()]


def channel_list(names: list[str]) -> list[str]:
    """The model's channels: the names trimmed as ``group_journeys`` trims them, sorted."""
    return sorted({n.strip() for n in names} - {""})


def batch_journeys(source: JourneySource, batch: ClientBatch, channels: list[str]) -> Journeys:
    """The batch's journeys grouped and encoded over all clients' ``channels``; a ValueError
    when the source returns other clients or groups than the plan counted (a range filter whose
    order is not the order the clients were listed in)."""
    j = group_journeys(source.journeys(batch), channels)
    if (j.n_clients, len(j.length)) != (batch.clients, batch.groups):
        raise ValueError(f"the journeys of clients {batch.first!r}..{batch.last!r} hold "
                         f"{j.n_clients} clients and {len(j.length)} paths, the plan "
                         f"{batch.clients} and {batch.groups}: the source's range filter must "
                         "follow the order of its client list")
    return j


@dataclass(frozen=True)
class FrameJourneys:
    """A ``JourneySource`` over frames in memory: ``paths`` as ``group_journeys`` takes them
    (one row per journey, or grouped with a ``journeys`` count) and the rule-based credits;
    clients in polars' string order."""

    paths: pl.DataFrame
    credits: pl.DataFrame

    def client_groups(self) -> pl.DataFrame:
        return self.paths.group_by("client_id").agg(
            pl.col("channel_path").fill_null("").n_unique().alias("groups")).sort("client_id")

    def channel_names(self) -> list[str]:
        return (self.paths["channel_path"].drop_nulls().str.split(SEPARATOR.strip()).explode()
                .unique().to_list())

    def journeys(self, batch: ClientBatch) -> pl.DataFrame:
        return self.paths.filter(pl.col("client_id").is_between(pl.lit(batch.first), pl.lit(batch.last)))

    def rule_credits(self, batch: ClientBatch) -> pl.DataFrame:
        return self.credits.filter(pl.col("client_id").is_between(pl.lit(batch.first), pl.lit(batch.last)))
