"""Insights: ranked, templated statements per client from every analytics group.

One module per concept: ``formatting`` (the one rounding and writing of a number),
``templates`` (sentences from templates over a frame), ``rules`` (the kinds' table,
``insight_kinds.yml``), ``names`` (display names), ``usage_evidence``, ``business_evidence`` and
``operations_evidence`` (each kind's evidence and confidence), ``build`` (rendering, impact,
ranking and the cap).
"""

from .build import (
    BUILDERS,
    SCHEMA,
    InsightInputs,
    InsightSettings,
    build_insights,
    rank_insights,
    render_kind,
)
from .formatting import FORMATS, literal, shown, text
from .rules import METRIC_TYPES, InsightKind, load_kinds
from .templates import placeholders, render

__all__ = [
    "BUILDERS",
    "FORMATS",
    "METRIC_TYPES",
    "SCHEMA",
    "InsightInputs",
    "InsightKind",
    "InsightSettings",
    "build_insights",
    "literal",
    "load_kinds",
    "placeholders",
    "rank_insights",
    "render",
    "render_kind",
    "shown",
    "text",
]
