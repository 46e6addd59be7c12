"""Performance domain: SLO availability and burn rates, latency, content generation, status."""
