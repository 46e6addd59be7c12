"""Which model to recommend per client: held-out log-loss of the data-driven models."""

from __future__ import annotations

import numpy as np
import polars as pl

from .journeys import Journeys
from .markov import build_structure, markov_end_probability
from .settings import DATA_DRIVEN_MODELS, FALLBACK_MODEL, MODELS, AttributionSettings
from .shapley import fit_shapley_prior, shapley_set_probability


def held_out_log_loss(j: Journeys, settings: AttributionSettings, structure=None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per client: held-out log-loss of the Markov and Shapley conversion probabilities, and the
    number of held-out journeys. The settled journeys are split by binomial thinning of every
    group (seeded)."""
    rng = np.random.default_rng(settings.seed + 1)
    f = settings.holdout_fraction
    nonconv = j.journeys - j.conversions
    tc = rng.binomial(j.fit_conversions.astype(np.int64), f).astype(float)
    tn = rng.binomial(nonconv.astype(np.int64), f).astype(float)
    mean_rev = j.mean_order_value
    train = j.with_weights(j.journeys - tc - tn, j.conversions - tc, (j.conversions - tc) * mean_rev,
                           j.unsettled)
    groups = np.flatnonzero((j.length > 0) & (tc + tn > 0))
    structure = structure or build_structure(j, settings.markov_order)
    prior = fit_shapley_prior(train, settings.prior_strength)
    probs = {
        "markov": markov_end_probability(train, groups, settings.markov_order, structure),
        "shapley": shapley_set_probability(train, groups, prior.q, prior.strength),
    }
    n = j.n_clients
    test_n = np.bincount(j.client[groups], (tc + tn)[groups], n)
    losses = []
    for model in DATA_DRIVEN_MODELS:
        p = np.clip(probs[model], 1e-6, 1 - 1e-6)
        ll = -(tc[groups] * np.log(p) + tn[groups] * np.log1p(-p))
        losses.append(np.divide(np.bincount(j.client[groups], ll, n), test_n,
                                out=np.full(n, np.nan), where=test_n > 0))
    return losses[0], losses[1], test_n


def compare_models(j: Journeys, attribution: pl.DataFrame, settings: AttributionSettings,
                   structure=None) -> pl.DataFrame:
    """Channel shares per model side by side, their disagreement and the recommended model.

    Rule: a client with at least ``min_journeys`` journeys and ``min_conversions`` conversions gets
    the data-driven model (markov or shapley) whose conversion-probability estimate has the lower
    log-loss on held-out journeys (a ``holdout_fraction`` of each path group, seeded); the Markov
    estimate of a journey is P(conversion | its last state), the Shapley one v(its channel set).
    Other clients get position_based (no fitted parameters; it credits both the opening and the
    closing touch). The reason, with the figures, is stored with the choice.
    """
    ll_m, ll_s, test_n = held_out_log_loss(j, settings, structure)
    journeys = np.bincount(j.client, j.journeys, j.n_clients)
    conversions = np.bincount(j.client, j.conversions, j.n_clients)
    enough = (journeys >= settings.min_journeys) & (conversions >= settings.min_conversions) & (test_n > 0)
    best = np.where(ll_s <= ll_m, "shapley", "markov")
    recommended = np.where(enough, best, FALLBACK_MODEL)
    reason = [
        (f"{b}: held-out log-loss {min(a, c):.4f} vs {'markov' if b == 'shapley' else 'shapley'} "
         f"{max(a, c):.4f} on {int(t)} held-out journeys")
        if e else
        (f"{FALLBACK_MODEL}: too few journeys for a data-driven model ({int(n_)} journeys, "
         f"{int(cv)} conversions; need {settings.min_journeys} and {settings.min_conversions})")
        for e, b, a, c, t, n_, cv in zip(enough, best, ll_m, ll_s, test_n, journeys, conversions)
    ]
    clients = pl.DataFrame({
        "client_id": list(j.clients), "journeys": journeys, "conversions": conversions,
        "heldout_journeys": test_n, "logloss_markov": ll_m, "logloss_shapley": ll_s,
        "recommended_model": recommended, "recommendation_reason": reason,
    })
    wide = attribution.pivot(on="attribution_model", index=["client_id", "channel"],
                             values="conversion_share").fill_null(0.0)
    shares = [m for m in MODELS if m in wide.columns]
    wide = wide.select("client_id", "channel", *[pl.col(m).alias(f"share_{m}") for m in shares])
    cols = [pl.col(f"share_{m}") for m in shares]
    return (
        wide.with_columns(
            pl.min_horizontal(cols).alias("share_min"), pl.max_horizontal(cols).alias("share_max"))
        .with_columns((pl.col("share_max") - pl.col("share_min")).alias("disagreement"))
        .join(clients, on="client_id", how="left")
        .sort("client_id", "channel")
    )
