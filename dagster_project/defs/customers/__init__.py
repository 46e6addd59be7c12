"""Customers domain: RFM, clusters, lifetime value, client churn risk and health."""
