"""Per-token rate limiting: a token bucket per key.

Each key's bucket holds up to ``burst`` tokens and refills at ``rate`` per second; a request
takes one. An empty bucket refuses the request with the time until one token is back, which
the API returns as ``Retry-After`` (whole seconds, rounded up) on a 429. The classic token
bucket (e.g. Tanenbaum, Computer Networks, 5.3.3): a sustained ``rate`` with bursts of
``burst``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    rate: float  # tokens per second
    burst: int  # capacity
    clock: callable = time.monotonic
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (level, at)

    def __post_init__(self):
        if self.rate <= 0:
            raise ValueError(f"rate must be > 0, got {self.rate}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst}")

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when granted, else the seconds until one is back."""
        now = self.clock()
        level, at = self._state.get(key, (float(self.burst), now))
        level = min(float(self.burst), level + (now - at) * self.rate)
        if level >= 1.0:
            self._state[key] = (level - 1.0, now)
            return 0.0
        self._state[key] = (level, now)
        return (1.0 - level) / self.rate
