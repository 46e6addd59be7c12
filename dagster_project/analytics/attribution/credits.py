"""Multi-touch attribution: all models side by side, conserved, with bootstrap intervals.

Inputs are journeys (``fct_attribution_paths``: one row per journey, converting or not) and the
rule-based credits computed in the warehouse (``fct_attribution_touch_credits``, summed per
client x channel path x model x channel). Models:

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

Statuses (``status``, ``status_message``; ``analytics.attribution.status``): ``no_conversions``
(a client without conversions: its shares are null, not 0), ``no_intervals`` (no resamples:
the intervals are null, not NaN), ``non_finite``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from .bootstrap import bootstrap
from .comparison import compare_models
from .journeys import NONE_CHANNEL, Journeys, group_journeys, per_client_totals
from .markov import build_structure, markov_attribution
from .rule_based import rule_fractions
from .settings import MODELS, RULE_MODELS, AttributionSettings
from .shapley import shapley_attribution, shapley_options
from .shapley_prior import ShapleyPrior, fit_shapley_prior
from .status import with_status

INTERVALS = ["conversions_lower", "conversions_upper", "revenue_lower", "revenue_upper"]
NUMBERS = ["attributed_conversions", "attributed_revenue", "conversion_share", *INTERVALS]


@dataclass(frozen=True)
class AttributionResult:
    channel_attribution: pl.DataFrame  # client x channel x model, with intervals
    model_comparison: pl.DataFrame  # client x channel: shares per model, disagreement, recommendation
    shapley_prior: ShapleyPrior  # noisy-OR hazards, pooled channel-set rates and their weights
    channels: tuple[str, ...]  # the channels of shapley_prior.q


def model_credits(j: Journeys, fractions, settings: AttributionSettings, structure=None,
                  prior: ShapleyPrior | None = None
                  ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], ShapleyPrior]:
    """Conversions and revenue credited per model, client and channel (n_clients x K+1).
    ``prior``: the Shapley model's pooled prior (fitted here when None)."""
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
    prior = prior or fit_shapley_prior(j, settings.prior_strength, settings.pooled_prior_strength)
    sc, sr = shapley_attribution(j, prior, **shapley_options(settings))
    out["shapley"] = (np.column_stack([sc, uc]), np.column_stack([sr, ur]))
    return out, prior


def attribute(paths: pl.DataFrame, rule_credits: pl.DataFrame,
              settings: AttributionSettings | None = None) -> AttributionResult:
    """Every model's credit per client and channel, with intervals and the model comparison.

    ``paths``: client_id, channel_path, converted, revenue (one row per journey; journeys whose
    window is still open should be left out: they may still convert).
    """
    settings = settings or AttributionSettings()
    j = group_journeys(paths)
    fractions = rule_fractions(j, rule_credits)
    structure = build_structure(j, settings.markov_order)
    point, prior = model_credits(j, fractions, settings, structure)
    draws = bootstrap(j, fractions, settings, structure, prior) if settings.bootstrap_resamples else {}
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
    attribution = with_status(pl.concat(frames), rules, NUMBERS).select(
        "client_id", "channel", "attribution_model", "model_family", "attributed_conversions",
        "conversions_lower", "conversions_upper", "attributed_revenue", "revenue_lower",
        "revenue_upper", "conversion_share", "status", "status_message",
    ).sort("client_id", "attribution_model", "channel")
    comparison = compare_models(j, attribution, settings, structure)
    return AttributionResult(attribution, comparison, prior, j.channels)
