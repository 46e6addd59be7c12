"""The guardrails and rules of the price recommendations: one documented YAML file
(``guardrails.yml`` beside this module), validated here, read by :mod:`.position` and
:mod:`.recommend`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

DEFAULT_PATH = Path(__file__).with_name("guardrails.yml")
POSITIONS = ("value_leader", "competitive_parity", "premium_provider")
CLASSES = ("elastic", "inelastic", "undetermined")


@dataclass(frozen=True)
class Guardrails:
    max_change_per_step: float
    min_change: float
    price_floors: dict[str, float]
    position_bands: dict[str, tuple[float, float]]
    position_descriptions: dict[str, str]
    position_rule: list[tuple[str | None, str]]  # (classification or None = any, position)
    high_churn_points: float
    medium_churn_points: float
    medium_price_change: float

    def table(self) -> pl.DataFrame:
        """The positions with their index bands and when the rule picks them (for metadata)."""
        when = {p: [] for p in POSITIONS}
        for cls, position in self.position_rule:
            when[position].append(cls or "otherwise")
        return pl.DataFrame({
            "position": list(POSITIONS),
            "index_low": [self.position_bands[p][0] for p in POSITIONS],
            "index_high": [self.position_bands[p][1] for p in POSITIONS],
            "recommended_when": [", ".join(when[p]) or "never" for p in POSITIONS],
            "description": [self.position_descriptions[p] for p in POSITIONS]})


def _fraction(raw: dict, key: str, path: Path, upper: float = 1.0) -> float:
    value = raw.get(key)
    if not isinstance(value, int | float) or not 0 <= value <= upper:
        raise ValueError(f"{path}: {key} must be a number in [0, {upper}], got {value!r}")
    return float(value)


def load_guardrails(path: str | Path | None = None) -> Guardrails:
    """The guardrails of ``path`` (default: the packaged file); ValueError naming the key and
    the rule when the file breaks one."""
    path = Path(path) if path else DEFAULT_PATH
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):  # a file's content, not an argument's type: ValueError
        raise ValueError(f"{path}: expected a mapping of guardrails")  # noqa: TRY004
    max_step, min_change = (_fraction(raw, k, path) for k in ("max_change_per_step", "min_change"))
    floors = raw.get("price_floors") or {}
    if not isinstance(floors, dict) or any(
            not isinstance(v, int | float) or v < 0 for v in floors.values()):
        raise ValueError(f"{path}: price_floors must map tiers to prices >= 0")
    positions = raw.get("positions") or {}
    if set(positions) != set(POSITIONS):
        raise ValueError(f"{path}: positions must be exactly {', '.join(POSITIONS)}")
    bands = {}
    for name, spec in positions.items():
        band = spec.get("index") if isinstance(spec, dict) else None
        if not (isinstance(band, list) and len(band) == 2 and 0 < band[0] <= band[1]):
            raise ValueError(f"{path}: positions.{name}.index must be [low, high], 0 < low <= high")
        bands[name] = (float(band[0]), float(band[1]))
    rule = []
    for i, item in enumerate(raw.get("position_rule") or []):
        cls, position = item.get("classification"), item.get("position")
        if cls is not None and cls not in CLASSES or position not in POSITIONS:
            raise ValueError(f"{path}: position_rule {i + 1} needs a position among "
                             f"{', '.join(POSITIONS)} and a classification among "
                             f"{', '.join(CLASSES)} (or none)")
        rule.append((cls, position))
    if not rule or rule[-1][0] is not None:
        raise ValueError(f"{path}: the last position_rule must have no classification, so "
                         "that every tier gets a position")
    risk = raw.get("risk") or {}
    return Guardrails(
        max_change_per_step=max_step,
        min_change=min_change,
        price_floors={k: float(v) for k, v in floors.items()},
        position_bands=bands,
        position_descriptions={k: str(v.get("description", "")) for k, v in positions.items()},
        position_rule=rule,
        high_churn_points=_fraction(risk, "high_churn_points", path, 100.0),
        medium_churn_points=_fraction(risk, "medium_churn_points", path, 100.0),
        medium_price_change=_fraction(risk, "medium_price_change", path))
