"""The only module that imports stripe: client construction, GETs, retries, error translation.

Everything leaves this module as plain dicts (`raw_request` bodies), so classification and
the tests never depend on SDK classes. fcaudit is read-only: `StripeGateway` has no method
that sends anything but GET.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe

from fcaudit.errors import AuthError
from fcaudit.ratelimit import RateLimiter

# NOTE: fcaudit sends no client telemetry header (last request's timings) to Stripe.
stripe.enable_telemetry = False

PAGE_LIMIT = 100  # the API's maximum; list calls always use it
KEY_PATTERN = re.compile(r"\b(sk|rk|pk)_(live|test)_[0-9A-Za-z_*]+")

ACCOUNTS = "/v1/financial_connections/accounts"
AUTHORIZATIONS = "/v1/financial_connections/authorizations"
CUSTOMERS = "/v1/customers"


def redact(text: str, api_key: str | None = None) -> str:
    """Remove the API key (and anything shaped like a Stripe key) from a message."""
    if api_key:
        text = text.replace(api_key, "[redacted]")
    return KEY_PATTERN.sub(lambda m: f"{m.group(1)}_{m.group(2)}_[redacted]", text)


@dataclass(frozen=True)
class ClientSettings:
    """How to reach Stripe. The key is excluded from repr so it can't leak into logs."""

    api_key: str = field(repr=False)
    stripe_version: str
    stripe_account: str | None = None
    api_base: str | None = None
    timeout: float = 30.0
    max_retries: int = 6
    retry_budget_seconds: float = 120.0


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

    def count(self, endpoint: str) -> None:
        with self._lock:
            self.requests += 1
            self.by_endpoint[endpoint] += 1

    def retry(self, *, rate_limited: bool) -> None:
        with self._lock:
            self.retries += 1
            if rate_limited:
                self.rate_limited += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
            }


class Cancelled(Exception):
    """The run was interrupted; raised in workers to unwind promptly."""


class RequestFailed(Exception):
    """A request failed for good (not retryable, or retries exhausted)."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        http_status: int | None = None,
        code: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.code = code
        self.attempts = attempts


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


_NETWORK_REASON = re.compile(
    r"\[Errno -?\d+\] [^'\")\]]+|Read timed out|timed out|Connection aborted|"
    r"RemoteDisconnected\([^)]*\)|Connection reset by peer"
)


def _describe(err: stripe.StripeError) -> str:
    """The error's own message, without the SDK's 'Request req_…:' prefix, one line, bounded."""
    if isinstance(err, stripe.APIConnectionError):
        # The SDK's text is a paragraph of advice plus a urllib3 repr; keep the reason.
        match = _NETWORK_REASON.search(str(err))
        return f"could not reach the API ({match.group(0) if match else 'connection failed'})"
    inner = getattr(err, "error", None)
    text = getattr(inner, "message", None) or err.user_message or str(err)
    text = " ".join(str(text).split()).rstrip(".")
    return text if len(text) <= 300 else text[:297] + "..."


class StripeGateway:
    """Read-only access to the FC endpoints fcaudit needs, with a budget and retries."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        limiter: RateLimiter | None = None,
        stats: Stats | None = None,
        cancelled: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        self.stats = stats or Stats()
        self.cancelled = cancelled or threading.Event()
        self._clock = clock
        self.clock = clock  # the monotonic clock the run is timed with
        self._rng = rng
        # Waits (backoff, rate budget) end early when the run is cancelled; tests inject a
        # sleep that returns at once.
        self._sleep = sleep or self.cancelled.wait
        self._retry = RetryPolicy(
            max_retries=settings.max_retries, budget_seconds=settings.retry_budget_seconds
        )
        self._client = stripe.StripeClient(
            settings.api_key,
            stripe_version=settings.stripe_version,
            stripe_account=settings.stripe_account,
            base_addresses={"api": settings.api_base} if settings.api_base else None,
            # Retries are ours (rate limiter aware); the SDK must not retry underneath.
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=settings.timeout),
        )

    # -- the one request path -------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, endpoint: str) -> Any:
        """GET `path` and return the decoded JSON body, retrying what is worth retrying.

        Raises `AuthError` (401/403: stops the run), `RequestFailed` (this request failed for
        good) or `Cancelled`.
        """
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            self._wait_for_slot(endpoint)
            self.stats.count(endpoint)
            try:
                response = self._client.raw_request("get", path, **dict(params or {}))
            except (stripe.AuthenticationError, stripe.PermissionError) as err:
                raise self._auth_error(err, path) from None
            except stripe.StripeError as err:
                retryable, rate_limited = self._classify_failure(err)
                delay = self._retry.delay(attempt, self._rng)
                # The budget covers the next wait and attempt too, so it really bounds the time.
                projected = self._clock() - started + delay + self.settings.timeout
                if (
                    not retryable
                    or attempt > self._retry.max_retries
                    or projected > self._retry.budget_seconds
                ):
                    raise self._failed(err, attempt) from None
                if rate_limited and self.limiter is not None:
                    reason = _header(err.headers, "Stripe-Rate-Limited-Reason") or ""
                    self.limiter.throttled(endpoint, global_scope=reason.startswith("global"))
                self.stats.retry(rate_limited=rate_limited)
                self._pause(delay)
                continue
            if self.limiter is not None:
                self.limiter.succeeded(endpoint)
            return response.data

    def _wait_for_slot(self, endpoint: str) -> None:
        if self.cancelled.is_set():
            raise Cancelled
        if self.limiter is not None:
            self._pause(self.limiter.reserve(endpoint))

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)
        if self.cancelled.is_set():
            raise Cancelled

    @staticmethod
    def _classify_failure(err: stripe.StripeError) -> tuple[bool, bool]:
        """(retryable, rate_limited) for a failed request."""
        should = _header(err.headers, "Stripe-Should-Retry")
        rate_limited = isinstance(err, stripe.RateLimitError) or err.http_status == 429
        if should == "false":
            return False, rate_limited
        if should == "true" or rate_limited:
            return True, rate_limited
        if isinstance(err, stripe.APIConnectionError):
            return True, False  # timeouts, resets, dropped connections
        status = err.http_status
        if isinstance(err, stripe.APIError) and (status is None or status >= 500 or status < 300):
            return True, False  # 5xx, or a malformed 2xx body
        return status == 409 or (status is not None and status >= 500), False

    def _failed(self, err: stripe.StripeError, attempts: int) -> RequestFailed:
        status = err.http_status
        what = f"HTTP {status}" if status else "network error"
        inner = getattr(err, "error", None)
        code = getattr(inner, "code", None) or err.code
        retries = f" after {attempts} attempts" if attempts > 1 else ""
        return RequestFailed(
            redact(f"{_describe(err)} ({what}{retries})", self.settings.api_key),
            request_id=err.request_id,
            http_status=status,
            code=code,
            attempts=attempts,
        )

    def _auth_error(self, err: stripe.StripeError, path: str) -> AuthError:
        rid = f", request {err.request_id}" if err.request_id else ""
        if isinstance(err, stripe.PermissionError):
            msg = (
                f"the API key may not read {path} (HTTP 403{rid}): {_describe(err)}. Tip: give "
                "the restricted key read access to Financial Connections and Customers."
            )
        else:
            msg = (
                f"Stripe rejected the API key (HTTP 401{rid}): {_describe(err)}. Tip: check "
                "STRIPE_API_KEY or --api-key (a secret sk_ or restricted rk_ key)."
            )
        return AuthError(redact(msg, self.settings.api_key))

    # -- endpoints --------------------------------------------------------------------------

    def iter_pages(
        self, path: str, params: Mapping[str, Any], *, endpoint: str
    ) -> Iterator[list[dict[str, Any]]]:
        """Follow `has_more`/`starting_after` to the end, `limit=100`, one page at a time."""
        query = {**params, "limit": PAGE_LIMIT}
        while True:
            body = self.get(path, query, endpoint=endpoint)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise RequestFailed(f"GET {path} returned something that is not a list object")
            yield data
            if not body.get("has_more") or not data:
                return
            query = {**query, "starting_after": data[-1]["id"]}

    def iter_customer_pages(self) -> Iterator[list[str]]:
        """Every customer id of the account, a page at a time (newest first)."""
        for page in self.iter_pages(CUSTOMERS, {}, endpoint=f"GET {CUSTOMERS}"):
            yield [str(c["id"]) for c in page]

    def iter_accounts(self, scope_filter: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every FC account matching one filter (`account_holder[...]` or `session`)."""
        for page in self.iter_pages(ACCOUNTS, scope_filter, endpoint=f"GET {ACCOUNTS}"):
            yield from page

    def retrieve_account(self, account_id: str) -> dict[str, Any]:
        body = self.get(f"{ACCOUNTS}/{account_id}", endpoint=f"GET {ACCOUNTS}/{{id}}")
        return dict(body)

    def retrieve_authorization(self, authorization_id: str) -> dict[str, Any]:
        """Preview-only endpoint; the SDK has no service for it, hence `raw_request`."""
        body = self.get(
            f"{AUTHORIZATIONS}/{authorization_id}", endpoint=f"GET {AUTHORIZATIONS}/{{id}}"
        )
        return dict(body)
