"""Multi-touch attribution: all models side by side, conserved, with bootstrap intervals.

Inputs are journeys (``fct_attribution_paths``, grouped per client x channel path x converted x
settled with their count and revenue) and the rule-based credits computed in the warehouse
(``fct_attribution_touch_credits``, summed per client x channel path x model x channel), read
from a ``batches.JourneySource`` one batch of clients at a time. Models:

- rule based (first_touch, last_touch, linear, time_decay, position_based): the warehouse's
  credits; here they are only regrouped so that the bootstrap can resample them;
- markov (``markov``): removal effects of an order-1..3 absorbing chain (revenue by the
  conversion shares, or by the value removal effects: ``markov_revenue_credit``);
- shapley (``shapley``): path-level Shapley values of a conversion-probability game.

Conservation: every model gives each client's touched conversions (and revenue) to its channels
and the conversions without a touch to the channel '(none)', so per client and model the credits
sum to the client's conversions and revenue (checked by ``conservation_errors``).

Uncertainty: a Poisson bootstrap over journeys (Hanley & MacGibbon 2006; Chamandy et al. 2012):
each resample draws, for every group of identical journeys, Poisson(n) converting and
Poisson(m) non-converting journeys (n, m the group's counts) -- the large-sample equivalent of
resampling journeys with replacement, vectorized over groups. The revenue of a group scales with
its converting count (its journeys keep the group's mean order value; the spread of order values
within a group is not resampled). Every model is refitted on every resample, the Shapley
model's prior included (its empirical-Bayes weights are held: see ``bootstrap``); the
interval is the 2.5%-97.5% percentile range of the credit.

Batches (``attribute_source``): the clients are cut into batches (``batches.plan_batches``,
``client_batch_groups`` / ``client_batch_clients``). A first pass over the batches sums what is
pooled over all clients and fits it (``pooled.fit_pooled``: the Shapley prior, its refits on
every resample, the held-out split's prior); the second fits everything per client one batch at
a time (rule-based regrouping, Markov chains, client Shapley values, the bootstrap's per-client
credits, held-out log-loss, the model comparison). Every per-client draw comes from the client's
own random stream (``streams``), so the results are the same for any batch size (to float
rounding). ``attribute_batches`` yields each batch's rows as it is fitted (the asset writes them
to the warehouse one batch at a time), so memory depends on the batch, not on the number of
clients, but for the per client x channel-set cells of the prior's counts kept by the first
pass; ``attribute_source`` holds every batch's rows and returns them together.

Statuses (``status``, ``status_message``; ``analytics.attribution.status``): ``no_conversions``
(a client without conversions: its shares are null, not 0), ``no_intervals`` (no resamples:
the intervals are null, not NaN), ``non_finite``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from .batches import ClientBatch, FrameJourneys, JourneySource, batch_journeys, plan_batches
from .bootstrap import bootstrap
from .comparison import compare_models
from .journeys import NONE_CHANNEL, Journeys, per_client_totals
from .markov import MarkovStructure, build_structure, markov_attribution
from .pooled import PooledFit, fit_pooled
from .rule_based import rule_fractions
from .settings import MODELS, RULE_MODELS, AttributionSettings
from .shapley import shapley_attribution, shapley_options
from .shapley_prior import ShapleyPrior
from .status import with_status

INTERVALS = ["conversions_lower", "conversions_upper", "revenue_lower", "revenue_upper"]
NUMBERS = ["attributed_conversions", "attributed_revenue", "conversion_share", *INTERVALS]
# analytics.channel_attribution: a row per client x channel x model
ATTRIBUTION_SCHEMA = {
    "client_id": pl.String, "channel": pl.String, "attribution_model": pl.String,
    "model_family": pl.String, **dict.fromkeys(
        ["attributed_conversions", "conversions_lower", "conversions_upper", "attributed_revenue",
         "revenue_lower", "revenue_upper", "conversion_share"], pl.Float64),
    "status": pl.String, "status_message": pl.String}


@dataclass(frozen=True)
class AttributionResult:
    channel_attribution: pl.DataFrame  # client x channel x model, with intervals
    model_comparison: pl.DataFrame  # client x channel: shares per model, disagreement, recommendation
    shapley_prior: ShapleyPrior  # noisy-OR hazards, pooled channel-set rates and their weights
    channels: tuple[str, ...]  # the channels of shapley_prior.q
    journeys: int  # journeys attributed
    batches: int = 1  # batches of clients they were fitted in


@dataclass(frozen=True)
class BatchFit:
    """Every model fitted on one batch of clients."""

    journeys: Journeys
    point: dict[str, tuple[np.ndarray, np.ndarray]]  # model -> (conversions, revenue) credits
    draws: dict[str, np.ndarray]  # model -> (resamples, 2, n_clients, K + 1); empty without
    structure: MarkovStructure  # the batch's chains


def model_credits(j: Journeys, fractions, settings: AttributionSettings, prior: ShapleyPrior,
                  structure=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Conversions and revenue credited per model, client and channel (n_clients x K+1), the
    Shapley model with the pooled ``prior``."""
    n = j.n_clients
    out = {}
    by_client = sp.csr_matrix((np.ones(len(j.client)), (j.client, np.arange(len(j.client)))),
                              shape=(n, len(j.client)))
    for model, (fc, fr) in fractions.items():
        out[model] = (by_client @ (fc * j.conversions[:, None]), by_client @ (fr * j.revenue[:, None]))
    tc, tr, uc, ur = per_client_totals(j)
    value = settings.markov_revenue_credit == "value_removal_effect"
    mk = markov_attribution(j, structure, settings.markov_order, value=value)
    out["markov"] = (np.column_stack([mk.shares * tc[:, None], uc]),
                     np.column_stack([(mk.value_shares if value else mk.shares) * tr[:, None], ur]))
    sc, sr = shapley_attribution(j, prior, **shapley_options(settings))
    out["shapley"] = (np.column_stack([sc, uc]), np.column_stack([sr, ur]))
    return out


def fit_batch(source: JourneySource, batch: ClientBatch, pooled: PooledFit,
              settings: AttributionSettings) -> BatchFit:
    """Point credits and bootstrap draws of every model for the batch's clients."""
    j = batch_journeys(source, batch, list(pooled.channels))
    fractions = rule_fractions(j, source.rule_credits(batch))
    structure = build_structure(j, settings.markov_order)
    point = model_credits(j, fractions, settings, pooled.prior, structure)
    draws = (bootstrap(j, fractions, settings, pooled.resampled, structure)
             if settings.bootstrap_resamples else {})
    return BatchFit(j, point, draws, structure)


def batch_result(fit: BatchFit, pooled: PooledFit, settings: AttributionSettings
                 ) -> AttributionResult:
    """The attribution and model comparison rows of one batch's clients."""
    j, point, draws = fit.journeys, fit.point, fit.draws
    channels = (*j.channels, NONE_CHANNEL)
    n, K1 = j.n_clients, len(channels)
    present = np.zeros((n, K1), dtype=bool)
    for pos in range(j.paths.shape[1]):
        ok = j.paths[:, pos] >= 0
        present[j.client[ok], j.paths[ok, pos]] = True
    present[:, -1] = per_client_totals(j)[2] > 0
    frames = []
    ci, ch = np.nonzero(present)
    for model in MODELS:
        conv, rev = point[model]
        with np.errstate(invalid="ignore"):  # 0 / 0 for a client without conversions: nulled
            share = conv / conv.sum(axis=1, keepdims=True)
        cols = {
            "client_id": pl.Series(j.clients, dtype=pl.String).gather(ci),
            "channel": pl.Series(channels, dtype=pl.String).gather(ch),
            "attribution_model": model,
            "model_family": "rule_based" if model in RULE_MODELS else "data_driven",
            "attributed_conversions": conv[ci, ch], "attributed_revenue": rev[ci, ch],
            "conversion_share": share[ci, ch],
        }
        if model in draws:
            lo, hi = np.percentile(draws[model], [2.5, 97.5], axis=0)
            cols |= {"conversions_lower": lo[0][ci, ch], "conversions_upper": hi[0][ci, ch],
                     "revenue_lower": lo[1][ci, ch], "revenue_upper": hi[1][ci, ch]}
        else:
            cols |= {k: np.full(len(ci), np.nan) for k in INTERVALS}  # nulled: no_intervals
        frames.append(pl.DataFrame(cols))
    rules = [("no_conversions", pl.col("attributed_conversions").sum()
              .over("client_id", "attribution_model") == 0, ["conversion_share"]),
             ("no_intervals", pl.lit(not draws), INTERVALS)]
    attribution = with_status(pl.concat(frames), rules, NUMBERS).select(list(ATTRIBUTION_SCHEMA)).sort(
        "client_id", "attribution_model", "channel")
    comparison = compare_models(j, attribution, settings, pooled.train_prior, fit.structure)
    return AttributionResult(attribution, comparison, pooled.prior, pooled.channels,
                             int(j.journeys.sum()))


def attribute_batch(paths: pl.DataFrame, rule_credits: pl.DataFrame, batch: ClientBatch,
                    pooled: PooledFit, settings: AttributionSettings) -> AttributionResult:
    """One batch's attribution and model comparison rows from that batch's journeys and rule
    credits alone (``FrameJourneys`` of the frames) and the pooled fit: what a worker that
    holds only the batch runs (a Spark executor: ``defs.attribution.spark``)."""
    fit = fit_batch(FrameJourneys(paths, rule_credits), batch, pooled, settings)
    return batch_result(fit, pooled, settings)

@dataclass(frozen=True)
class BatchedAttribution:
    """What ``attribute_batches`` gives: the pooled fit, and each batch's rows as it is fitted."""

    shapley_prior: ShapleyPrior
    channels: tuple[str, ...]
    batches: int
    parts: Iterator[AttributionResult]  # one per batch, in client order, computed when drawn


def fit_batches(source: JourneySource, settings: AttributionSettings
                ) -> tuple[PooledFit, int, Iterator[BatchFit]]:
    """The pooled fits (the first pass over the batches of clients), the number of batches
    and, lazily, each batch's fit (the second pass), in client order."""
    clients = source.client_groups()
    batches = plan_batches(clients, settings.client_batch_groups, settings.client_batch_clients)
    pooled = fit_pooled(source, clients, batches, settings)
    return pooled, len(batches), (fit_batch(source, b, pooled, settings) for b in batches)


def attribute_batches(source: JourneySource, settings: AttributionSettings | None = None
                      ) -> BatchedAttribution:
    """The pooled fits now and, lazily, each batch's attribution and model comparison rows, in
    client order: a caller that writes each part away before drawing the next holds one batch
    at a time."""
    settings = settings or AttributionSettings()
    pooled, batches, fits = fit_batches(source, settings)
    return BatchedAttribution(pooled.prior, pooled.channels, batches,
                              (batch_result(fit, pooled, settings) for fit in fits))


def attribute_source(source: JourneySource, settings: AttributionSettings | None = None
                     ) -> AttributionResult:
    """Every model's credit per client and channel, with intervals and the model comparison,
    for the journeys of ``source``, batch by batch (see the module docstring), the batches'
    rows held together."""
    run = attribute_batches(source, settings)
    parts = list(run.parts)
    return AttributionResult(
        pl.concat([r.channel_attribution for r in parts]).sort(
            "client_id", "attribution_model", "channel"),
        pl.concat([r.model_comparison for r in parts]).sort("client_id", "channel"),
        run.shapley_prior, run.channels, sum(r.journeys for r in parts), run.batches)


def attribute(paths: pl.DataFrame, rule_credits: pl.DataFrame,
              settings: AttributionSettings | None = None) -> AttributionResult:
    """``attribute_source`` of journeys in memory (``FrameJourneys``).

    ``paths``: client_id, channel_path, converted, revenue, optional is_settled and journeys
    count (one row per journey, or grouped; journeys whose window is still open should be left
    out: they may still convert).
    """
    return attribute_source(FrameJourneys(paths, rule_credits), settings)
