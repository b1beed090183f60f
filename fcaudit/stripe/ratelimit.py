"""Client-side request budget: a global and a per-endpoint rate, adaptive to 429s.

Each rate is a GCRA bucket (a token bucket expressed as a "theoretical arrival time"), which
lets `reserve()` compute, under one lock, the earliest moment a request may start on *both*
the global and its endpoint's bucket, book that moment, and hand the caller the delay to sleep
outside the lock. The clock is injected, so the limiter is tested without sleeping.

Adapting to 429s. When the server's real limit is far below the configured budget (another
integration shares the account, or the account's limits were lowered), creeping back by a
step per success overshoots again within a second and the run oscillates, with a 429 storm at
every peak. Instead, on a 429 each bucket:

1. estimates the server's limit as the rate at which *successes* arrived over the last second
   (while we are over the limit that is the limit itself: Stripe counts requests per second),
   bounded to [a quarter, all] of the rate in force, so one odd 429 can't stall the run;
2. drops to a margin below that estimate (the "ceiling");
3. recovers *per unit of time*, not per success: back up to the ceiling within a few seconds,
   then probes above it slowly (a few percent per second, compounding), so a steady limit is
   tracked with a 429 every ten seconds or so, and a lifted one is found again in a minute;
4. ignores further 429s for a short cool-down: they answer requests sent before the cut.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# The server's limit is estimated from the successes seen over this window (seconds).
WINDOW = 1.0
# After a cut, the rate restarts this far below the estimated limit ...
MARGIN = 0.8
# ... and a single cut never takes away more than this share of the rate in force.
MAX_CUT = 0.25
# 429s within this many seconds of a cut answer requests sent at the old rate: not a new signal.
COOLDOWN = 0.5
# Back to the estimated limit with this time constant (seconds) ...
SETTLE_SECONDS = 2.0
# ... then probe above it, compounding at this rate per second.
PROBE_PER_SECOND = 0.02
# The rate never drops below this many requests per second (or the budget, when smaller).
MIN_RPS = 0.5


@dataclass
class _Bucket:
    max_rate: float  # requests per second at full speed (the configured budget)
    burst_seconds: float  # requests allowed back to back = rate * burst_seconds (at least 1)
    tat: float = 0.0  # theoretical arrival time of the next request
    # Adaptation: None until the first 429, then the estimated server limit.
    ceiling: float | None = None
    restart: float = 0.0  # the rate right after the last cut
    cut_at: float = 0.0  # when the last cut happened
    successes: deque[float] = field(default_factory=deque)  # times, within WINDOW

    def rate(self, now: float) -> float:
        """The rate in force at `now`: the budget, or the recovery curve after a 429."""
        if self.ceiling is None:
            return self.max_rate
        elapsed = max(0.0, now - self.cut_at)
        target = self.ceiling * math.exp(PROBE_PER_SECOND * elapsed)
        rate = target - (self.ceiling - self.restart) * math.exp(-elapsed / SETTLE_SECONDS)
        if rate >= self.max_rate:
            self.ceiling = None  # fully recovered: back to the plain budget
            return self.max_rate
        return rate

    def earliest(self, now: float, rate: float) -> float:
        interval = 1.0 / rate
        tolerance = (max(1.0, rate * self.burst_seconds) - 1) * interval
        start = self.tat - tolerance
        return now if start <= now + 1e-9 else start  # 1e-9: float noise is not a wait

    def book(self, start: float, rate: float) -> None:
        self.tat = max(self.tat, start) + 1.0 / rate

    def succeeded(self, now: float) -> None:
        self.successes.append(now)
        self._forget(now)

    def _forget(self, now: float) -> None:
        while self.successes and self.successes[0] <= now - WINDOW:
            self.successes.popleft()

    def throttled(self, now: float) -> None:
        if self.ceiling is not None and now - self.cut_at < COOLDOWN:
            return
        current = self.rate(now)
        self._forget(now)
        delivered = len(self.successes) / WINDOW
        self.ceiling = min(current, max(delivered, current * MAX_CUT))
        self.restart = max(min(MIN_RPS, self.max_rate), self.ceiling * MARGIN)
        self.cut_at = now


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
        return _Bucket(max_rate=rps, burst_seconds=self._burst_seconds)

    def _endpoint(self, endpoint: str) -> _Bucket | None:
        if not self._endpoint_rps:
            return None
        bucket = self._endpoints.get(endpoint)
        if bucket is None:
            bucket = self._endpoints[endpoint] = self._bucket(self._endpoint_rps)
        return bucket

    def _buckets(self, endpoint: str) -> list[_Bucket]:
        own = self._endpoint(endpoint)
        return [b for b in (self._global, own) if b is not None]

    def reserve(self, endpoint: str) -> float:
        """Book the next slot for `endpoint`; return how long to wait before sending."""
        with self._lock:
            now = self._clock()
            buckets = [(b, b.rate(now)) for b in self._buckets(endpoint)]
            start = max([now, *(b.earliest(now, rate) for b, rate in buckets)])
            for b, rate in buckets:
                b.book(start, rate)
            return start - now

    def throttled(self, endpoint: str, *, global_scope: bool = False) -> None:
        """A 429 arrived: slow the endpoint, or the global rate when Stripe said so.

        Without a reason (`Stripe-Rate-Limited-Reason`), the endpoint is slowed: with
        per-endpoint limits below the global one, that is the limit a busy endpoint hits.
        """
        with self._lock:
            now = self._clock()
            own = self._endpoint(endpoint)
            if global_scope and self._global is not None:
                self._global.throttled(now)
            elif own is not None:
                own.throttled(now)
            elif self._global is not None:
                self._global.throttled(now)

    def succeeded(self, endpoint: str) -> None:
        """A request got its answer: counts towards the delivered rate the next 429 measures."""
        with self._lock:
            now = self._clock()
            for b in self._buckets(endpoint):
                b.succeeded(now)

    def current_rps(self, endpoint: str | None = None) -> float | None:
        """The rate in force now (global when no endpoint is named)."""
        with self._lock:
            now = self._clock()
            b = self._global if endpoint is None else self._endpoint(endpoint) or self._global
            return None if b is None else b.rate(now)
