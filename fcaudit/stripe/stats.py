"""A run's request counters (`Stats`, the report's `stats`), the retry policy and a listing's
`Page`: plain data the gateway keeps and hands out, with no stripe-python in it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fcaudit.stripe.facts import REASONS

# The key of requests without a Stripe-Account header in stats.by_stripe_account.
PLATFORM = "platform"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded in attempts and in total time."""

    max_retries: int = 6
    base_delay: float = 0.5
    max_delay: float = 8.0
    budget_seconds: float = 120.0

    def delay(self, retry: int, rng: Callable[[], float]) -> float:
        """Delay before retry number `retry` (1-based): full backoff, jittered to 50-100%."""
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return backoff * (0.5 + 0.5 * rng())


class Stats:
    """Thread-safe request counters, read by the progress display and the report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.rate_limited = 0
        self.by_endpoint: Counter[str] = Counter()
        self.by_reason: Counter[str] = Counter(dict.fromkeys(REASONS, 0))
        self.by_stripe_account: Counter[str] = Counter()

    def count(
        self, endpoint: str, stripe_account: str | None = None, limit: int | None = None
    ) -> bool:
        """Count one request about to be sent to `endpoint` (a retry counts again), under the
        Stripe account whose header it carries (`platform`: none); False, and nothing
        counted, when `limit` requests were sent already."""
        with self._lock:
            if limit is not None and self.requests >= limit:
                return False
            self.requests += 1
            self.by_endpoint[endpoint] += 1
            self.by_stripe_account[stripe_account or PLATFORM] += 1
            return True

    def throttled(self, reason: str) -> None:
        """Count one 429 answer, by its reason (`ratelimit.reason_of`)."""
        with self._lock:
            self.rate_limited += 1
            self.by_reason[reason] += 1

    def retry(self) -> None:
        """Count one retry."""
        with self._lock:
            self.retries += 1

    def snapshot(self) -> dict[str, Any]:
        """The counts as the report's `stats` object (thread-safe copy)."""
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "rate_limited_by_reason": {r: self.by_reason[r] for r in REASONS},
                "by_stripe_account": dict(sorted(self.by_stripe_account.items())),
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
            }


class Page(list[Any]):
    """One page of a listing, and the Request-Id of the response that carried it."""

    def __init__(self, items: list[Any], request_id: str | None = None) -> None:
        super().__init__(items)
        self.request_id = request_id
