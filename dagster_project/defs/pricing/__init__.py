"""Pricing: elasticity, demand, competitive position, recommendations and the approval workflow."""
