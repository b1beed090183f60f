"""The error model of a request: what failed, and when to try again. No stripe-python here:
the gateway translates the SDK's exceptions (`gateway.describe`) into these."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from enum import StrEnum

from fcaudit.stripe.redact import MAX_REQUEST_ID, clean


def request_id_of(headers: Mapping[str, str] | None, api_key: str | None) -> str | None:
    """The response's Request-Id, cleaned and bounded like every other network string."""
    rid = header(headers, "Request-Id")
    return clean(rid, api_key, MAX_REQUEST_ID) if rid else None


class Cancelled(Exception):
    """The run was interrupted; raised in workers to unwind promptly."""


class BudgetSpent(Cancelled):
    """The run sent every request --max-requests allows; the rest of it is not read."""


class Failure(StrEnum):
    """What kind of failure ended a request: each has its own advice (`tip`)."""

    REFUSED = "refused"  # the connection was refused: nothing listens there
    DNS = "dns"  # the host name does not resolve
    TLS = "tls"  # the server's certificate does not verify
    TLS_HANDSHAKE = "tls_handshake"  # TLS failed otherwise (a plain-http server, a protocol)
    PROXY = "proxy"  # the proxy (HTTPS_PROXY) failed or refused the tunnel
    TIMEOUT = "timeout"  # no complete response within --timeout
    NETWORK = "network"  # reset, dropped: anything else on the way
    REDIRECT = "redirect"  # a redirect fcaudit does not follow
    NOT_STRIPE = "not_stripe"  # an answer that is not a Stripe JSON body
    RATE_LIMITED = "rate_limited"  # 429s until the retries ran out
    SERVER = "server"  # 5xx (and 409) until the retries ran out
    NOT_FOUND = "not_found"  # 404: Stripe does not know the id
    REFUSED_REQUEST = "refused_request"  # another 4xx: Stripe's message says why


# What to do after each kind of failure. Each must be true for every error of its kind: a
# refused connection is not an outage (re-running later won't help), a 5xx is not the key.
TIPS: dict[Failure, str] = {
    Failure.REFUSED: (
        "nothing accepts connections there: check --api-base (FCAUDIT_API_BASE) and, "
        "behind a proxy, HTTPS_PROXY"
    ),
    Failure.DNS: "check the host name (--api-base), the DNS, or HTTPS_PROXY",
    Failure.TLS: (
        "behind a TLS-intercepting proxy, point REQUESTS_CA_BUNDLE at a file of its CA "
        "certificates (PEM)"
    ),
    Failure.TLS_HANDSHAKE: (
        "check --api-base (http:// for a server without TLS, such as the sandbox) and HTTPS_PROXY"
    ),
    Failure.PROXY: "check HTTPS_PROXY, and NO_PROXY for hosts reached directly",
    Failure.TIMEOUT: "re-run later, or give each request longer with --timeout",
    Failure.NETWORK: "re-run later; if it persists, check the network and any proxy on the way",
    Failure.REDIRECT: "check --api-base: redirects are followed within one host and port only",
    Failure.NOT_STRIPE: (
        "check --api-base and HTTPS_PROXY: what answered is not Stripe's API (a proxy's "
        "error page?)"
    ),
    Failure.RATE_LIMITED: "re-run later, or lower --max-rps and --concurrency",
    Failure.SERVER: "re-run later; if it persists, see status.stripe.com",
    Failure.NOT_FOUND: (
        "Stripe's message says what it does not know: an id (check it, and --stripe-account "
        "for a connected account's objects) or a URL (check --api-base)"
    ),
    Failure.REFUSED_REQUEST: "Stripe's message says what it refused",
}


def tip(err: RequestFailed) -> str:
    """The advice for a failed request, by its kind (the network's reason, or Stripe's)."""
    if err.kind is None:  # a listing that would not end, an answer that was not a list
        return "re-run later; if it persists, quote the request id to Stripe support"
    return TIPS[err.kind]


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
        kind: Failure | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.code = code
        self.attempts = attempts
        # Stripe's error `type` (`invalid_request_error`, `api_error`, ...), when it sent one.
        self.error_type = error_type
        self.kind = kind  # None: not said (a listing that would not end, a bad id)
        self.param = param  # the parameter Stripe's error names, when it names one


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A response header by name, whatever its case; None when absent."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date), when a server sends one."""
    value = header(headers, "Retry-After")
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


class PaginationError(RequestFailed):
    """A listing that would not end by itself; the pages before it were kept."""
