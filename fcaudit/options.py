"""Typed, validated option objects: what the command line asked for, without click.

The CLI's option decorators build these (fcaudit/cli/options.py); everything below the CLI
reads fields, never `**kwargs` by string key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlparse

from fcaudit.errors import UsageError
from fcaudit.model import Category, GroupBy, SignalCode
from fcaudit.stripe_api import is_loopback
from fcaudit.text import safe

ID_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
CONCURRENCY_RANGE = (1, 128)


def check_id(value: str, prefix: str, what: str) -> str:
    """Validate a Stripe id's prefix and characters; raise a one-line UsageError."""
    value = value.strip()
    if not value.startswith(prefix) or len(value) <= len(prefix) or not ID_PATTERN.match(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise UsageError(f"{safe(shown)} is not a {what} id. Tip: {what} ids look like {prefix}...")
    return value


def parse_as_of(text: str | None, clock: Callable[[], datetime]) -> datetime:
    """`--as-of` as an aware UTC datetime: a date (midnight UTC), an ISO 8601 time, or Unix
    seconds as Stripe's own timestamps are."""
    if text is None:
        return clock()
    value = text.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", value):
        seconds = float(value)
        if math.isfinite(seconds):
            return datetime.fromtimestamp(seconds, tz=UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--as-of {safe(text)!r} is not a date. Tip: use YYYY-MM-DD, an ISO 8601 time such "
            "as 2026-12-01T09:00:00Z, or Unix seconds such as 1796083200."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class StripeOptions:
    """The connection flags every Stripe-facing command takes."""

    api_key: str | None
    stripe_version: str
    stripe_account: str | None
    api_base: str | None
    sandbox: bool
    max_rps: float | None
    max_endpoint_rps: float | None
    concurrency: int | None
    timeout: float
    max_retries: int = 6

    def validate(self) -> None:
        if self.stripe_account is not None:
            check_id(self.stripe_account, "acct_", "connected account")
        if not self.stripe_version.strip():
            raise UsageError("--stripe-version is empty. Tip: e.g. 2026-09-30.preview.")
        if self.sandbox and self.api_base:
            raise UsageError("--sandbox and --api-base conflict. Tip: use one of them.")
        if self.api_base:
            url = urlparse(self.api_base)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise UsageError(
                    f"--api-base {safe(self.api_base)!r} is not an http(s) URL. "
                    "Tip: e.g. http://127.0.0.1:12111."
                )
            if url.scheme == "http" and not is_loopback(url.hostname):
                raise UsageError(
                    "--api-base uses plain http to a non-loopback host, which would send the "
                    "API key unencrypted. Tip: use https, or a 127.0.0.1 address."
                )
        low, high = CONCURRENCY_RANGE
        if self.concurrency is not None and not low <= self.concurrency <= high:
            raise UsageError(f"--concurrency must be between {low} and {high}.")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise UsageError("--timeout must be a positive number of seconds.")


@dataclass(frozen=True)
class ReportOptions:
    """Output and policy flags shared by every command that writes a report."""

    fmt: str
    output: str | None
    fail_on: frozenset[Category | SignalCode]
    as_of: str | None
    horizon_days: int
    show_active: bool
    quiet: bool
    color: bool | None
    rules_file: str | None = None
    no_rules: bool = False
    group_by: GroupBy = GroupBy.CUSTOMER
    metrics: str | None = None  # --metrics FILE: Prometheus textfile beside the main output
    pager: bool | None = None  # --pager/--no-pager; None: when stdout is a terminal


def resolve_key(key: str | None) -> str:
    """The API key from --api-key / STRIPE_API_KEY, checked but never echoed."""
    if not key or not key.strip():
        raise UsageError(
            "no Stripe API key. Tip: set STRIPE_API_KEY (or pass --api-key), or try --sandbox "
            "for a demo without a key."
        )
    key = key.strip()
    if not key.startswith(("sk_", "rk_")):
        raise UsageError(
            "the API key is not a secret (sk_...) or restricted (rk_...) key. Tip: fcaudit "
            "needs a server-side key; a restricted key with read access is best."
        )
    return key
