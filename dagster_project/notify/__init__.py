"""Alerting: rules, the alert lifecycle and delivery to webhook, Slack, email and SMS.

:mod:`.rules` loads and validates ``alert_rules.yml``; :mod:`.occurrences` matches every source
(``analytics.alert_events``, ``analytics.metric_anomalies``, mart thresholds) against the
rules; :mod:`.lifecycle` folds occurrences into alerts and decides what to send;
:mod:`.channels` builds and sends each channel's request; :mod:`.store` keeps the ``ops``
tables; :mod:`.deliver` delivers due notifications with retries and dead letters;
:mod:`.activity` counts the alerting per day and rule.
"""
