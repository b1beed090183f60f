"""Fault injection for the sandbox: latency, jitter, rate limits, 5xx answers, dropped connections,
and scripted faults ("cues") for given requests.

Faults apply to ``/v1/*`` requests only; the ``/__sandbox/*`` helper endpoints are never slowed,
limited or broken. Every random decision comes from one seeded RNG guarded by a lock, so a run
with the same seed and the same request order makes the same decisions.

Cues make a fault happen exactly where a test wants it, without randomness or timing: each cue
``KIND:COUNT[@PATH]`` applies to the next ``COUNT`` ``/v1`` requests (to ``PATH`` only, when
given). A request takes the first cue, in the order given, that matches it and has requests
left; ``ok`` cues let requests through, so ``ok:5@P`` then ``stall:1@P`` stalls the sixth
request to ``P``. Every cued fault costs a client exactly one retry.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

Clock = Callable[[], float]


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, holding at most ``burst`` tokens.

    The clock is injectable so tests can move time by hand instead of sleeping.
    """

    def __init__(self, rate: float, *, burst: float | None = None, clock: Clock = time.monotonic):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.rate = rate
        # NOTE: the burst is one second's worth of requests (at least one), which is what a
        # client sees from Stripe's per-second limits.
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take one token if one is available; never blocks."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._last = now
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class RateLimiter:
    """A global bucket and/or one bucket per endpoint; a request needs a token from each."""

    def __init__(
        self,
        *,
        global_rate: float | None = None,
        endpoint_rate: float | None = None,
        clock: Clock = time.monotonic,
    ):
        self._clock = clock
        self._global = TokenBucket(global_rate, clock=clock) if global_rate else None
        self._endpoint_rate = endpoint_rate
        self._endpoints: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def _endpoint_bucket(self, endpoint: str) -> TokenBucket | None:
        if not self._endpoint_rate:
            return None
        with self._lock:
            bucket = self._endpoints.get(endpoint)
            if bucket is None:
                bucket = TokenBucket(self._endpoint_rate, clock=self._clock)
                self._endpoints[endpoint] = bucket
            return bucket

    def allow(self, endpoint: str) -> bool:
        """True when the request may proceed, False when it must be answered with a 429."""
        return self.refusal(endpoint) is None

    def refusal(self, endpoint: str) -> str | None:
        """None when the request may proceed, else the limit it hit (`endpoint-rate`,
        `global-rate`: Stripe's Stripe-Rate-Limited-Reason)."""
        # The endpoint limit is checked first so a request refused by its endpoint does not
        # also consume a global token.
        bucket = self._endpoint_bucket(endpoint)
        if bucket is not None and not bucket.try_acquire():
            return "endpoint-rate"
        if self._global is not None and not self._global.try_acquire():
            return "global-rate"
        return None


CUE_KINDS: Final = (
    "ok", "stall", "drop", "429", "429-global", "429-concurrency", "lock-timeout", "500", "503"
)  # fmt: skip
"""``ok``: no scripted fault; ``stall``: hold the request without an answer until the client
gives up (closes the connection) or the sandbox stops; ``drop``: close the connection without an
answer; ``429``: Stripe's rate_limit error for the endpoint's rate (``Stripe-Rate-Limited-Reason:
endpoint-rate``), ``429-global`` for the global rate, ``429-concurrency`` for too many requests
in flight (``endpoint-concurrency``); ``lock-timeout``: a 429 ``lock_timeout`` without a reason
(not a rate limit); ``500``/``503``: an api_error."""


@dataclass(frozen=True, slots=True)
class Cue:
    """A scripted fault for the next ``count`` ``/v1`` requests (to ``path``, if given).

    ``path`` is an endpoint as the stats name it without the method
    (``/v1/financial_connections/accounts/{id}``) or one concrete path
    (``/v1/financial_connections/accounts/fca_123``).
    """

    kind: str
    count: int
    path: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CUE_KINDS:
            raise ValueError(f"cue kind must be one of {', '.join(CUE_KINDS)}, not {self.kind!r}")
        if self.count < 1:
            raise ValueError(f"a cue needs a count of at least 1, got {self.count!r}")
        if self.path is not None and not self.path.startswith("/v1/"):
            raise ValueError(f"a cue's path must start with /v1/, got {self.path!r}")

    @classmethod
    def parse(cls, text: str) -> Cue:
        """``KIND:COUNT[@PATH]``, e.g. ``stall:3@/v1/financial_connections/accounts``."""
        spec, at, path = text.strip().partition("@")
        kind, colon, count = spec.partition(":")
        if not colon or not count.strip().isdigit():
            raise ValueError(f"{text!r} is not KIND:COUNT[@PATH] (e.g. 503:2@/v1/customers)")
        return cls(kind.strip(), int(count), path.strip() if at else None)

    def __str__(self) -> str:
        return f"{self.kind}:{self.count}" + (f"@{self.path}" if self.path else "")

    def matches(self, endpoint: str, path: str) -> bool:
        """Whether the cue applies to a request to ``path`` (routed to ``endpoint``); a cue
        without a path applies to every ``/v1`` request."""
        return self.path is None or self.path in (endpoint, path)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What the sandbox should do to ``/v1/*`` requests."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_limit: float | None = None
    endpoint_rate_limit: float | None = None
    error_rate: float = 0.0
    drop_rate: float = 0.0
    # The share of first attempts (a URL not asked for before) answered with a lock timeout,
    # and the share answered with an endpoint-concurrency 429.
    lock_timeout_rate: float = 0.0
    concurrency_429_rate: float = 0.0
    # Requests in flight to one endpoint beyond this are answered endpoint-concurrency 429s.
    max_in_flight: int | None = None
    seed: int = 42
    cues: tuple[Cue, ...] = ()

    def __post_init__(self) -> None:
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {self.max_in_flight!r}")
        for name in ("error_rate", "drop_rate", "lock_timeout_rate", "concurrency_429_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        for name in ("latency_ms", "jitter_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("rate_limit", "endpoint_rate_limit"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value!r}")


class FaultInjector:
    """Makes the per-request fault decisions for one running sandbox."""

    def __init__(self, config: FaultConfig, *, clock: Clock = time.monotonic):
        self.config = config
        self._rng = random.Random(f"faults:{config.seed}")
        self._lock = threading.Lock()
        self.limiter = RateLimiter(
            global_rate=config.rate_limit, endpoint_rate=config.endpoint_rate_limit, clock=clock
        )
        self._cues_left = [cue.count for cue in config.cues]
        self._asked: set[str] = set()  # URLs requested before (for lock_timeout_rate)
        self._in_flight: dict[str, int] = {}

    def first_attempt(self, url: str) -> str | None:
        """For the first request for `url`: `lock-timeout` or `429-concurrency` when it is to
        be refused so (`lock_timeout_rate`, `concurrency_429_rate` of first attempts), else
        None; a retry of the same URL goes through."""
        lock, busy = self.config.lock_timeout_rate, self.config.concurrency_429_rate
        if lock <= 0.0 and busy <= 0.0:
            return None
        with self._lock:
            if url in self._asked:
                return None
            self._asked.add(url)
            draw = self._rng.random()
        if draw < lock:
            return "lock-timeout"
        return "429-concurrency" if draw < lock + busy else None

    @contextlib.contextmanager
    def in_flight(self, endpoint: str) -> Iterator[bool]:
        """Count a request in flight to `endpoint` while it is answered; yields False when
        that makes more than `max_in_flight` (the request is to get a concurrency 429)."""
        with self._lock:
            busy = self._in_flight.get(endpoint, 0) + 1
            self._in_flight[endpoint] = busy
        try:
            limit = self.config.max_in_flight
            yield limit is None or busy <= limit
        finally:
            with self._lock:
                self._in_flight[endpoint] -= 1

    def cue(self, endpoint: str, path: str) -> str | None:
        """The scripted fault for this request (a kind of :data:`CUE_KINDS` other than ``ok``),
        or None. ``endpoint`` is the path template, ``path`` the request's own path."""
        with self._lock:
            for i, cue in enumerate(self.config.cues):
                if self._cues_left[i] and cue.matches(endpoint, path):
                    self._cues_left[i] -= 1
                    return None if cue.kind == "ok" else cue.kind
        return None

    def cues_left(self) -> list[str]:
        """The cues not used up yet, with the requests they have left (``503:1@/v1/…``)."""
        with self._lock:
            return [
                str(Cue(cue.kind, left, cue.path))
                for cue, left in zip(self.config.cues, self._cues_left, strict=True)
                if left
            ]

    def _random(self) -> float:
        with self._lock:
            return self._rng.random()

    def delay_seconds(self) -> float:
        """Latency plus uniform jitter for one request, in seconds (0 when not configured)."""
        cfg = self.config
        if not cfg.latency_ms and not cfg.jitter_ms:
            return 0.0
        jitter = self._random() * cfg.jitter_ms if cfg.jitter_ms else 0.0
        return (cfg.latency_ms + jitter) / 1000.0

    def should_drop(self) -> bool:
        """True when the connection must be closed without sending any bytes."""
        rate = self.config.drop_rate
        return rate >= 1.0 or (rate > 0.0 and self._random() < rate)

    def error_status(self) -> int | None:
        """500 or 503 when this request should fail with an injected api_error, else None."""
        rate = self.config.error_rate
        if rate <= 0.0:
            return None
        with self._lock:
            hit = rate >= 1.0 or self._rng.random() < rate
            if not hit:
                return None
            return 500 if self._rng.random() < 0.5 else 503

    def allow(self, endpoint: str) -> bool:
        """Rate-limit check for one request to ``endpoint``."""
        return self.limiter.allow(endpoint)

    def refusal(self, endpoint: str) -> str | None:
        """The rate limit this request exceeds, as Stripe-Rate-Limited-Reason names it
        (`endpoint-rate`, `global-rate`), or None when it may proceed."""
        return self.limiter.refusal(endpoint)
