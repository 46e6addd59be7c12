"""The alert rules file (``alert_rules.yml``): loading and validation.

A rules file has ``channels`` (where notifications go; secrets only as names of environment
variables), ``rules`` (which events become notifications), ``maintenance`` windows (a cron and a
duration during which matching metric events are counted but not sent), ``delivery`` (retries and
batching) and ``evaluation`` (the lookback). :func:`parse_rules` checks the whole file and raises
:class:`RulesError` listing *every* problem, each naming the rule (or channel) and the field:
unknown metric or channel, a scope the metric does not allow, a threshold that is not a number in
the metric's range, an unknown pattern, a score outside (0, 1], a bad cron or duration, an
escalation that does not escalate.

A rule watches either a ``metric`` of the catalog (``analytics/monitoring/metric_catalog.py``),
with a condition on the mart value (``threshold``), on the detectors' pattern (``pattern``) or on
their score (``anomaly_score``), or a ``source`` of ``analytics.alert_events`` (``event``; ``*``
matches every source no other source rule names).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from dagster_project.analytics.monitoring.metric_catalog import METRICS

RULES_FILE = Path(__file__).parent / "alert_rules.yml"

SEVERITIES = ("info", "warning", "critical")  # in increasing order
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
PATTERNS = ("spike", "drop", "level_shift", "trend", "recurring")
CONDITIONS = ("threshold", "pattern", "anomaly_score", "event")
METRIC_CONDITIONS = ("threshold", "pattern", "anomaly_score")
OPERATORS = (">", ">=", "<", "<=")
SCOPES = ("global", "client", "platform")
ANY_SOURCE = "*"

#: channel type -> (required setting names, optional setting names)
CHANNEL_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "webhook": (("url_env",), ("secret_env",)),
    "slack": (("url_env",), ()),
    "email": (("host_env", "sender", "recipients"),
              ("port_env", "user_env", "password_env", "starttls", "ca_file_env")),
    "sms": (("base_url_env", "account_env", "token_env", "sender", "recipient"), ()),
}
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RulesError(ValueError):
    """A rules file that cannot be applied; ``problems`` lists each one."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s):\n"
                         + "\n".join(f"- {p}" for p in problems))


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str  # webhook | slack | email | sms
    timeout_s: float
    settings: dict[str, Any]  # the type's fields: names of environment variables, addresses


@dataclass(frozen=True)
class Escalation:
    after: int  # occurrences of the alert within ``within`` (this one included)
    within: dt.timedelta
    severity: str
    add_channels: tuple[str, ...]


@dataclass(frozen=True)
class Condition:
    kind: str  # threshold | pattern | anomaly_score | event
    op: str | None = None
    value: float | None = None
    patterns: tuple[str, ...] = ()
    min_score: float | None = None
    min_severity: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    metric: str | None  # a catalog metric, or None for a source rule
    source: str | None  # an alert_events source, "*" or None for a metric rule
    scope: str
    entities: tuple[str, ...]  # empty: every entity
    condition: Condition
    severity: str | None  # None: the event's own severity (source rules only)
    channels: tuple[str, ...]
    cooldown: dt.timedelta
    escalation: Escalation | None


@dataclass(frozen=True)
class Maintenance:
    name: str
    cron: str
    duration: dt.timedelta
    metrics: tuple[str, ...]  # empty: every metric


@dataclass(frozen=True)
class Delivery:
    max_attempts: int = 5
    backoff_base: dt.timedelta = dt.timedelta(seconds=30)
    backoff_max: dt.timedelta = dt.timedelta(hours=1)
    batch_size: int = 200
    workers: int = 16


@dataclass(frozen=True)
class RuleSet:
    version: str  # sha256 of the file's text
    text: str
    channels: dict[str, Channel]
    rules: tuple[Rule, ...]
    maintenance: tuple[Maintenance, ...] = ()
    delivery: Delivery = field(default_factory=Delivery)
    lookback: dt.timedelta = dt.timedelta(days=7)

    def rule(self, name: str) -> Rule:
        return next(r for r in self.rules if r.name == name)


def parse_duration(value: Any) -> dt.timedelta:
    """``"30s"``, ``"15m"``, ``"2h"``, ``"1d"`` as a timedelta (> 0); ValueError otherwise."""
    m = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"bad duration {value!r}: expected a positive number and a unit "
                         "s, m, h or d, such as '30m'")
    return dt.timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[m.group(2)])


def metric_bounds(metric: str) -> tuple[float, float]:
    """The range a threshold on ``metric`` must lie in: percentages [0, 100], rates [0, 1],
    everything else (counts, latencies, money) [0, inf)."""
    if metric.endswith("_pct"):
        return 0.0, 100.0
    if metric.endswith("_rate"):
        return 0.0, 1.0
    return 0.0, math.inf


def load_rules(path: str | Path = RULES_FILE) -> RuleSet:
    """The validated rules of the file at ``path`` (RulesError lists every problem)."""
    return parse_rules(Path(path).read_text(), str(path))


def parse_rules(text: str, source: str = "alert rules") -> RuleSet:
    """The validated rules of a rules file's ``text`` (``source`` names it in errors)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RulesError(source, [f"not valid YAML: {e}"]) from None
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise RulesError(source, ["expected a mapping with 'channels' and 'rules'"])
    _unknown_keys(raw, {"channels", "rules", "maintenance", "delivery", "evaluation"}, "file",
                  problems)
    channels = _channels(raw.get("channels"), problems)
    rules = _rules(raw.get("rules"), channels, problems)
    maintenance = _maintenance(raw.get("maintenance") or [], problems)
    delivery = _delivery(raw.get("delivery") or {}, problems)
    lookback = _duration((raw.get("evaluation") or {}).get("lookback", "7d"),
                         "evaluation.lookback", problems)
    if problems:
        raise RulesError(source, problems)
    return RuleSet(hashlib.sha256(text.encode()).hexdigest(), text, channels, tuple(rules),
                   tuple(maintenance), delivery, lookback)


def _unknown_keys(item: dict, allowed: set[str], where: str, problems: list[str]) -> None:
    for key in sorted(set(item) - allowed):
        problems.append(f"{where}: unknown field {key!r} (allowed: {', '.join(sorted(allowed))})")


def _duration(value: Any, where: str, problems: list[str]) -> dt.timedelta:
    try:
        return parse_duration(value)
    except ValueError as e:
        problems.append(f"{where}: {e}")
        return dt.timedelta(0)


def _channels(raw: Any, problems: list[str]) -> dict[str, Channel]:
    if not isinstance(raw, dict) or not raw:
        problems.append("channels: expected a non-empty mapping of channel name -> settings")
        return {}
    channels = {}
    for name, item in raw.items():
        where = f"channel {name!r}"
        if not isinstance(item, dict) or item.get("type") not in CHANNEL_FIELDS:
            problems.append(f"{where}: 'type' must be one of {', '.join(CHANNEL_FIELDS)}")
            continue
        required, optional = CHANNEL_FIELDS[item["type"]]
        _unknown_keys(item, {"type", "timeout", *required, *optional}, where, problems)
        for key in required:
            if item.get(key) in (None, "", []):
                problems.append(f"{where}: {item['type']} channels need {key!r}")
        timeout = _duration(item.get("timeout", "10s"), f"{where}: timeout", problems)
        settings = {k: v for k, v in item.items() if k not in ("type", "timeout")}
        channels[name] = Channel(name, item["type"], timeout.total_seconds(), settings)
    return channels


def _rules(raw: Any, channels: dict[str, Channel], problems: list[str]) -> list[Rule]:
    if not isinstance(raw, list) or not raw:
        problems.append("rules: expected a non-empty list")
        return []
    rules, seen = [], set()
    allowed = {"name", "description", "metric", "source", "scope", "entities", "condition",
               "severity", "channels", "cooldown", "escalation"}
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.append(f"rules[{i}]: every rule needs a 'name'")
            continue
        where = f"rule {item['name']!r}"
        if item["name"] in seen:
            problems.append(f"{where}: the name is used twice")
        seen.add(item["name"])
        _unknown_keys(item, allowed, where, problems)
        rule = _rule(item, where, channels, problems)
        if rule is not None:
            rules.append(rule)
    return rules


def _rule(item: dict, where: str, channels: dict[str, Channel],
          problems: list[str]) -> Rule | None:
    metric, source = item.get("metric"), item.get("source")
    if (metric is None) == (source is None):
        problems.append(f"{where}: give exactly one of 'metric' or 'source'")
        return None
    if metric is not None and metric not in METRICS:
        problems.append(f"{where}: unknown metric {metric!r} (known: {', '.join(sorted(METRICS))})")
        return None
    if source is not None and (not isinstance(source, str) or not source.strip()):
        problems.append(f"{where}: 'source' must be a non-empty name or '*'")
        return None
    scope = item.get("scope", "global")
    if scope not in SCOPES:
        problems.append(f"{where}: scope {scope!r} is not one of {', '.join(SCOPES)}")
    elif metric is not None and scope not in ("global", METRICS[metric].scope):
        problems.append(f"{where}: metric {metric} may be scoped global or "
                        f"{METRICS[metric].scope}, not {scope}")
    entities = item.get("entities") or []
    if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
        problems.append(f"{where}: 'entities' must be a list of entity names")
        entities = []
    condition = _condition(item.get("condition"), metric, where, problems)
    severity = item.get("severity")
    if severity is None and metric is not None:
        problems.append(f"{where}: metric rules need a severity ({', '.join(SEVERITIES)})")
    elif severity is not None and severity not in SEVERITIES:
        problems.append(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    rule_channels = tuple(item.get("channels") or ())
    if not rule_channels:
        problems.append(f"{where}: needs at least one channel")
    for c in rule_channels:
        if c not in channels:
            problems.append(f"{where}: unknown channel {c!r} (defined: {', '.join(channels)})")
    cooldown = _duration(item.get("cooldown", "1h"), f"{where}: cooldown", problems)
    escalation = _escalation(item.get("escalation"), severity, where, channels, problems)
    return Rule(item["name"], str(item.get("description", "")), metric, source, scope,
                tuple(entities), condition, severity, rule_channels, cooldown, escalation)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _condition(raw: Any, metric: str | None, where: str, problems: list[str]) -> Condition:
    if not isinstance(raw, dict) or raw.get("type") not in CONDITIONS:
        problems.append(f"{where}: condition needs a 'type' among {', '.join(CONDITIONS)}")
        return Condition("event")
    kind = raw["type"]
    if (kind in METRIC_CONDITIONS) != (metric is not None):
        problems.append(f"{where}: condition {kind} applies to "
                        + ("metric rules" if kind in METRIC_CONDITIONS else "source rules"))
    fields = {"threshold": {"op", "value"}, "pattern": {"patterns", "min_score"},
              "anomaly_score": {"min_score"}, "event": {"min_severity"}}[kind]
    _unknown_keys(raw, {"type", *fields}, f"{where}: condition", problems)
    if kind == "threshold":
        value = _number(raw.get("value"))
        if raw.get("op") not in OPERATORS:
            problems.append(f"{where}: threshold op must be one of {' '.join(OPERATORS)}")
        lo, hi = metric_bounds(metric or "")
        if value is None:
            problems.append(f"{where}: bad threshold {raw.get('value')!r}: not a finite number")
        elif not lo <= value <= hi:
            problems.append(f"{where}: bad threshold {value}: {metric} lies in [{lo}, {hi}]")
        return Condition(kind, op=raw.get("op"), value=value)
    min_score = None
    if kind in ("pattern", "anomaly_score"):
        min_score = _number(raw.get("min_score", 0.0 if kind == "pattern" else None))
        if min_score is None or not 0 <= min_score <= 1 or (kind == "anomaly_score"
                                                             and min_score == 0):
            problems.append(f"{where}: min_score {raw.get('min_score')!r} must be a number in "
                            "(0, 1]" if kind == "anomaly_score" else
                            f"{where}: min_score {raw.get('min_score')!r} must be in [0, 1]")
    if kind == "pattern":
        patterns = raw.get("patterns")
        if not isinstance(patterns, list) or not patterns:
            problems.append(f"{where}: 'patterns' must list some of {', '.join(PATTERNS)}")
            patterns = []
        for p in patterns:
            if p not in PATTERNS:
                problems.append(f"{where}: unknown pattern {p!r} (known: {', '.join(PATTERNS)})")
        return Condition(kind, patterns=tuple(patterns), min_score=min_score)
    if kind == "anomaly_score":
        return Condition(kind, min_score=min_score)
    min_severity = raw.get("min_severity", "info")
    if min_severity not in SEVERITIES:
        problems.append(f"{where}: min_severity {min_severity!r} is not one of "
                        f"{', '.join(SEVERITIES)}")
    return Condition(kind, min_severity=min_severity)


def _escalation(raw: Any, severity: str | None, where: str, channels: dict[str, Channel],
                problems: list[str]) -> Escalation | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: escalation must be a mapping (after, within, severity, "
                        "add_channels)")
        return None
    where = f"{where}: escalation"
    _unknown_keys(raw, {"after", "within", "severity", "add_channels"}, where, problems)
    after = raw.get("after")
    if isinstance(after, bool) or not isinstance(after, int) or after < 2:
        problems.append(f"{where}: 'after' must be a whole number >= 2 (occurrences)")
        after = 2
    within = _duration(raw.get("within"), f"{where}: within", problems)
    esc_severity = raw.get("severity", "critical")
    add = tuple(raw.get("add_channels") or ())
    if esc_severity not in SEVERITIES:
        problems.append(f"{where}: severity {esc_severity!r} is not one of {', '.join(SEVERITIES)}")
    elif (severity in SEVERITIES and SEVERITY_RANK[esc_severity] < SEVERITY_RANK[severity]):
        problems.append(f"{where}: severity {esc_severity} is lower than the rule's {severity}")
    for c in add:
        if c not in channels:
            problems.append(f"{where}: unknown channel {c!r} (defined: {', '.join(channels)})")
    if esc_severity == severity and not add:
        problems.append(f"{where}: neither raises the severity nor adds a channel")
    return Escalation(after, within, esc_severity, add)


def _maintenance(raw: Any, problems: list[str]) -> list[Maintenance]:
    if not isinstance(raw, list):
        problems.append("maintenance: expected a list of windows")
        return []
    windows = []
    for i, item in enumerate(raw, start=1):
        name = item.get("name", f"#{i}") if isinstance(item, dict) else f"#{i}"
        where = f"maintenance {name!r}"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping (name, cron, duration, metrics)")
            continue
        _unknown_keys(item, {"name", "cron", "duration", "metrics"}, where, problems)
        cron = item.get("cron")
        if not isinstance(cron, str) or not croniter.is_valid(cron) or len(cron.split()) != 5:
            problems.append(f"{where}: bad cron {cron!r}: expected five fields, such as "
                            "'0 3 * * 0'")
        duration = _duration(item.get("duration"), f"{where}: duration", problems)
        metrics = tuple(item.get("metrics") or ())
        for m in metrics:
            if m not in METRICS:
                problems.append(f"{where}: unknown metric {m!r}")
        windows.append(Maintenance(str(name), str(cron), duration, metrics))
    return windows


def _delivery(raw: Any, problems: list[str]) -> Delivery:
    if not isinstance(raw, dict):
        problems.append("delivery: expected a mapping")
        return Delivery()
    _unknown_keys(raw, {"max_attempts", "backoff_base", "backoff_max", "batch_size", "workers"},
                  "delivery", problems)
    ints = {}
    for key, default in (("max_attempts", 5), ("batch_size", 200), ("workers", 16)):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"delivery: {key} must be a whole number >= 1")
            value = default
        ints[key] = value
    base = _duration(raw.get("backoff_base", "30s"), "delivery: backoff_base", problems)
    top = _duration(raw.get("backoff_max", "1h"), "delivery: backoff_max", problems)
    if top < base:
        problems.append("delivery: backoff_max is shorter than backoff_base")
    return Delivery(ints["max_attempts"], base, top, ints["batch_size"], ints["workers"])
