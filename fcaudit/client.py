"""The only module that imports stripe: client construction, GETs, retries, error translation.

Everything leaves this module as plain dicts (`raw_request` bodies), so classification and
the tests never depend on SDK classes. fcaudit is read-only: `StripeGateway` has no method
that sends anything but GET.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import http.cookiejar
import math
import os
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import stripe
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from fcaudit.errors import AuthError, UsageError
from fcaudit.ratelimit import RateLimiter
from fcaudit.stripe_api import KEY_PATTERN, MAX_EVENT_TYPES, is_stripe_id
from fcaudit.text import safe, valid_text

# NOTE: fcaudit sends no client telemetry header (last request's timings) to Stripe.
stripe.enable_telemetry = False

PAGE_LIMIT = 100  # the API's maximum; list calls always use it
# Pages one listing may take (100 objects each): a server that keeps saying has_more with
# new ids must not keep a cron run going for ever. 10,000 pages is a million objects.
DEFAULT_MAX_PAGES = 10_000
MAX_REDIRECTS = 5  # same-origin redirects followed per request
MAX_MESSAGE = 300  # characters of a network string (message, code) kept in reports
MAX_REQUEST_ID = 100  # Stripe's are ~20 characters
# Not \b-anchored: a key glued to word characters (`xsk_live_...`) is still a key.
# A run of 16 or more consecutive characters of the key's secret part is redacted.
_KEY_WINDOW, _KEY_STEP = 12, 5

ACCOUNTS = "/v1/financial_connections/accounts"
AUTHORIZATIONS = "/v1/financial_connections/authorizations"
CUSTOMERS = "/v1/customers"
CONNECTED_ACCOUNTS = "/v1/accounts"  # a Connect platform's connected accounts
EVENTS = "/v1/events"


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


@functools.lru_cache(maxsize=4)
def _fragment_pattern(secret: str) -> re.Pattern[str] | None:
    """Windows of the key's secret part, every `_KEY_STEP` characters: any run of
    `_KEY_WINDOW + _KEY_STEP - 1` characters of the secret contains one of them."""
    if len(secret) < _KEY_WINDOW:
        return None
    starts = [*range(0, len(secret) - _KEY_WINDOW + 1, _KEY_STEP), len(secret) - _KEY_WINDOW]
    windows = sorted({secret[i : i + _KEY_WINDOW] for i in starts}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in windows))


def _key_fragments(text: str, api_key: str) -> str:
    """Runs of the key's secret part, redacted: a server that echoes half a key (or the key
    without its prefix) must not leak that half."""
    secret = api_key.split("_", 2)[-1]
    pattern = _fragment_pattern(secret)
    if pattern is None:
        return text
    out: list[str] = []
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        at = secret.find(m.group())
        start, end, k = m.start(), m.end(), at + _KEY_WINDOW
        while start > pos and at > 0 and text[start - 1] == secret[at - 1]:
            start, at = start - 1, at - 1
        while end < len(text) and k < len(secret) and text[end] == secret[k]:
            end, k = end + 1, k + 1
        out += [text[pos:start], "[redacted]"]
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def redact(text: str, api_key: str | None = None) -> str:
    """Remove the API key, any long fragment of it, and anything shaped like a Stripe key.

    Always called on the whole string, before it is cut to length: a cut key still leaks.
    """
    if api_key:
        text = _key_fragments(text.replace(api_key, "[redacted]"), api_key)
    return KEY_PATTERN.sub(lambda m: f"{m.group(1)}_{m.group(2)}_[redacted]", text)


def clean(text: object, api_key: str | None, limit: int = MAX_MESSAGE) -> str:
    """A string from the network made fit to leave the process: key redacted (first, on the
    whole string), one line, control and bidi characters escaped, then bounded."""
    plain = redact(" ".join(str(text).split()), api_key)
    plain = safe(plain, limit=None)
    return plain if len(plain) <= limit else plain[: limit - 3] + "..."


def scrub(value: Any, api_key: str) -> Any:
    """A decoded body with the key (and key-shaped strings) redacted from every string in it.

    A server that echoes the key into a name must not get it into a report. Objects with
    nothing to redact are returned as they are.
    """
    if isinstance(value, str):
        # A lone surrogate ("\\ud800") is not text any UTF-8 report can hold: U+FFFD.
        value = valid_text(value)
        if api_key in value or "_live_" in value or "_test_" in value:
            return redact(value, api_key)
        if len(value) >= _KEY_WINDOW and _key_fragments(value, api_key) is not value:
            return redact(value, api_key)
        return value
    if isinstance(value, dict):
        changed = False
        out: dict[Any, Any] = {}
        for k, v in value.items():
            new = scrub(v, api_key)
            changed = changed or new is not v
            out[k] = new
        return out if changed else value
    if isinstance(value, list):
        items = [scrub(v, api_key) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def request_id_of(headers: Mapping[str, str] | None, api_key: str | None) -> str | None:
    """The response's Request-Id, cleaned and bounded like every other network string."""
    rid = _header(headers, "Request-Id")
    return clean(rid, api_key, MAX_REQUEST_ID) if rid else None


@dataclass(frozen=True)
class ClientSettings:
    """How to reach Stripe. The key is excluded from repr so it can't leak into logs."""

    api_key: str = field(repr=False)
    stripe_version: str
    stripe_account: str | None = None
    api_base: str | None = None
    timeout: float = 30.0  # the deadline of one attempt: connect, headers and body
    max_retries: int = 6
    retry_budget_seconds: float = 120.0
    max_pages: int = DEFAULT_MAX_PAGES  # per listing (a customer's accounts, all customers)


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
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.code = code
        self.attempts = attempts
        # Stripe's error `type` (`invalid_request_error`, `api_error`, ...), when it sent one.
        self.error_type = error_type


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


_NETWORK_REASON = re.compile(
    r"\[Errno -?\d+\] [^'\")\]]+|Read timed out|timed out|Connection aborted|"
    r"RemoteDisconnected\([^)]*\)|Connection reset by peer"
)


def _describe(err: stripe.StripeError, api_key: str | None = None) -> str:
    """The error's own message, without the SDK's 'Request req_…:' prefix: redacted, one line,
    escaped and bounded (in that order: a key cut in half by the bound would survive)."""
    if isinstance(err, stripe.APIConnectionError):
        cause = err.__cause__
        if isinstance(cause, (RedirectRefused, DeadlineExceeded)):
            return clean(str(cause), api_key)
        # The SDK's text is a paragraph of advice plus a urllib3 repr; keep the reason.
        match = _NETWORK_REASON.search(str(err))
        return f"could not reach the API ({match.group(0) if match else 'connection failed'})"
    inner = getattr(err, "error", None)
    text = getattr(inner, "message", None)
    if not text and _not_stripe_body(err):
        # Not a Stripe error body (HTML from a proxy, empty, not UTF-8): the SDK's message
        # quotes the whole body; say what it was instead.
        return "the API returned a response that is not a Stripe JSON body"
    text = text or err.user_message or str(err)
    return clean(str(text).rstrip("."), api_key).rstrip(".")


def _not_stripe_body(err: stripe.StripeError) -> bool:
    message = getattr(err, "_message", None) or ""
    return str(message).startswith(("Invalid response body", "Invalid response object"))


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date), when a server sends one."""
    value = _header(headers, "Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


# -- the HTTP transport: one deadline per request, no redirect to another origin ---------


class DeadlineExceeded(requests.exceptions.Timeout):
    """No complete response (connect, headers and body) within the request's deadline."""


class RedirectRefused(requests.exceptions.RequestException):
    """A redirect fcaudit will not follow (another host or port, or a loop); not retried."""


class _Deadline:
    """The connections one request uses, shut down by a timer when its deadline passes.

    A socket timeout bounds each read, not the request: a server trickling one byte per
    second keeps a request alive for ever. Shutting the socket down ends the read at once.
    """

    _current = threading.local()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _Deadline._current.value = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _Deadline._current.value = None

    @classmethod
    def track(cls, conn: HTTPConnection) -> None:
        deadline: _Deadline | None = getattr(cls._current, "value", None)
        if deadline is not None:
            with deadline._lock:
                deadline._connections.append(conn)
                expired = deadline.expired
            if expired:
                _shut(conn)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for conn in connections:
            _shut(conn)


def _shut(conn: HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        # The plain socket's shutdown, also under TLS: ends a blocked read in any thread.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _TrackedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _Deadline.track(self)
        super().request(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _Deadline.track(self)
        super().request(*args, **kwargs)


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _TrackedHTTPPool,
            "https": _TrackedHTTPSPool,
        }


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) as the HTTP stack reads the URL, default ports made explicit."""
    parsed = urllib3.util.parse_url(url)
    scheme = (parsed.scheme or "").lower()
    port = parsed.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parsed.host or "").lower(), port


class GuardedSession(requests.Session):
    """The session under stripe-python: every request has a total deadline, redirects are
    followed only within the same origin (scheme, host, port) and at most `MAX_REDIRECTS`
    times, and no cookie a server sets is ever sent back."""

    _last = threading.local()

    @classmethod
    def last_headers(cls) -> Mapping[str, str]:
        """This thread's last response headers: the SDK drops them from some errors."""
        return getattr(cls._last, "headers", None) or {}

    def __init__(self, deadline_seconds: float, pool_size: int = 128) -> None:
        super().__init__()
        self.deadline_seconds = deadline_seconds
        self.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = _Adapter(pool_connections=4, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs["allow_redirects"] = False
        GuardedSession._last.headers = None
        with _Deadline(self.deadline_seconds) as deadline:
            try:
                for _ in range(MAX_REDIRECTS + 1):
                    response = super().request(method, url, *args, **kwargs)
                    if deadline.expired:  # a body cut short by the shutdown is no body
                        raise DeadlineExceeded(
                            f"no complete response within {deadline.seconds:g} s"
                        )
                    GuardedSession._last.headers = response.headers
                    if not response.is_redirect:
                        return response
                    target = urljoin(url, response.headers.get("location", ""))
                    response.close()
                    if origin(target) != origin(url):
                        where = urlsplit(target).netloc or target
                        raise RedirectRefused(
                            f"the API redirected to another host or port ({where}); fcaudit "
                            "does not follow it"
                        )
                    url = target
                raise RedirectRefused(f"more than {MAX_REDIRECTS} redirects (a redirect loop)")
            except (RedirectRefused, DeadlineExceeded):
                raise
            except Exception:
                if deadline.expired:
                    raise DeadlineExceeded(
                        f"no complete response within {deadline.seconds:g} s"
                    ) from None
                raise


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
            http_client=stripe.RequestsClient(
                timeout=settings.timeout, session=GuardedSession(settings.timeout)
            ),
        )

    # -- the one request path -------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, endpoint: str) -> Any:
        """GET `path` and return the decoded JSON body, retrying what is worth retrying.

        Raises `AuthError` (401/403: stops the run), `RequestFailed` (this request failed for
        good) or `Cancelled`.
        """
        return self.fetch(path, params, endpoint=endpoint)[0]

    def fetch(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        endpoint: str,
        stripe_account: str | None = None,
    ) -> tuple[Any, str | None]:
        """`get`, plus the (cleaned) Request-Id of the response that carried the body.

        `stripe_account` sends `Stripe-Account` on this request alone (stripe-python merges
        per-request options into a copy, never into the client): a connected account's
        request never carries another's header. Without it, the client's own
        (`--stripe-account`, or none). Under a connected account a 403 is that account's
        failure (`account_invalid`: unknown, or access revoked; or no permission there), a
        `RequestFailed`, not the key's: the other accounts go on.
        """
        started = self._clock()
        attempt = 0
        key = self.settings.api_key
        options = {"stripe_account": stripe_account} if stripe_account else {}
        while True:
            attempt += 1
            self._wait_for_slot(endpoint)
            self.stats.count(endpoint)
            try:
                response = self._client.raw_request("get", path, **dict(params or {}), **options)
            except (stripe.AuthenticationError, stripe.PermissionError) as err:
                if stripe_account and not isinstance(err, stripe.AuthenticationError):
                    raise self._failed(err, attempt) from None
                raise self._auth_error(err, path) from None
            except stripe.StripeError as err:
                if not err.headers and not isinstance(err, stripe.APIConnectionError):
                    err.headers = dict(GuardedSession.last_headers())
                if stripe_account and err.http_status == 403:
                    raise self._failed(err, attempt) from None
                if err.http_status in (401, 403):  # an HTML or empty body: still the key
                    raise self._auth_error(err, path) from None
                retryable, rate_limited = self._classify_failure(err)
                delay = self._retry.delay(attempt, self._rng)
                wanted = _retry_after(err.headers)
                if wanted is not None:
                    delay = max(delay, wanted)
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
            except (RecursionError, ValueError, TypeError, AttributeError, KeyError) as err:
                # The SDK choked on a body it could not make sense of ({"error": 5}): the
                # response is malformed, and nothing about it is worth retrying.
                raise RequestFailed(
                    f"the API returned a response fcaudit cannot read ({type(err).__name__})",
                    attempts=attempt,
                ) from None
            if self.limiter is not None:
                self.limiter.succeeded(endpoint)
            return scrub(response.data, key), request_id_of(response.headers, key)

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
        if isinstance(err.__cause__, RedirectRefused):
            return False, False
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
        error_type = getattr(inner, "type", None)
        retries = f" after {attempts} attempts" if attempts > 1 else ""
        key = self.settings.api_key
        return RequestFailed(
            f"{_describe(err, key)} ({what}{retries})",
            request_id=request_id_of(err.headers, key) if err.headers else None,
            http_status=status,
            code=clean(code, key, 100) if code else None,
            attempts=attempts,
            error_type=clean(error_type, key, 100) if isinstance(error_type, str) else None,
        )

    def _auth_error(self, err: stripe.StripeError, path: str) -> AuthError:
        key = self.settings.api_key
        request_id = request_id_of(err.headers, key) if err.headers else None
        rid = f", request {request_id}" if request_id else ""
        if isinstance(err, stripe.PermissionError) or err.http_status == 403:
            what = (
                "Connect (connected accounts)"
                if path == CONNECTED_ACCOUNTS
                else ("Financial Connections and Customers")
            )
            msg = (
                f"the API key may not read {path} (HTTP 403{rid}): {_describe(err, key)}. Tip: "
                f"give the restricted key read access to {what}."
            )
        else:
            msg = (
                f"Stripe rejected the API key (HTTP 401{rid}): {_describe(err, key)}. Tip: check "
                "STRIPE_API_KEY or --api-key (a secret sk_ or restricted rk_ key)."
            )
        return AuthError(redact(msg, key))

    # -- endpoints --------------------------------------------------------------------------

    def iter_pages(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        endpoint: str,
        stripe_account: str | None = None,
    ) -> Iterator[Page]:
        """Follow `has_more`/`starting_after` to the end, `limit=100`, one page at a time.

        A listing that does not end by itself is stopped with `PaginationError` (after the
        pages before it were yielded): a cursor that does not advance (the same last id
        again, or a server ignoring `starting_after`), `has_more` with an empty page, a last
        element without a usable id, or more than `max_pages` pages.
        """
        query = {**params, "limit": PAGE_LIMIT}
        cursors: set[str] = set()
        pages = 0
        while True:
            if pages >= self.settings.max_pages:
                raise PaginationError(
                    f"GET {path} still had more after {pages} pages; stopped at the page cap "
                    f"({self.settings.max_pages}, FCAUDIT_MAX_PAGES)"
                )
            body, request_id = self.fetch(
                path, query, endpoint=endpoint, stripe_account=stripe_account
            )
            pages += 1
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise RequestFailed(
                    f"GET {path} returned something that is not a list object",
                    request_id=request_id,
                )
            yield Page(data, request_id)
            if not body.get("has_more"):
                return
            if not data:
                raise PaginationError(
                    f"GET {path} said has_more with an empty page", request_id=request_id
                )
            last = data[-1].get("id") if isinstance(data[-1], dict) else None
            if not isinstance(last, str) or not is_stripe_id(last):
                raise PaginationError(
                    f"GET {path}: the page's last element has no valid id to continue from",
                    request_id=request_id,
                )
            if last in cursors:
                raise PaginationError(
                    f"GET {path} repeated a page (starting_after={last} again); the listing "
                    "does not advance",
                    request_id=request_id,
                )
            cursors.add(last)
            query = {**query, "starting_after": last}

    def iter_customer_pages(self) -> Iterator[list[str]]:
        """Every customer id of the account, a page at a time (newest first)."""
        for page in self.iter_pages(CUSTOMERS, {}, endpoint=f"GET {CUSTOMERS}"):
            yield [str(c["id"]) for c in page]

    def iter_accounts(self, scope_filter: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every FC account matching one filter (`account_holder[...]` or `session`)."""
        for page in self.iter_account_pages(scope_filter):
            yield from page

    def iter_account_pages(
        self, scope_filter: Mapping[str, Any], *, stripe_account: str | None = None
    ) -> Iterator[Page]:
        """One filter's accounts; `{}` is the unfiltered list (every holder of the account,
        when Stripe accepts it: `--discovery accounts`)."""
        return self.iter_pages(
            ACCOUNTS, scope_filter, endpoint=f"GET {ACCOUNTS}", stripe_account=stripe_account
        )

    def iter_customer_list(self, *, stripe_account: str | None = None) -> Iterator[Page]:
        """Every customer object of the account (or of a connected account), a page at a time."""
        return self.iter_pages(
            CUSTOMERS, {}, endpoint=f"GET {CUSTOMERS}", stripe_account=stripe_account
        )

    def iter_connected_account_pages(self) -> Iterator[Page]:
        """The platform's connected accounts (`GET /v1/accounts`), a page at a time."""
        return self.iter_pages(CONNECTED_ACCOUNTS, {}, endpoint=f"GET {CONNECTED_ACCOUNTS}")

    def iter_event_pages(
        self,
        types: Sequence[str] | None = None,
        *,
        created_gte: int | None = None,
        created_gt: int | None = None,
        delivery_success: bool | None = None,
    ) -> Iterator[Page]:
        """`GET /v1/events`, every page (newest first), with `iter_pages`' guards.

        `types`: exact event names (`types[]`, at most `MAX_EVENT_TYPES`; None or empty: every
        type). `created_gte` / `created_gt`: Unix seconds (`created[gte]`, `created[gt]`; an
        incremental reader passes the last `created` it has seen). `delivery_success=False`:
        only events that at least one webhook endpoint has not acknowledged (still pending,
        or every attempt failed); `True`: only events delivered everywhere. Stripe lists
        events of the last 30 days only, and renders each event's `data.object` in the
        event's own `api_version` (https://docs.stripe.com/api/events/list).

        Elements are yielded as the API sent them: the caller checks each is an event.
        Raises `ValueError` for more than 20 types (a bug in the caller, never sent).
        """
        params: dict[str, Any] = {}
        if types:
            names = list(dict.fromkeys(types))
            if len(names) > MAX_EVENT_TYPES:
                raise ValueError(f"at most {MAX_EVENT_TYPES} event types, got {len(names)}")
            params["types"] = names
        created = {
            op: value
            for op, value in (("gte", created_gte), ("gt", created_gt))
            if value is not None
        }
        if created:
            params["created"] = created
        if delivery_success is not None:
            params["delivery_success"] = delivery_success  # the SDK sends "true" / "false"
        return self.iter_pages(EVENTS, params, endpoint=f"GET {EVENTS}")

    def iter_events(
        self,
        types: Sequence[str] | None = None,
        *,
        created_gte: int | None = None,
        created_gt: int | None = None,
        delivery_success: bool | None = None,
    ) -> Iterator[Any]:
        """Every event `iter_event_pages` lists, one at a time (newest first)."""
        for page in self.iter_event_pages(
            types,
            created_gte=created_gte,
            created_gt=created_gt,
            delivery_success=delivery_success,
        ):
            yield from page

    def retrieve_account(self, account_id: str) -> dict[str, Any]:
        return self.fetch_account(account_id)[0]

    def retrieve_authorization(self, authorization_id: str) -> dict[str, Any]:
        return self.fetch_authorization(authorization_id)[0]

    def fetch_account(
        self, account_id: str, *, stripe_account: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """An account and the Request-Id of the response."""
        return self._fetch_object(ACCOUNTS, account_id, "fca_", stripe_account)

    def fetch_customer(
        self, customer_id: str, *, stripe_account: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """A customer (for --contact: its name and email)."""
        return self._fetch_object(CUSTOMERS, customer_id, "cus_", stripe_account)

    def fetch_authorization(
        self, authorization_id: str, *, stripe_account: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """Preview-only endpoint; the SDK has no service for it, hence `raw_request`."""
        return self._fetch_object(AUTHORIZATIONS, authorization_id, "fcauth_", stripe_account)

    def own_account_id(self) -> str | None:
        """The id of the account the key reads (`GET /v1/account`), or None when the key may
        not read it (a restricted key without that permission) or the answer has no id."""
        try:
            body, _ = self.fetch("/v1/account", endpoint="GET /v1/account")
        except (AuthError, RequestFailed):
            return None
        oid = body.get("id") if isinstance(body, dict) else None
        return oid if is_stripe_id(oid, "acct_") else None

    def _fetch_object(
        self, base: str, object_id: str, prefix: str, stripe_account: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        # An id is a path segment: one that is not id-shaped (`../`, `?`, `#`) is never sent.
        if not is_stripe_id(object_id, prefix):
            raise RequestFailed(
                f"{clean(object_id, self.settings.api_key, 60)!r} is not a "
                f"{prefix}... id; not requested"
            )
        body, request_id = self.fetch(
            f"{base}/{object_id}", endpoint=f"GET {base}/{{id}}", stripe_account=stripe_account
        )
        if not isinstance(body, dict):
            raise RequestFailed(
                f"GET {base}/{object_id} returned something that is not an object",
                request_id=request_id,
            )
        return dict(body), request_id


class Page(list[Any]):
    """One page of a listing, and the Request-Id of the response that carried it."""

    def __init__(self, items: list[Any], request_id: str | None = None) -> None:
        super().__init__(items)
        self.request_id = request_id


class PaginationError(RequestFailed):
    """A listing that would not end by itself; the pages before it were kept."""
