"""The attribution models and the settings an analyst may change."""

from __future__ import annotations

from dataclasses import dataclass

RULE_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
DATA_DRIVEN_MODELS = ("markov", "shapley")
MODELS = RULE_MODELS + DATA_DRIVEN_MODELS
FALLBACK_MODEL = "position_based"


@dataclass(frozen=True)
class AttributionSettings:
    markov_order: int = 1
    bootstrap_resamples: int = 200
    seed: int = 0
    prior_strength: float | None = None  # Shapley: pseudo-journeys of the pooled prior (None: EB)
    holdout_fraction: float = 0.2  # recommended model: share of journeys held out
    min_journeys: int = 200  # recommended model: below this a client falls back to position_based
    min_conversions: int = 30
