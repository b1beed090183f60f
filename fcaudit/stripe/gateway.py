"""The gateway to Stripe: GET requests, paging, retries and the run's request counts.

The only module that imports stripe-python. Everything leaves it as plain dicts (`raw_request`
bodies), so classification and the tests never depend on SDK classes. fcaudit is read-only:
`StripeGateway` has no method that sends anything but GET.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import stripe

from fcaudit.errors import ApiError, AuthError, UsageError
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.facts import MAX_EVENT_TYPES, PREVIEW_VERSION
from fcaudit.stripe.failures import (
    BudgetSpent,
    Cancelled,
    Failure,
    PaginationError,
    RequestFailed,
    header,
    request_id_of,
    retry_after,
)
from fcaudit.stripe.ids import is_stripe_id
from fcaudit.stripe.ratelimit import InFlight, RateLimiter, reason_of
from fcaudit.stripe.redact import clean, scrub
from fcaudit.stripe.stats import Page as Page
from fcaudit.stripe.stats import RetryPolicy, Stats
from fcaudit.stripe.transport import (
    CertificateRejected,
    DeadlineExceeded,
    GuardedSession,
    RedirectRefused,
    ca_bundle,
    failure_of,
)
from fcaudit.text import safe

# NOTE: fcaudit sends no client telemetry header (last request's timings) to Stripe.
stripe.enable_telemetry = False


UNBOUNDED_IN_FLIGHT = 1024  # the in-flight ceiling when the caller bounds it itself
PAGE_LIMIT = 100  # the API's maximum; list calls always use it
# Pages one listing may take (100 objects each): a server that keeps saying has_more with
# new ids must not keep a cron run going for ever. 100,000 pages is ten million objects: a
# platform of a million customers (10,000 pages of customers, as many of accounts) is well
# inside it (the cap was 10,000, and stopped exactly there). At the default 20 requests/s per
# endpoint a runaway listing ends within 83 minutes; --max-requests bounds a run more tightly.
DEFAULT_MAX_PAGES = 100_000

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
            f"10000000). Tip: unset it for the default of {DEFAULT_MAX_PAGES}."
        )
    return int(value)


# -- the SDK's exceptions in one line ----------------------------------------------------

_NETWORK_REASON = re.compile(
    r"\[Errno -?\d+\] [^'\")\]]+|Read timed out|timed out|Connection aborted|"
    r"RemoteDisconnected\([^)]*\)|Connection reset by peer|Tunnel connection failed: [^'\")\]]+"
)


def describe(err: stripe.StripeError, api_key: str | None = None) -> str:
    """The error's own message, without the SDK's 'Request req_…:' prefix: redacted, one line,
    escaped and bounded (in that order: a key cut in half by the bound would survive)."""
    if isinstance(err, stripe.APIConnectionError):
        cause = err.__cause__
        if isinstance(cause, (RedirectRefused, DeadlineExceeded, CertificateRejected)):
            return clean(str(cause), api_key)
        # The SDK's text is a paragraph of advice plus a urllib3 repr; keep the reason.
        match = _NETWORK_REASON.search(str(err))
        reason = clean(match.group(0), api_key) if match else "connection failed"
        if failure_of(cause) is Failure.PROXY:
            return f"could not reach the API through the proxy ({reason})"
        return f"could not reach the API ({reason})"
    inner = getattr(err, "error", None)
    text = getattr(inner, "message", None)
    if not text and _not_stripe_body(err):
        # Not a Stripe error body (HTML from a proxy, empty, not UTF-8): the SDK's message
        # quotes the whole body; say what it was instead.
        return "the API returned a response that is not a Stripe JSON body"
    text = text or err.user_message or str(err)
    return clean(str(text).rstrip("."), api_key).rstrip(".")


# NOTE: an assumption (Stripe's wording is undocumented): a 400 naming a version in its `param`
# or message ("Invalid Stripe API version: ...") refuses the Stripe-Version, so every request
# would be refused alike: it stops the run with exit 2.
_VERSION = re.compile(r"version", re.IGNORECASE)


def _about_version(err: stripe.StripeError) -> bool:
    inner = getattr(err, "error", None)
    said = f"{getattr(inner, 'param', None) or ''} {getattr(inner, 'message', None) or ''}"
    return _VERSION.search(said) is not None


def _failure_kind(err: stripe.StripeError) -> Failure:
    """What kind of failure a request's last error was: the network's, or by HTTP status."""
    status = err.http_status
    if isinstance(err, stripe.APIConnectionError) or status is None:
        return failure_of(err.__cause__)
    if status == 429:
        return Failure.RATE_LIMITED
    if status >= 500 or status == 409:
        return Failure.SERVER
    if _not_stripe_body(err) or not getattr(getattr(err, "error", None), "message", None):
        return Failure.NOT_STRIPE
    return Failure.NOT_FOUND if status == 404 else Failure.REFUSED_REQUEST


def _not_stripe_body(err: stripe.StripeError) -> bool:
    message = getattr(err, "_message", None) or ""
    return str(message).startswith(("Invalid response body", "Invalid response object"))


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
    # Requests in flight at most (the run's worker pool), before a concurrency 429 lowers it;
    # None: as many as the callers send.
    concurrency: int | None = None
    max_requests: int | None = None  # --max-requests: the most this run may send in all


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
        on_answer: Callable[[], object] | None = None,
    ) -> None:
        self.settings = settings
        # Called at the first answer Stripe did not refuse: a warning (a GA version) never
        # comes before the error that ends the run.
        self._on_answer = on_answer
        self._answer_lock = threading.Lock()
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
        self.in_flight = InFlight(settings.concurrency or UNBOUNDED_IN_FLIGHT, clock=clock)
        self.budget_spent = False  # --max-requests ran out: what is left is not read
        self._client = stripe.StripeClient(
            settings.api_key,
            stripe_version=settings.stripe_version,
            stripe_account=settings.stripe_account,
            base_addresses={"api": settings.api_base} if settings.api_base else None,
            # Retries are ours (rate limiter aware); the SDK must not retry underneath.
            max_network_retries=0,
            http_client=stripe.RequestsClient(
                timeout=settings.timeout,
                session=GuardedSession(settings.timeout, ca_bundle=ca_bundle()),
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
        header_account = stripe_account or self.settings.stripe_account
        while True:
            attempt += 1
            self._wait_for_slot(endpoint)
            try:
                with self.in_flight.slot(endpoint, self.cancelled):
                    if not self.stats.count(endpoint, header_account, self.settings.max_requests):
                        self.budget_spent = True
                        self.cancelled.set()  # every worker stops at its next request
                        raise BudgetSpent
                    response = self._client.raw_request(
                        "get", path, **dict(params or {}), **options
                    )
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
                if err.http_status == 400 and _about_version(err):
                    raise self._version_refused(err) from None
                if isinstance(err.__cause__, CertificateRejected):
                    # Not transient, and the same for every request: the run stops at once.
                    failed = self._failed(err, attempt)
                    raise ApiError(f"{failed.message}. Tip: {err.__cause__.tip}.") from None
                retryable, rate_limited = self._classify_failure(err)
                if rate_limited:
                    self._throttled(err, endpoint)
                delay = self._retry.delay(attempt, self._rng)
                wanted = retry_after(err.headers)
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
                self.stats.retry()
                self._pause(delay)
                continue
            except (RecursionError, ValueError, TypeError, AttributeError, KeyError) as err:
                # The SDK choked on a body it could not make sense of ({"error": 5}): the
                # response is malformed, and nothing about it is worth retrying.
                raise RequestFailed(
                    f"the API returned a response fcaudit cannot read ({type(err).__name__})",
                    attempts=attempt,
                    kind=Failure.NOT_STRIPE,
                ) from None
            if self.limiter is not None:
                self.limiter.succeeded(endpoint)
            if self._on_answer is not None:
                self._answered()
            return scrub(response.data, key), request_id_of(response.headers, key)

    def _answered(self) -> None:
        with self._answer_lock:
            call, self._on_answer = self._on_answer, None
        if call is not None:
            call()

    def _throttled(self, err: stripe.StripeError, endpoint: str) -> None:
        """A 429: count it by its reason, and slow only what the reason names (a rate, or the
        requests in flight). A 429 without a reason is not a rate limit (Stripe's example: a
        lock timeout, error.code lock_timeout): it is retried with backoff and slows nothing.
        https://docs.stripe.com/rate-limits"""
        reason = reason_of(header(err.headers, "Stripe-Rate-Limited-Reason"))
        self.stats.throttled(reason)
        if self.limiter is not None:
            self.limiter.throttled(endpoint, reason)
        self.in_flight.throttled(endpoint, reason)

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
        if isinstance(err.__cause__, (RedirectRefused, CertificateRejected)):
            return False, False
        should = header(err.headers, "Stripe-Should-Retry")
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
        param = getattr(inner, "param", None)
        return RequestFailed(
            f"{describe(err, key)} ({what}{retries})",
            request_id=request_id_of(err.headers, key) if err.headers else None,
            http_status=status,
            code=clean(code, key, 100) if code else None,
            attempts=attempts,
            error_type=clean(error_type, key, 100) if isinstance(error_type, str) else None,
            kind=_failure_kind(err),
            param=clean(param, key, 100) if isinstance(param, str) else None,
        )

    def _version_refused(self, err: stripe.StripeError) -> UsageError:
        key = self.settings.api_key
        request_id = request_id_of(err.headers, key) if err.headers else None
        rid = f", request {request_id}" if request_id else ""
        return UsageError(
            f"Stripe refused Stripe-Version {safe(self.settings.stripe_version, limit=60)} "
            f"(HTTP 400{rid}): {describe(err, key)}. Tip: drop --stripe-version (and "
            f"FCAUDIT_STRIPE_VERSION) for the default {PREVIEW_VERSION}, or give a version "
            "Stripe lists."
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
                f"the API key may not read {path} (HTTP 403{rid}): {describe(err, key)}. Tip: "
                f"give the restricted key read access to {what}."
            )
        else:
            msg = (
                f"Stripe rejected the API key (HTTP 401{rid}): {describe(err, key)}. Tip: check "
                "STRIPE_API_KEY or --api-key (a secret sk_ or restricted rk_ key)."
            )
        return AuthError(msg)  # Stripe's words are redacted (describe); fcaudit's are not

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
        """GET one FC account by id (`fcaudit account`): the object and its Request-Id."""
        return self.fetch_account(account_id)[0]

    def retrieve_authorization(self, authorization_id: str) -> dict[str, Any]:
        """GET one FC authorization by id (`fcaudit authorization`; preview API versions only)."""
        return self.fetch_authorization(authorization_id)[0]

    def fetch_account(
        self, account_id: str, *, stripe_account: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """An account and the Request-Id of the response."""
        return self._fetch_object(ACCOUNTS, account_id, id_kinds.ACCOUNT.prefix, stripe_account)

    def fetch_customer(
        self, customer_id: str, *, stripe_account: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """A customer (for --contact: its name and email)."""
        return self._fetch_object(CUSTOMERS, customer_id, id_kinds.CUSTOMER.prefix, stripe_account)

    def fetch_authorization(
        self, authorization_id: str, *, stripe_account: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """Preview-only endpoint; the SDK has no service for it, hence `raw_request`."""
        return self._fetch_object(
            AUTHORIZATIONS, authorization_id, id_kinds.AUTHORIZATION.prefix, stripe_account
        )

    def own_account_id(self) -> str | None:
        """The id of the account the key reads (`GET /v1/account`), or None when the key may
        not read it (a restricted key without that permission) or the answer has no id."""
        try:
            body, _ = self.fetch("/v1/account", endpoint="GET /v1/account")
        except (AuthError, RequestFailed):
            return None
        oid = body.get("id") if isinstance(body, dict) else None
        return oid if is_stripe_id(oid, id_kinds.CONNECTED_ACCOUNT.prefix) else None

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
