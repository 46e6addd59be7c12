"""Audit: the hourly verification of the audit log's hash chain."""
