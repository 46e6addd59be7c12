"""Multi-touch attribution: rule-based, Markov and Shapley credit, intervals, ROI, post impact.

One module per concept: ``journeys`` (grouping and encoding journeys), ``batches`` (where
the journeys come from and the batches of clients), ``streams`` (each client's random streams),
``rule_based`` (the warehouse's rule credits regrouped), ``markov``, ``shapley`` and
``shapley_prior`` (the prior of its value function), ``bootstrap`` (intervals), ``comparison``
(the recommended model), ``pooled`` (what is fitted over all clients, the first pass),
``credits`` (every model side by side, batch by batch: ``attribute_source``, ``attribute``),
``conservation``, ``roi`` and ``post_impact`` (revenue per post and its drivers), ``status``
(why a value is null: the tables never carry a NaN); ``settings`` holds the model names and the
analyst's settings.
"""

from .batches import ClientBatch, FrameJourneys, JourneySource
from .conservation import ConservationCheck, check_conservation, conservation_errors
from .credits import (
    AttributionResult,
    BatchedAttribution,
    attribute,
    attribute_batches,
    attribute_source,
)
from .journeys import NONE_CHANNEL, Journeys, group_journeys
from .post_impact import PostImpact, post_revenue_impact
from .roi import channel_roi
from .settings import (
    DATA_DRIVEN_MODELS,
    FALLBACK_MODEL,
    MARKOV_REVENUE_CREDITS,
    MODELS,
    RULE_MODELS,
    AttributionSettings,
)

__all__ = [
    "DATA_DRIVEN_MODELS",
    "FALLBACK_MODEL",
    "MARKOV_REVENUE_CREDITS",
    "MODELS",
    "NONE_CHANNEL",
    "RULE_MODELS",
    "AttributionResult",
    "AttributionSettings",
    "BatchedAttribution",
    "ClientBatch",
    "ConservationCheck",
    "FrameJourneys",
    "JourneySource",
    "Journeys",
    "PostImpact",
    "attribute",
    "attribute_batches",
    "attribute_source",
    "channel_roi",
    "check_conservation",
    "conservation_errors",
    "group_journeys",
    "post_revenue_impact",
]
