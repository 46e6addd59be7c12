"""Multi-touch attribution: all models side by side, conserved, with bootstrap intervals.

Inputs are journeys (``fct_attribution_paths``: one row per journey, converting or not) and the
rule-based credits computed in the warehouse (``fct_attribution_touch_credits``, summed per
client x channel path x model x channel). Models:

- rule based (first_touch, last_touch, linear, time_decay, position_based): the warehouse's
  credits; here they are only regrouped so that the bootstrap can resample them;
- markov (``attribution_markov``): removal effects of an order-1..3 absorbing chain;
- shapley (``attribution_shapley``): path-level Shapley values of a conversion-probability game.

Conservation: every model gives each client's touched conversions (and revenue) to its channels
and the conversions without a touch to the channel '(none)', so per client and model the credits
sum to the client's conversions and revenue (checked by ``conservation_errors``).

Uncertainty: a Poisson bootstrap over journeys (Hanley & MacGibbon 2006; Chamandy et al. 2012):
each resample draws, for every group of identical journeys, Poisson(n) converting and
Poisson(m) non-converting journeys (n, m the group's counts) -- the large-sample equivalent of
resampling journeys with replacement, vectorized over groups. The revenue of a group scales with
its converting count (its journeys keep the group's mean order value; the spread of order values
within a group is not resampled). Every model is refitted on every resample, the Shapley
model's pooled noisy-OR included (its empirical-Bayes weight k is held: see ``bootstrap``); the
interval is the 2.5%-97.5% percentile range of the credit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from .attribution_journeys import (
    NONE_CHANNEL,
    Journeys,
    group_journeys,
    per_client_totals,
)
from .attribution_markov import (
    build_structure,
    markov_attribution,
    markov_end_probability,
    markov_shares_batch,
)
from .attribution_shapley import (
    MAX_EXACT_CHANNELS,
    ShapleyPrior,
    fit_noisy_or,
    fit_shapley_prior,
    shapley_attribution,
    shapley_credits_batch,
    shapley_pairs,
    shapley_set_probability,
)

RULE_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
DATA_DRIVEN_MODELS = ("markov", "shapley")
MODELS = RULE_MODELS + DATA_DRIVEN_MODELS
FALLBACK_MODEL = "position_based"
BOOTSTRAP_CHUNK = 4  # resamples refitted together (larger chunks only add memory traffic)


@dataclass(frozen=True)
class AttributionSettings:
    markov_order: int = 1
    bootstrap_resamples: int = 200
    seed: int = 0
    prior_strength: float | None = None  # Shapley: pseudo-journeys of the pooled prior (None: EB)
    holdout_fraction: float = 0.2  # recommended model: share of journeys held out
    min_journeys: int = 200  # recommended model: below this a client falls back to position_based
    min_conversions: int = 30


@dataclass(frozen=True)
class AttributionResult:
    channel_attribution: pl.DataFrame  # client x channel x model, with intervals
    model_comparison: pl.DataFrame  # client x channel: shares per model, disagreement, recommendation
    shapley_prior: ShapleyPrior  # pooled noisy-OR hazards per channel and their weight
    channels: tuple[str, ...]  # the channels of shapley_prior.q


def rule_fractions(j: Journeys, rule_credits: pl.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per model, the share of a group's conversions and of its revenue per channel (G x K+1).

    ``rule_credits``: client_id, channel_path (null without touches), attribution_model, channel,
    credit, revenue_credit, summed over the group's conversions.
    """
    channels = (*j.channels, NONE_CHANNEL)
    keys = pl.DataFrame({
        "client_id": pl.Series(j.clients, dtype=pl.String).gather(j.client),
        "channel_path": j.path_text,
    }).with_row_index("g")
    rc = rule_credits.with_columns(pl.col("channel_path").fill_null(""), pl.col("client_id").cast(pl.String))
    joined = rc.join(keys, on=["client_id", "channel_path"], how="inner").with_columns(
        pl.col("channel").replace_strict({c: i for i, c in enumerate(channels)},
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
    mk = markov_attribution(j, structure, settings.markov_order)
    out["markov"] = (np.column_stack([mk.shares * tc[:, None], uc]),
                     np.column_stack([mk.shares * tr[:, None], ur]))
    prior = prior or fit_shapley_prior(j, settings.prior_strength)
    sc, sr, _ = shapley_attribution(j, prior.strength, seed=settings.seed, q=prior.q)
    out["shapley"] = (np.column_stack([sc, uc]), np.column_stack([sr, ur]))
    return out, prior


def bootstrap(j: Journeys, fractions, settings: AttributionSettings, structure=None,
              prior: ShapleyPrior | None = None) -> dict[str, np.ndarray]:
    """Per model, (resamples, 2, n_clients, K+1) bootstrap credits (conversions, revenue).

    The Shapley model's pooled curve (its hazards q) is refitted on every resample: when the
    clients follow it, the empirical-Bayes weight is large (about 123,000 pseudo-journeys on
    `small`), the curve is most of v, and its sampling error most of the pooled shares' error. Its weight k, a hyperparameter, keeps the value of ``prior``
    (fitted on all journeys when not given).

    Every resample gets what ``model_credits`` gives on it, computed ``BOOTSTRAP_CHUNK``
    resamples at a time: their Poisson draws in one call (the same numbers, in the same order, as
    one resample at a time; a Poisson(0) draw is 0 and takes no random number, so only the
    groups' non-zero counts are drawn), the rule-based credits and the client totals as one
    sparse product (they are linear in the resampled conversions), the Markov chains on the
    shared ``structure`` (``markov_shares_batch``) and the exact Shapley credits over the shared
    subset pairs (``shapley_credits_batch``; beyond the exact limit, ``shapley_attribution``'s
    sampled credits of each resample)."""
    rng = np.random.default_rng(settings.seed)
    structure = structure or build_structure(j, settings.markov_order)
    prior = prior or fit_shapley_prior(j, settings.prior_strength)
    pairs = shapley_pairs(j) if j.n_channels <= MAX_EXACT_CHANNELS else None
    G, n, K1, R = len(j.length), j.n_clients, j.n_channels + 1, settings.bootstrap_resamples
    mean_rev = j.mean_order_value
    linear = _linear_credits(j, fractions, mean_rev)
    lam = np.stack([j.fit_conversions, j.conversions - j.fit_conversions, j.journeys - j.conversions])
    drawn = np.flatnonzero(lam > 0)
    draws = {m: np.empty((R, 2, n, K1)) for m in MODELS}
    for lo in range(0, R, BOOTSTRAP_CHUNK):
        B = min(BOOTSTRAP_CHUNK, R - lo)
        cm = np.zeros((3, G, B))
        cm.reshape(3 * G, B)[drawn] = rng.poisson(lam.ravel()[drawn], size=(B, len(drawn))).T
        fc, c = cm[0], cm[0] + cm[1]  # (G, B) settled and all converting journeys, ...
        fj = fc + cm[2]  # ... and the settled journeys
        out = (linear @ c).T.reshape(B, len(RULE_MODELS) + 1, 2, n, K1)
        for i, model in enumerate(RULE_MODELS):
            draws[model][lo:lo + B] = out[:, i]
        totals = out[:, -1]  # (B, 2, n, K1): touched totals in column 0, untouched in column 1
        untouched = totals[..., 1:2]
        shares = markov_shares_batch(structure, fj, fc)
        draws["markov"][lo:lo + B] = np.concatenate(
            [shares[:, None] * totals[..., :1], untouched], axis=-1)
        q = fit_noisy_or(j.masks, fj, fc, j.n_channels)  # (K, B)
        if pairs is not None:
            sc, sr = shapley_credits_batch(pairs, fj, fc, c, c * mean_rev[:, None], q,
                                           prior.strength)
        else:
            sc, sr = map(np.stack, zip(*(
                shapley_attribution(j.with_weights(fj[:, b] + cm[1, :, b], c[:, b],
                                                   c[:, b] * mean_rev, cm[1, :, b]),
                                    prior.strength, seed=settings.seed, q=q[:, b])[:2]
                for b in range(B))))
        draws["shapley"][lo:lo + B] = np.concatenate(
            [np.stack([sc, sr], axis=1), untouched], axis=-1)
    return draws


def _linear_credits(j: Journeys, fractions, mean_rev: np.ndarray) -> sp.csr_matrix:
    """The bootstrap's credits that are linear in the converting journeys c of the groups, as a
    matrix M ((rule models + 1) x 2 x n_clients x (K+1) rows, G columns) with credits = M @ c:
    per rule model its conversion and revenue credit (a group's journeys keep its mean order
    value), then the clients' touched (column 0) and untouched (column 1) conversions and
    revenue."""
    G, n, K1 = len(j.length), j.n_clients, j.n_channels + 1
    rows, cols, vals = [], [], []
    conv = np.flatnonzero(j.conversions > 0)  # the other groups never draw a conversion
    for i, model in enumerate(RULE_MODELS):
        for kind, (f, scale) in enumerate(zip(fractions[model], (np.ones(G), mean_rev))):
            g, ch = np.nonzero(f[conv])
            g = conv[g]
            rows.append(((i * 2 + kind) * n + j.client[g]) * K1 + ch)
            cols.append(g)
            vals.append(f[g, ch] * scale[g])
    touched = (j.length > 0).astype(np.int64)
    for kind, scale in enumerate((np.ones(G), mean_rev)):
        rows.append(((len(RULE_MODELS) * 2 + kind) * n + j.client) * K1 + 1 - touched)
        cols.append(np.arange(G))
        vals.append(scale)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=((len(RULE_MODELS) + 1) * 2 * n * K1, G))


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


def attribute(paths: pl.DataFrame, rule_credits: pl.DataFrame,
              settings: AttributionSettings = AttributionSettings()) -> AttributionResult:
    """Every model's credit per client and channel, with intervals and the model comparison.

    ``paths``: client_id, channel_path, converted, revenue (one row per journey; journeys whose
    window is still open should be left out: they may still convert).
    """
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
        total = conv.sum(axis=1, keepdims=True)
        share = np.divide(conv, total, out=np.zeros_like(conv), where=total > 0)
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
            cols |= {k: np.full(len(ci), np.nan) for k in
                     ("conversions_lower", "conversions_upper", "revenue_lower", "revenue_upper")}
        frames.append(pl.DataFrame(cols))
    attribution = pl.concat(frames).select(
        "client_id", "channel", "attribution_model", "model_family", "attributed_conversions",
        "conversions_lower", "conversions_upper", "attributed_revenue", "revenue_lower",
        "revenue_upper", "conversion_share").sort("client_id", "attribution_model", "channel")
    comparison = compare_models(j, attribution, settings, structure)
    return AttributionResult(attribution, comparison, prior, j.channels)


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


def conservation_errors(attribution: pl.DataFrame, paths: pl.DataFrame) -> pl.DataFrame:
    """Per client and model: relative error of the summed credits against the client's
    conversions and revenue (from the journeys)."""
    totals = paths.group_by("client_id").agg(
        pl.col("converted").cast(pl.Float64).sum().alias("conversions"),
        pl.col("revenue").cast(pl.Float64).sum().alias("revenue"))
    sums = attribution.group_by("client_id", "attribution_model").agg(
        pl.col("attributed_conversions").sum(), pl.col("attributed_revenue").sum())
    return sums.join(totals, on="client_id", how="full", coalesce=True).with_columns(
        ((pl.col("attributed_conversions").fill_null(0) - pl.col("conversions")).abs()
         / pl.max_horizontal(pl.col("conversions"), pl.lit(1e-12))).alias("conversions_rel_error"),
        ((pl.col("attributed_revenue").fill_null(0) - pl.col("revenue")).abs()
         / pl.max_horizontal(pl.col("revenue"), pl.lit(1e-12))).alias("revenue_rel_error"),
    )


def channel_roi(attribution: pl.DataFrame, spend: pl.DataFrame) -> pl.DataFrame:
    """Per client, channel and model: spend, attributed conversions and revenue, ROAS
    (revenue / spend) and CPA (spend / conversions); null when the denominator is 0.
    ``spend``: client_id, channel, spend (summed over the same period as the journeys)."""
    s = spend.group_by("client_id", "channel").agg(pl.col("spend").cast(pl.Float64).sum())
    return (
        attribution.select("client_id", "channel", "attribution_model", "attributed_conversions",
                           "attributed_revenue")
        .join(s, on=["client_id", "channel"], how="left")
        .with_columns(pl.col("spend").fill_null(0.0))
        .with_columns(
            pl.when(pl.col("spend") > 0).then(pl.col("attributed_revenue") / pl.col("spend")).alias("roas"),
            pl.when(pl.col("attributed_conversions") > 0)
            .then(pl.col("spend") / pl.col("attributed_conversions")).alias("cpa"),
        )
        .sort("client_id", "attribution_model", "channel")
    )
