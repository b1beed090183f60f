"""A run's request counters (`Stats`, the report's `stats`), the retry policy and the page cap:
plain data the gateway keeps, with no stripe-python in it."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fcaudit.errors import UsageError
from fcaudit.stripe.facts import REASONS
from fcaudit.text import safe

# The key of requests without a Stripe-Account header in stats.by_stripe_account.
PLATFORM = "platform"
# Pages one listing may take (100 objects each): a server that keeps saying has_more with
# new ids must not keep a cron run going for ever. 10,000 pages is a million objects.
DEFAULT_MAX_PAGES = 10_000


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


def max_pages(environ: Mapping[str, str] | None = None) -> int:
    """The page cap per listing: `FCAUDIT_MAX_PAGES`, or `DEFAULT_MAX_PAGES`."""
    value = (os.environ if environ is None else environ).get("FCAUDIT_MAX_PAGES", "").strip()
    if not value:
        return DEFAULT_MAX_PAGES
    if not value.isdigit() or not 1 <= int(value) <= 10_000_000:
        raise UsageError(
            f"FCAUDIT_MAX_PAGES={safe(value, limit=20)!r} is not a number of pages (1 to "
            "10000000). Tip: unset it for the default of 10000."
        )
    return int(value)
