"""What is pooled over all clients, computed in a first pass over the batches of clients.

Pooled quantities, each fitted once on sums of counts that add up over batches
(``shapley_prior.PooledCounts``), so they are the same whatever the batches:

- the Shapley prior: the noisy-OR curve (hazards q by maximum likelihood on the settled
  journeys and conversions per channel set), the pooled channel-set rates and both
  empirical-Bayes weights (k0 on the per-set counts, k on the per client x set cells);
- the same prior on the training journeys of the held-out split (``comparison.holdout_split``),
  which the held-out Shapley estimate uses;
- with a bootstrap, the prior refitted on each resample (q and the set counts of each resample,
  ``bootstrap.resample_counts``; the weights of the first item kept).

Each client's draws (the Poisson weights, the held-out split) come from its own stream
(``streams``), so the second pass draws them again, identically, batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .batches import ClientBatch, JourneySource, batch_journeys, channel_list
from .bootstrap import resample_counts
from .comparison import holdout_split, training_journeys
from .settings import AttributionSettings
from .shapley_prior import PooledCounts, ShapleyPrior, fit_prior, refit


@dataclass(frozen=True)
class PooledFit:
    channels: tuple[str, ...]  # every client's channels, sorted: the encoding of every batch
    prior: ShapleyPrior  # on all settled journeys
    train_prior: ShapleyPrior  # on the training journeys of the held-out split
    resampled: ShapleyPrior | None  # q (K, resamples): refitted on each resample; None without


def fit_pooled(source: JourneySource, client_groups: pl.DataFrame, batches: list[ClientBatch],
               settings: AttributionSettings) -> PooledFit:
    """The pooled fits (module docstring) from one pass over the ``batches`` of ``source``
    (``client_groups``: its client list, as ``plan_batches`` took it)."""
    if not batches:
        raise ValueError("no journeys to attribute: the source lists no client")
    channels = channel_list(source.channel_names())
    ids = client_groups["client_id"].cast(pl.String).sort()
    rank = dict(zip(ids.to_list(), range(len(ids))))  # the order of the per client x set cells
    point, train, resampled = [], [], None
    for batch in batches:
        j = batch_journeys(source, batch, channels)
        ranks = np.array([rank[c] for c in j.clients], dtype=np.int64)
        point.append(PooledCounts.of(j, j.fit_journeys, j.fit_conversions, ranks))
        t = training_journeys(j, *holdout_split(j, settings))
        train.append(PooledCounts.of(t, t.fit_journeys, t.fit_conversions, ranks))
        if settings.bootstrap_resamples:  # summed as it comes: sets x resamples per batch
            part = resample_counts(j, settings)
            resampled = part if resampled is None else PooledCounts.merge([resampled, part])
    strengths = settings.prior_strength, settings.pooled_prior_strength
    prior = fit_prior(PooledCounts.merge(point), *strengths)
    return PooledFit(tuple(channels), prior,
                     fit_prior(PooledCounts.merge(train), *strengths),
                     None if resampled is None else refit(prior, resampled))
