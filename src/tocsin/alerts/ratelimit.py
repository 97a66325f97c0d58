"""A token bucket per key (an integration, a client address): a burst, then a steady rate.
Pure: time is passed in.

Each server process keeps its own buckets (in memory): with N processes an integration may
send up to N times the configured rate. That is the point of a rate limit here: to keep a
runaway source from flooding the database, not to meter exactly.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class TokenBucket:
    rate: float
    """Tokens added per second."""
    burst: int
    """The most tokens the bucket holds (and it starts full)."""
    tokens: float = field(init=False)
    updated: datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self, now: datetime) -> float:
        """Take a token: 0.0 when granted, else the seconds until one is there."""
        if self.updated is not None and now > self.updated:
            elapsed = (now - self.updated).total_seconds()
            self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """Buckets by key (an integration id, a client IP, ...); a change of rate or burst
    starts that bucket afresh."""

    #: Buckets kept at most (integrations not heard from for long are forgotten first).
    MAX_BUCKETS = 10_000

    def __init__(self) -> None:
        self._buckets: dict[Hashable, TokenBucket] = {}

    def take(self, key: Hashable, rate: float, burst: int, now: datetime) -> float:
        """0.0 when the event may pass, else the seconds to wait (for ``Retry-After``)."""
        bucket = self._buckets.pop(key, None)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = TokenBucket(rate, burst)
            if len(self._buckets) >= self.MAX_BUCKETS:
                self._buckets.pop(next(iter(self._buckets)))
        self._buckets[key] = bucket  # most recently used last
        return bucket.take(now)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
