"""Ingest: one asset per raw table (landing files -> raw.<table>) and its expectation checks."""
