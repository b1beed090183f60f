"""Typed, validated option objects: what the command line asked for, without click.

The CLI's option decorators build these (fcaudit/cli/options.py); everything below the CLI
reads fields, never `**kwargs` by string key.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from fcaudit.errors import UsageError
from fcaudit.model.findings import Category, EventFlag, SignalCode, parse_iso
from fcaudit.model.report import GroupBy
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.ids import check_id
from fcaudit.stripe.redact import secret_part, without_secrets
from fcaudit.text import safe

# --concurrency: requests in flight at most. The one default and range, for scans and events.
CONCURRENCY_RANGE = (1, 128)
DEFAULT_CONCURRENCY = 16
# --reconcile-every: an incremental run becomes a full one when the last full run is older.
DEFAULT_RECONCILE = timedelta(days=7)
TIMEOUT_MAX = 600.0  # seconds; one attempt longer than the whole retry budget makes no sense
MIN_RPS = 0.01  # a positive budget below this is a typo (1e-300 would wait for ever)
_KEY_CHARS = re.compile(r"[A-Za-z0-9_]+")  # what a key may hold (shape: redact.KEY_PATTERN)
# What an --api-base may contain: RFC 3986 unreserved characters, '%', and the delimiters of
# scheme://host:port/path. No userinfo (@), query (?), fragment (#), backslash or space.
_URL_CHARS = re.compile(r"[A-Za-z0-9._~%:/\[\]-]+")


def is_loopback(host: str) -> bool:
    """A literal loopback address (127.0.0.0/8, ::1) or `localhost`; never a DNS name such
    as `127.example.com`, which could resolve anywhere."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_api_base(value: str) -> None:
    """Refuse an --api-base the two URL parsers could read differently, or that would send
    the key over plain http to anything but a loopback address.

    The check uses urllib3's parser, the one the HTTP stack connects with, and also requires
    the standard library's `urlsplit` to agree: `http://evil.example\\@127.0.0.1` is
    127.0.0.1 to one and evil.example to the other.
    """
    import urllib3

    shown = safe(without_secrets(value), limit=80)  # a key in a URL must not be echoed
    tip = "Tip: e.g. http://127.0.0.1:12111 or https://proxy.example.com."
    if not _URL_CHARS.fullmatch(value):
        raise UsageError(
            f"--api-base {shown!r} has characters a base URL must not have (userinfo '@', a "
            f"query, a fragment, a backslash or spaces). {tip}"
        )
    try:
        ours = urllib3.util.parse_url(value)
        theirs = urlsplit(value)
        their_port = theirs.port
    except ValueError:
        raise UsageError(f"--api-base {shown!r} is not a valid URL. {tip}") from None
    scheme = (ours.scheme or "").lower()
    host = (ours.host or "").lower().strip("[]")
    if scheme not in ("http", "https") or not host:
        raise UsageError(f"--api-base {shown!r} is not an http(s) URL. {tip}")
    if (
        theirs.scheme.lower() != scheme
        or (theirs.hostname or "").lower() != host
        or their_port != ours.port
        or ours.auth
        or theirs.username is not None
    ):
        raise UsageError(f"--api-base {shown!r} is ambiguous: URL parsers disagree on it. {tip}")
    if scheme == "http" and not is_loopback(host):
        raise UsageError(
            "--api-base uses plain http to a non-loopback host, which would send the "
            "API key unencrypted. Tip: use https, or a 127.0.0.1 address."
        )


_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
# One syntax for every duration option (--grace, --since, --reconcile-every): whole numbers
# with a unit, summed (`1d12h`), from 0 to ten years.
DURATION = re.compile(r"(\d+)([dhms])")
MAX_DURATION = timedelta(days=10 * 365)


def parse_duration(text: str, flag: str) -> timedelta:
    """`7d`, `36h`, `90m`, `3600s`, or a sum such as `1d12h`; from 0 to ten years."""
    value = text.strip().lower()
    shown = safe(text, limit=40)
    if not value:
        raise UsageError(f"{flag} is empty. Tip: a duration such as 7d, 36h or 1d12h.")
    if value.startswith("-") and re.fullmatch(r"(\d+[dhms])+", value[1:]):
        raise UsageError(f"{flag} {shown!r} is negative. Tip: a duration of 0s or more, e.g. 7d.")
    if value.isdigit():
        raise UsageError(
            f"{flag} {shown!r} has no unit. Tip: add one: {value}d, {value}h, {value}m or {value}s."
        )
    parts = DURATION.findall(value)
    if "".join(n + u for n, u in parts) != value:
        raise UsageError(
            f"{flag} {shown!r} is not a duration. Tip: a whole number and a unit (d, h, m or "
            "s), such as 7d, 36h or 1d12h."
        )
    # A number of more than 12 digits is past ten years in any unit (and int() has limits).
    if any(len(n.lstrip("0")) > 12 for n, _ in parts) or (
        sum(int(n) * _UNITS[u] for n, u in parts) > MAX_DURATION.total_seconds()
    ):
        raise UsageError(f"{flag} {shown!r} is more than ten years. Tip: e.g. 7d or 36h.")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))


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
        return parse_iso(value)
    except ValueError:
        raise UsageError(
            f"--as-of {safe(text)!r} is not a date. Tip: use YYYY-MM-DD, an ISO 8601 time such "
            "as 2026-12-01T09:00:00Z, or Unix seconds such as 1796083200."
        ) from None


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
    max_requests: int | None = None  # --max-requests: the most one run may send

    @property
    def workers(self) -> int:
        """Requests in flight at most: --concurrency (click checks its range), or the default."""
        return self.concurrency or DEFAULT_CONCURRENCY

    def validate(self) -> None:
        """Check the options click can't (ids, URLs, budgets); a UsageError says which."""
        if self.stripe_account is not None:
            check_id(self.stripe_account, id_kinds.CONNECTED_ACCOUNT, "--stripe-account")
        if not self.stripe_version.strip():
            raise UsageError("--stripe-version is empty. Tip: e.g. 2026-09-30.preview.")
        if self.sandbox and self.api_base:
            raise UsageError("--sandbox and --api-base conflict. Tip: use one of them.")
        if self.api_base:
            check_api_base(self.api_base)
        if not (math.isfinite(self.timeout) and 0 < self.timeout <= TIMEOUT_MAX):
            raise UsageError(
                f"--timeout must be a number of seconds above 0 and at most {TIMEOUT_MAX:g}."
            )
        for flag, rps in (
            ("--max-rps", self.max_rps),
            ("--max-endpoint-rps", self.max_endpoint_rps),
        ):
            if rps is not None and not (rps == 0 or (math.isfinite(rps) and rps >= MIN_RPS)):
                raise UsageError(
                    f"{flag} must be 0 (unlimited) or a number of requests per second of at "
                    f"least {MIN_RPS:g}."
                )


@dataclass(frozen=True)
class ReportOptions:
    """Output and policy flags shared by every command that writes a report."""

    fmt: str
    output: str | None
    fail_on: frozenset[Category | SignalCode | EventFlag]
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
    baseline: str | None = None  # --baseline FILE: an earlier JSON report
    fail_on_change: str | None = None  # --fail-on-change new,worse
    ignore: str | None = None  # --ignore FILE: suppressions (TOML)
    show_suppressed: bool = False
    metrics_labels: tuple[str, ...] = ()  # --metrics-label NAME=VALUE, as given


def resolve_key(key: str | None) -> str:
    """The API key from --api-key / STRIPE_API_KEY, checked but never echoed."""
    if not key or not key.strip():
        raise UsageError(
            "no Stripe API key. Tip: set STRIPE_API_KEY (or pass --api-key), or try --sandbox "
            "for a demo without a key."
        )
    key = key.strip()
    if not _KEY_CHARS.fullmatch(key):
        # Never echoed: it is the key. A space, newline or control character inside it is
        # a copy-and-paste accident that would break the Authorization header.
        raise UsageError(
            "the API key contains characters a Stripe key never has (whitespace, control "
            "characters or punctuation). Tip: check STRIPE_API_KEY for a pasted line break."
        )
    if not key.startswith(("sk_", "rk_")):
        raise UsageError(
            "the API key is not a secret (sk_...) or restricted (rk_...) key. Tip: fcaudit "
            "needs a server-side key; a restricted key with read access is best."
        )
    if not secret_part(key):
        # Only a prefix (`sk_`, `rk_test_`): nothing secret to echo, so it is named.
        raise UsageError(
            f"the API key is only the prefix {key}, with nothing after it. Tip: copy the whole "
            "key from the Stripe Dashboard (Developers > API keys), or try --sandbox."
        )
    return key
