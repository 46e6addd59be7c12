"""Display names of platforms and marketing channels in insight sentences."""

from __future__ import annotations

import polars as pl

CHANNEL_NAMES: dict[str, str] = {
    "instagram": "Instagram", "tiktok": "TikTok", "youtube": "YouTube", "linkedin": "LinkedIn",
    "twitter": "X (Twitter)", "facebook": "Facebook", "email": "Email", "paid_search": "Paid search",
    "organic_search": "Organic search", "referral": "Referrals", "direct": "Direct visits",
}


def channel_name(column: str) -> pl.Expr:
    """The display name of the platform or channel in ``column`` (an unknown code as it is)."""
    return pl.col(column).replace(CHANNEL_NAMES)
