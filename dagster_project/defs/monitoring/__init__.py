"""Monitoring domain: anomaly detection over the metric catalog (detection), alerts (alerting)."""
