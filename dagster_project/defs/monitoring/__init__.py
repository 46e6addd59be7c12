"""Monitoring: anomaly detection, alert rules, alert lifecycle and delivery."""
