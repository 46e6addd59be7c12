"""Insights domain: ranked, templated insights per client from every analytics group."""
