"""Usage domain: platform summaries and trends, adoption, feature effects, automation savings,
posting recommendations."""
