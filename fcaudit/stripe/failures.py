"""The error model of a request: what failed, whether to retry it, and how to say so."""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping

import stripe

from fcaudit.stripe.redact import MAX_REQUEST_ID, clean
from fcaudit.stripe.transport import DeadlineExceeded, RedirectRefused


def request_id_of(headers: Mapping[str, str] | None, api_key: str | None) -> str | None:
    """The response's Request-Id, cleaned and bounded like every other network string."""
    rid = header(headers, "Request-Id")
    return clean(rid, api_key, MAX_REQUEST_ID) if rid else None


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


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A response header by name, whatever its case; None when absent."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


_NETWORK_REASON = re.compile(
    r"\[Errno -?\d+\] [^'\")\]]+|Read timed out|timed out|Connection aborted|"
    r"RemoteDisconnected\([^)]*\)|Connection reset by peer"
)


def describe(err: stripe.StripeError, api_key: str | None = None) -> str:
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


# -- the HTTP transport: one deadline per request, no redirect to another origin ---------


class PaginationError(RequestFailed):
    """A listing that would not end by itself; the pages before it were kept."""
