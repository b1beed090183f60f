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

Only a 429 that says it is about the *rate* does that. Stripe names the limit a 429 hit in
`Stripe-Rate-Limited-Reason` (https://docs.stripe.com/rate-limits): `global-rate` slows the
global rate, `endpoint-rate` the endpoint's; `global-concurrency` and `endpoint-concurrency`
lower the requests in flight instead (`InFlight`) to what the server was serving, and time
raises them back slowly; and `resource-specific`, a 429 without the header (Stripe's
example: a lock timeout, `error.code: lock_timeout`, which its SDKs retry) or with a reason
fcaudit does not know is retried with backoff and slows nothing. Every rate keeps its floor
(`MIN_RPS`, or the budget when smaller) at all times, and every in-flight limit at least one
request.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fcaudit.stripe.facts import CONCURRENCY_REASONS, RATE_REASONS, REASONS
from fcaudit.stripe.failures import Cancelled

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
# An in-flight limit lowered by a concurrency 429 comes back by one request this often: each
# step above the server's limit costs one 429, so the probe is slow.
RECOVER_SECONDS = 5.0


def reason_of(header: str | None) -> str:
    """The 429's reason as one of `REASONS` (an unknown or missing one is `none`)."""
    value = (header or "").strip().lower()
    return value if value in REASONS else "none"


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
        # The floor holds for the estimate too: cut after cut must not decay the rate to one
        # request every few seconds.
        floor = min(MIN_RPS, self.max_rate)
        self.ceiling = max(floor, min(current, max(delivered, current * MAX_CUT)))
        self.restart = max(floor, self.ceiling * MARGIN)
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

    def throttled(self, endpoint: str, reason: str) -> bool:
        """A 429 arrived with `reason` (see `reason_of`): a rate reason slows the rate it names
        (the other level when that one is off); any other reason slows nothing. True when a
        rate was slowed."""
        if reason not in RATE_REASONS:
            return False
        with self._lock:
            now = self._clock()
            own = self._endpoint(endpoint)
            first, second = (self._global, own) if reason == "global-rate" else (own, self._global)
            bucket = first if first is not None else second
            if bucket is None:
                return False
            bucket.throttled(now)
            return True

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


@dataclass
class _Slots:
    """One in-flight limit: how many requests may be out at once, and how many are."""

    ceiling: int  # the most it ever allows (the run's concurrency)
    limit: float = 0.0
    busy: int = 0
    changed_at: float = 0.0

    def __post_init__(self) -> None:
        self.limit = float(self.ceiling)

    def allowed(self, now: float) -> int:
        """The limit at `now`: one more request for every RECOVER_SECONDS since the last
        change, up to the ceiling."""
        if self.limit < self.ceiling:
            steps = int((now - self.changed_at) / RECOVER_SECONDS)
            if steps > 0:
                self.limit = min(float(self.ceiling), self.limit + steps)
                self.changed_at += steps * RECOVER_SECONDS
        return max(1, int(self.limit))

    def cut(self, now: float) -> None:
        """Stripe said too many are in flight: allow what the server was still serving when
        it refused this one (the others out now), at least one."""
        if self.limit < self.ceiling and now - self.changed_at < COOLDOWN:
            return  # answers to requests sent before the last cut
        self.limit = max(1.0, min(self.limit, float(self.busy)))
        self.changed_at = now


class InFlight:
    """Requests in flight at most, globally and per endpoint: the run's concurrency, lowered
    by Stripe's concurrency 429s (`global-concurrency`, `endpoint-concurrency`) and raised
    back by one request every RECOVER_SECONDS. List calls are heavy, so an endpoint can hit
    Stripe's concurrency limiter well below the rate limit."""

    def __init__(self, concurrency: int, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._ceiling = max(1, concurrency)
        self._global = _Slots(self._ceiling)
        self._endpoints: dict[str, _Slots] = {}

    def _endpoint(self, endpoint: str) -> _Slots:
        slots = self._endpoints.get(endpoint)
        if slots is None:
            slots = self._endpoints[endpoint] = _Slots(self._ceiling)
        return slots

    @contextlib.contextmanager
    def slot(self, endpoint: str, cancelled: threading.Event) -> Iterator[None]:
        """Hold one request's place while it is in flight; wait for one when none is free."""
        with self._cond:
            own = self._endpoint(endpoint)
            while True:
                now = self._clock()
                if self._global.busy < self._global.allowed(now) and own.busy < own.allowed(now):
                    break
                if cancelled.is_set():
                    raise Cancelled
                self._cond.wait(0.05)
            self._global.busy += 1
            own.busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._global.busy -= 1
                own.busy -= 1
                self._cond.notify_all()

    def throttled(self, endpoint: str, reason: str) -> bool:
        """A concurrency 429: lower the limit it names. True when one was lowered."""
        if reason not in CONCURRENCY_REASONS:
            return False
        with self._cond:
            now = self._clock()
            slots = self._global if reason == "global-concurrency" else self._endpoint(endpoint)
            slots.cut(now)
            return True

    def allowed(self, endpoint: str | None = None) -> int:
        """The in-flight limit now (global when no endpoint is named)."""
        with self._cond:
            slots = self._global if endpoint is None else self._endpoint(endpoint)
            return slots.allowed(self._clock())
