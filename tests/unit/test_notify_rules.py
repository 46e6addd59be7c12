"""The alert rules file: the shipped one is valid, and every kind of bad input is refused with
an error naming the rule and the field (all problems at once, not the first only)."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from dagster_project.analytics.monitoring.metric_catalog import METRICS
from dagster_project.notify.rules import (
    RULES_FILE,
    RulesError,
    load_rules,
    metric_bounds,
    parse_duration,
    parse_rules,
)

SHIPPED = yaml.safe_load(RULES_FILE.read_text())


def with_rule(**changes) -> str:
    """The shipped file with its first rule changed (a key set to None is removed)."""
    doc = yaml.safe_load(RULES_FILE.read_text())
    rule = doc["rules"][0]
    for key, value in changes.items():
        if value is None:
            rule.pop(key, None)
        else:
            rule[key] = value
    return yaml.safe_dump(doc)


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as e:
        parse_rules(text, "rules.yml")
    return e.value.problems


def test_the_shipped_rules_file_is_valid_and_names_only_catalog_metrics():
    rules = load_rules()
    assert len(rules.rules) == len(SHIPPED["rules"])
    assert {r.metric for r in rules.rules if r.metric} <= set(METRICS)
    assert all(c in rules.channels for r in rules.rules for c in r.channels)
    assert rules.rule("api-latency-anomaly").escalation.within == dt.timedelta(hours=6)


def test_the_version_is_the_sha256_of_the_text():
    import hashlib

    text = RULES_FILE.read_text()
    assert load_rules().version == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("text,expected", [
    ("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1 h", 3600)])
def test_durations_are_read_by_their_unit(text, expected):
    assert parse_duration(text) == dt.timedelta(seconds=expected)


@pytest.mark.parametrize("bad", ["0m", "5", "1w", "-1h", "", 30, None, "1.5h"])
def test_bad_durations_are_refused(bad):
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(bad)


def test_a_misspelt_metric_is_named_with_the_known_ones():
    (p,) = problems(with_rule(metric="api_latncy_p95_ms"))
    assert "rule 'api-latency-anomaly'" in p and "unknown metric 'api_latncy_p95_ms'" in p
    assert "api_latency_p95_ms" in p  # the known names are listed


def test_an_unknown_channel_is_named():
    (p,) = problems(with_rule(channels=["ops-webhook", "pager"]))
    assert "unknown channel 'pager'" in p


def test_an_escalation_to_an_unknown_channel_is_named():
    (p,) = problems(with_rule(escalation={"after": 3, "within": "6h", "severity": "critical",
                                          "add_channels": ["pagerduty"]}))
    assert "escalation" in p and "unknown channel 'pagerduty'" in p


@pytest.mark.parametrize("value,fragment", [
    ("high", "not a finite number"), (-5, "lies in [0.0, inf]"), (float("nan"), "finite"),
    (True, "not a finite number")])
def test_bad_thresholds_are_refused(value, fragment):
    (p,) = problems(with_rule(condition={"type": "threshold", "op": ">", "value": value}))
    assert "bad threshold" in p and fragment in p


def test_a_rate_threshold_above_one_is_refused():
    text = with_rule(metric="api_error_rate", condition={"type": "threshold", "op": ">",
                                                         "value": 5})
    (p,) = problems(text)
    assert "api_error_rate lies in [0.0, 1.0]" in p


def test_metric_bounds_follow_the_unit_in_the_name():
    assert metric_bounds("host_cpu_pct") == (0.0, 100.0)
    assert metric_bounds("api_error_rate") == (0.0, 1.0)
    assert metric_bounds("tier_mrr")[1] == float("inf")


def test_an_unknown_operator_and_pattern_are_refused():
    ps = problems(with_rule(condition={"type": "threshold", "op": "=>", "value": 3}))
    assert any("op must be one of" in p for p in ps)
    (p,) = problems(with_rule(condition={"type": "pattern", "patterns": ["spike", "spiek"]}))
    assert "unknown pattern 'spiek'" in p


@pytest.mark.parametrize("score", [0, 1.5, -0.1, "high"])
def test_anomaly_scores_outside_zero_one_are_refused(score):
    (p,) = problems(with_rule(condition={"type": "anomaly_score", "min_score": score}))
    assert "min_score" in p


@pytest.mark.parametrize("cron", ["0 3 * *", "61 * * * *", "every sunday", "0 3 * * 8"])
def test_a_bad_cron_is_refused(cron):
    doc = yaml.safe_load(RULES_FILE.read_text())
    doc["maintenance"][0]["cron"] = cron
    (p,) = problems(yaml.safe_dump(doc))
    assert "maintenance 'sunday-patching'" in p and "bad cron" in p


def test_a_bad_cooldown_is_refused():
    (p,) = problems(with_rule(cooldown="an hour"))
    assert "cooldown" in p and "bad duration 'an hour'" in p


def test_a_scope_the_metric_does_not_allow_is_refused():
    (p,) = problems(with_rule(scope="client"))  # api latency is fleet-wide: global only
    assert "may be scoped global or global, not client" in p


def test_a_client_rule_on_a_client_metric_is_accepted():
    rules = parse_rules(with_rule(metric="client_daily_revenue", scope="client",
                                  entities=["c_0001"]))
    assert rules.rules[0].entities == ("c_0001",)


def test_an_escalation_that_changes_nothing_is_refused():
    (p,) = problems(with_rule(severity="critical", escalation={
        "after": 3, "within": "6h", "severity": "critical"}))
    assert "neither raises the severity nor adds a channel" in p


def test_a_typo_in_a_field_name_is_refused():
    (p,) = problems(with_rule(cooldwn="1h"))
    assert "unknown field 'cooldwn'" in p


def test_every_problem_is_listed_at_once():
    doc = yaml.safe_load(RULES_FILE.read_text())
    doc["rules"][0]["metric"] = "nope"
    doc["rules"][1]["channels"] = ["nowhere"]
    doc["maintenance"][0]["duration"] = "forever"
    ps = problems(yaml.safe_dump(doc))
    assert len(ps) == 3
    assert {"unknown metric 'nope'", "unknown channel 'nowhere'", "bad duration 'forever'"} == {
        next(f for f in ("unknown metric 'nope'", "unknown channel 'nowhere'",
                         "bad duration 'forever'") if f in p) for p in ps}


def test_a_channel_without_its_address_variable_is_refused():
    doc = yaml.safe_load(RULES_FILE.read_text())
    del doc["channels"]["ops-webhook"]["url_env"]
    (p,) = problems(yaml.safe_dump(doc))
    assert "channel 'ops-webhook'" in p and "url_env" in p


def test_invalid_yaml_is_a_rules_error():
    (p,) = problems("rules: [unclosed")
    assert "not valid YAML" in p


def test_a_metric_rule_needs_exactly_one_of_metric_and_source():
    (p,) = problems(with_rule(source="experiments"))
    assert "exactly one of 'metric' or 'source'" in p
