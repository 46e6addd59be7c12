"""The attribution models and the settings an analyst may change."""

from __future__ import annotations

from dataclasses import dataclass

RULE_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
DATA_DRIVEN_MODELS = ("markov", "shapley")
MODELS = RULE_MODELS + DATA_DRIVEN_MODELS
FALLBACK_MODEL = "position_based"
# How the Markov model credits revenue: by its conversion removal effects (the default), or by
# the removal effects of the expected conversion value (ChannelAttribution's var_value).
MARKOV_REVENUE_CREDITS = ("conversion_share", "value_removal_effect")


@dataclass(frozen=True)
class AttributionSettings:
    markov_order: int = 1
    markov_revenue_credit: str = "conversion_share"  # one of MARKOV_REVENUE_CREDITS
    bootstrap_resamples: int = 200
    seed: int = 0
    prior_strength: float | None = None  # Shapley: pseudo-journeys of the pooled rates (None: EB)
    pooled_prior_strength: float | None = None  # Shapley: ... of noisy-OR in them (None: EB)
    max_exact_channels: int = 15  # Shapley: exact up to this many channels, sampled beyond
    shapley_tolerance: float = 1e-3  # sampled Shapley: standard error / the client's total
    shapley_max_permutations: int = 20_000  # sampled Shapley: at most this many orders per client
    holdout_fraction: float = 0.2  # recommended model: share of journeys held out
    min_journeys: int = 200  # recommended model: below this a client falls back to position_based
    min_conversions: int = 30
    # clients are fitted a batch at a time: a batch takes clients (in client_id order) until
    # about this many client x channel path groups, or this many clients
    client_batch_groups: int = 50_000
    client_batch_clients: int = 500

    def __post_init__(self):
        # markov_order is checked by markov.build_structure, the Shapley sampling arguments by
        # shapley.shapley_attribution
        if self.markov_revenue_credit not in MARKOV_REVENUE_CREDITS:
            raise ValueError(f"markov_revenue_credit must be one of {MARKOV_REVENUE_CREDITS}, "
                             f"got {self.markov_revenue_credit!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        for name in ("client_batch_groups", "client_batch_clients"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.bootstrap_resamples < 0:
            raise ValueError(f"bootstrap_resamples must be >= 0, got {self.bootstrap_resamples}")
        for name in ("prior_strength", "pooled_prior_strength"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 (or None for empirical Bayes), got {value}")
        if not 0 < self.holdout_fraction < 1:
            raise ValueError(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
