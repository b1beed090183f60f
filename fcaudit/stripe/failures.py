"""The error model of a request: what failed, and when to try again. No stripe-python here:
the gateway translates the SDK's exceptions (`gateway.describe`) into these."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping

from fcaudit.stripe.redact import MAX_REQUEST_ID, clean


def request_id_of(headers: Mapping[str, str] | None, api_key: str | None) -> str | None:
    """The response's Request-Id, cleaned and bounded like every other network string."""
    rid = header(headers, "Request-Id")
    return clean(rid, api_key, MAX_REQUEST_ID) if rid else None


class Cancelled(Exception):
    """The run was interrupted; raised in workers to unwind promptly."""


class BudgetSpent(Cancelled):
    """The run sent every request --max-requests allows; the rest of it is not read."""


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
