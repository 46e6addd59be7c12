"""The insight kinds' table (``insight_kinds.yml``): metric type, templates, number formats,
evidence minimums and the confidence rule in words, one entry per kind.

The code that computes each kind's evidence and confidence (``usage_evidence``,
``business_evidence``, ``operations_evidence``) follows the rule stated here; a kind in the table
without code, or code without a kind, is an error (:func:`.build.build_insights`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .formatting import FORMATS
from .templates import placeholders

KINDS_PATH = Path(__file__).with_name("insight_kinds.yml")
METRIC_TYPES = ("revenue", "engagement", "conversion", "reach", "efficiency", "roi", "pricing",
                "experiment", "anomaly")


@dataclass(frozen=True)
class InsightKind:
    name: str
    metric_type: str
    source: str
    sentence: str
    recommendation: str
    numbers: dict[str, str]  # placeholder -> format
    minimums: dict[str, float]
    confidence: str  # the rule, in words
    money_impact: str  # what the impact level is judged on, in words
    evidence: str

    @property
    def placeholders(self) -> list[str]:
        return placeholders(self.sentence) + placeholders(self.recommendation)


def load_kinds(path: str | Path | None = None) -> dict[str, InsightKind]:
    """The table at ``path`` (default ``insight_kinds.yml``), validated: every metric type is
    one of :data:`METRIC_TYPES` and every format one of :data:`.formatting.FORMATS`."""
    raw = yaml.safe_load(Path(path or KINDS_PATH).read_text())["kinds"]
    kinds = {}
    for name, entry in raw.items():
        kind = InsightKind(name=name, **{**entry, "numbers": dict(entry.get("numbers") or {}),
                                         "minimums": dict(entry.get("minimums") or {})})
        if kind.metric_type not in METRIC_TYPES:
            raise ValueError(f"{name}: metric_type must be one of {', '.join(METRIC_TYPES)}; "
                             f"got {kind.metric_type!r}")
        for number, fmt in kind.numbers.items():
            if fmt not in FORMATS:
                raise ValueError(f"{name}: numbers.{number}: format must be one of {', '.join(FORMATS)}; got {fmt!r}")
        kinds[name] = kind
    return kinds
