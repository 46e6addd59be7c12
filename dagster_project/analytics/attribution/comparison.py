"""Which model to recommend per client: held-out log-loss of the data-driven models."""

from __future__ import annotations

import numpy as np
import polars as pl

from .journeys import Journeys
from .markov import build_structure, markov_end_probability
from .settings import DATA_DRIVEN_MODELS, FALLBACK_MODEL, MODELS, AttributionSettings
from .shapley import shapley_set_probability
from .shapley_prior import ShapleyPrior
from .streams import HOLDOUT, client_generator

# analytics.attribution_model_comparison: a row per client x channel
COMPARISON_SCHEMA = {
    "client_id": pl.String, "channel": pl.String,
    **dict.fromkeys([f"share_{m}" for m in MODELS], pl.Float64),
    **dict.fromkeys(["share_min", "share_max", "disagreement", "journeys", "conversions",
                     "heldout_journeys", "logloss_markov", "logloss_shapley"], pl.Float64),
    "recommended_model": pl.String, "recommendation_reason": pl.String}

def holdout_split(j: Journeys, settings: AttributionSettings) -> tuple[np.ndarray, np.ndarray]:
    """The held-out (converting, non-converting) settled journeys of each group: binomial
    thinning with ``holdout_fraction``, each client from its own stream (``streams``: seed,
    HOLDOUT, the client; its groups' settled conversions, then their non-converting journeys)."""
    f = settings.holdout_fraction
    fc = j.fit_conversions.astype(np.int64)
    nonconv = (j.journeys - j.conversions).astype(np.int64)
    tc, tn = np.zeros(len(j.length)), np.zeros(len(j.length))
    for client, groups in zip(j.clients, j.client_groups):
        rng = client_generator(settings.seed, HOLDOUT, client)
        tc[groups] = rng.binomial(fc[groups], f)
        tn[groups] = rng.binomial(nonconv[groups], f)
    return tc, tn


def training_journeys(j: Journeys, tc: np.ndarray, tn: np.ndarray) -> Journeys:
    """The journeys less the held-out ones (``holdout_split``)."""
    return j.with_weights(j.journeys - tc - tn, j.conversions - tc,
                          (j.conversions - tc) * j.mean_order_value, j.unsettled)


def held_out_log_loss(j: Journeys, settings: AttributionSettings, train_prior: ShapleyPrior,
                      structure=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per client: held-out log-loss of the Markov and Shapley conversion probabilities, and the
    number of held-out journeys (``holdout_split``). ``train_prior``: the Shapley prior fitted on
    the training journeys of all clients (``shapley_prior.fit_prior`` of their counts)."""
    tc, tn = holdout_split(j, settings)
    train = training_journeys(j, tc, tn)
    groups = np.flatnonzero((j.length > 0) & (tc + tn > 0))
    structure = structure or build_structure(j, settings.markov_order)
    probs = {
        "markov": markov_end_probability(train, groups, settings.markov_order, structure),
        "shapley": shapley_set_probability(train, groups, train_prior),
    }
    n = j.n_clients
    test_n = np.bincount(j.client[groups], (tc + tn)[groups], n).astype(float)  # float if empty
    losses = []
    for model in DATA_DRIVEN_MODELS:
        p = np.clip(probs[model], 1e-6, 1 - 1e-6)
        ll = -(tc[groups] * np.log(p) + tn[groups] * np.log1p(-p))
        losses.append(np.divide(np.bincount(j.client[groups], ll, n), test_n,
                                out=np.full(n, np.nan), where=test_n > 0))
    return losses[0], losses[1], test_n


def compare_models(j: Journeys, attribution: pl.DataFrame, settings: AttributionSettings,
                   train_prior: ShapleyPrior, structure=None) -> pl.DataFrame:
    """Channel shares per model side by side, their disagreement and the recommended model.

    Rules, in this order (the first that applies decides, and its reason is stored with the
    choice):
    1. fewer than ``min_journeys`` journeys (all the client's journeys, settled or not, with or
       without a touch): position_based;
    2. fewer than ``min_conversions`` conversions: position_based;
    3. no held-out journey with a touch (e.g. every order without a touch): position_based;
    4. else the data-driven model (markov or shapley) whose conversion-probability estimate has
       the lower log-loss on held-out journeys (a ``holdout_fraction`` of each path group,
       drawn from each client's own stream: ``holdout_split``; shapley on a tie); the Markov estimate of a journey is P(conversion | its last
       state), the Shapley one v(its channel set).
    position_based has no fitted parameters and credits both the opening and the closing touch.
    ``disagreement`` is max - min of the channel's conversion share over the models.
    """
    ll_m, ll_s, test_n = held_out_log_loss(j, settings, train_prior, structure)
    journeys = np.bincount(j.client, j.journeys, j.n_clients)
    conversions = np.bincount(j.client, j.conversions, j.n_clients)
    shapley_wins = pl.col("logloss_shapley") <= pl.col("logloss_markov")
    best, other = (pl.when(shapley_wins).then(pl.lit(a)).otherwise(pl.lit(b))
                   for a, b in (("shapley", "markov"), ("markov", "shapley")))
    loss = [pl.col(c).round(4).cast(pl.String) for c in ("logloss_shapley", "logloss_markov")]
    count = [pl.col(c).cast(pl.Int64).cast(pl.String)
             for c in ("journeys", "conversions", "heldout_journeys")]
    too_few = [pl.col("journeys") < settings.min_journeys,
               pl.col("conversions") < settings.min_conversions, pl.col("heldout_journeys") == 0]
    reason = (
        pl.when(too_few[0])
        .then(pl.format(f"{FALLBACK_MODEL}: {{}} journeys, fewer than min_journeys "
                        f"{settings.min_journeys} for a data-driven model", count[0]))
        .when(too_few[1])
        .then(pl.format(f"{FALLBACK_MODEL}: {{}} conversions, fewer than min_conversions "
                        f"{settings.min_conversions} for a data-driven model", count[1]))
        .when(too_few[2])
        .then(pl.lit(f"{FALLBACK_MODEL}: no held-out journey with a touch to compare the "
                     "data-driven models on"))
        .otherwise(pl.format("{}: held-out log-loss {} vs {} {} on {} held-out journeys", best,
                             pl.when(shapley_wins).then(loss[0]).otherwise(loss[1]), other,
                             pl.when(shapley_wins).then(loss[1]).otherwise(loss[0]), count[2]))
    )
    clients = pl.DataFrame({  # log-losses are null without held-out journeys
        "client_id": list(j.clients), "journeys": journeys, "conversions": conversions,
        "heldout_journeys": test_n, "logloss_markov": ll_m, "logloss_shapley": ll_s,
    }).fill_nan(None).with_columns(
        pl.when(pl.any_horizontal(too_few)).then(pl.lit(FALLBACK_MODEL)).otherwise(best)
        .alias("recommended_model"),
        reason.alias("recommendation_reason"))
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
