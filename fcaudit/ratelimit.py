"""Client-side request budget: a global and a per-endpoint rate, adaptive to 429s.

Each rate is a GCRA bucket (a token bucket expressed as a "theoretical arrival time"), which
lets `reserve()` compute, under one lock, the earliest moment a request may start on *both*
the global and its endpoint's bucket, book that moment, and hand the caller the delay to sleep
outside the lock. The clock is injected, so the limiter is tested without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

# Multiplicative decrease on a 429, additive recovery on each success (AIMD).
BACKOFF_FACTOR = 0.7
RECOVERY_STEP = 0.02
MIN_FACTOR = 0.1


@dataclass
class _Bucket:
    rate: float  # requests per second at full speed
    burst: float  # requests allowed back to back
    factor: float = 1.0  # current share of `rate` (lowered by 429s)
    tat: float = 0.0  # theoretical arrival time of the next request

    @property
    def interval(self) -> float:
        return 1.0 / (self.rate * self.factor)

    def earliest(self, now: float) -> float:
        tolerance = (self.burst - 1) * self.interval
        start = self.tat - tolerance
        return now if start <= now + 1e-9 else start  # 1e-9: float noise is not a wait

    def book(self, start: float) -> None:
        self.tat = max(self.tat, start) + self.interval


class RateLimiter:
    """A global rate plus one rate per endpoint; `None` disables a level."""

    def __init__(
        self,
        global_rps: float | None,
        endpoint_rps: float | None,
        *,
        clock: Callable[[], float],
        burst_seconds: float = 0.2,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._endpoint_rps = endpoint_rps
        self._burst_seconds = burst_seconds
        self._global = self._bucket(global_rps) if global_rps else None
        self._endpoints: dict[str, _Bucket] = {}

    def _bucket(self, rps: float) -> _Bucket:
        return _Bucket(rate=rps, burst=max(1.0, rps * self._burst_seconds))

    def _buckets(self, endpoint: str) -> list[_Bucket]:
        buckets = [self._global] if self._global else []
        if self._endpoint_rps:
            if endpoint not in self._endpoints:
                self._endpoints[endpoint] = self._bucket(self._endpoint_rps)
            buckets.append(self._endpoints[endpoint])
        return buckets

    def reserve(self, endpoint: str) -> float:
        """Book the next slot for `endpoint`; return how long to wait before sending."""
        with self._lock:
            now = self._clock()
            buckets = self._buckets(endpoint)
            start = max([now, *(b.earliest(now) for b in buckets)])
            for b in buckets:
                b.book(start)
            return start - now

    def throttled(self, endpoint: str, *, global_scope: bool = False) -> None:
        """A 429 arrived: slow the endpoint (and the global rate, when Stripe said so)."""
        with self._lock:
            buckets = self._buckets(endpoint)
            if not global_scope and self._endpoint_rps:
                buckets = buckets[-1:]
            for b in buckets:
                b.factor = max(MIN_FACTOR, b.factor * BACKOFF_FACTOR)

    def succeeded(self, endpoint: str) -> None:
        """Recover towards the configured rate after a success."""
        with self._lock:
            for b in self._buckets(endpoint):
                if b.factor < 1.0:
                    b.factor = min(1.0, b.factor + RECOVERY_STEP)

    def current_rps(self, endpoint: str | None = None) -> float | None:
        """The rate in force now (global when no endpoint is named)."""
        with self._lock:
            if endpoint is None:
                b = self._global
            else:
                b = self._buckets(endpoint)[-1] if self._endpoint_rps else self._global
            return None if b is None else b.rate * b.factor
