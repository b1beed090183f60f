"""AppContext: resolved settings, the two consoles and the clock, shared by every command."""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlparse

from rich.console import Console
from rich.text import Text

from fcaudit.client import ClientSettings, StripeGateway, key_mode
from fcaudit.errors import UsageError
from fcaudit.ratelimit import RateLimiter
from fcaudit.stripe_api import is_loopback, is_preview
from fcaudit.text import make_console, safe

# Client-side budget defaults: headroom under Stripe's documented limits
# (https://docs.stripe.com/rate-limits: 100 req/s live, 25 req/s in test mode, and 25 req/s
# per endpoint by default in both).
DEFAULT_RPS = {"live": 80.0, "test": 20.0}
DEFAULT_ENDPOINT_RPS = 20.0
DEFAULT_CONCURRENCY = 16

ID_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")


def check_id(value: str, prefix: str, what: str) -> str:
    """Validate a Stripe id's prefix and characters; raise a one-line UsageError."""
    value = value.strip()
    if not value.startswith(prefix) or len(value) <= len(prefix) or not ID_PATTERN.match(value):
        raise UsageError(
            f"{safe(value)!s} is not a {what} id. Tip: {what} ids look like {prefix}..."
        )
    return value


def parse_as_of(text: str | None, clock: Callable[[], datetime]) -> datetime:
    """`--as-of` as an aware UTC datetime; a bare date means midnight UTC."""
    if text is None:
        return clock()
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--as-of {safe(text)!r} is not a date. Tip: use YYYY-MM-DD or an ISO 8601 time "
            "such as 2026-12-01T09:00:00Z."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
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
            loopback = is_loopback(url.hostname)
            if url.scheme == "http" and not loopback:
                raise UsageError(
                    "--api-base uses plain http to a non-loopback host, which would send the "
                    "API key unencrypted. Tip: use https, or a 127.0.0.1 address."
                )
        if self.concurrency is not None and not 1 <= self.concurrency <= 128:
            raise UsageError("--concurrency must be between 1 and 128.")
        if self.timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds.")

    def settings(self, api_key: str, api_base: str | None) -> ClientSettings:
        return ClientSettings(
            api_key=api_key,
            stripe_version=self.stripe_version.strip(),
            stripe_account=self.stripe_account,
            api_base=api_base,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )


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


@dataclass
class AppContext:
    """Lives on click's ctx.obj: consoles, clock and the gateway factory."""

    quiet: bool = False
    color: bool | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    err: Console = field(init=False)

    def __post_init__(self) -> None:
        self.err = make_console(sys.stderr, color=self.color)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.err.print(Text(f"Warning: {message}", style="yellow"))

    def error(self, message: str) -> None:
        """A failure worth knowing even with --quiet (a scope that failed)."""
        self.err.print(Text(f"Error: {message}", style="red"))

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(Text(message))

    @contextlib.contextmanager
    def gateway(self, opts: StripeOptions) -> Iterator[StripeGateway]:
        """A gateway for the options; with --sandbox, one pointed at an embedded sandbox."""
        opts.validate()
        if opts.sandbox:
            from fcaudit.sandbox import SANDBOX_API_KEY, running_sandbox

            with running_sandbox() as sandbox:
                self.info(f"Using the embedded sandbox at {sandbox.base_url} (test data).")
                yield self._build(opts, SANDBOX_API_KEY, sandbox.base_url, unthrottled=True)
            return
        yield self._build(opts, resolve_key(opts.api_key), opts.api_base, unthrottled=False)

    def _build(
        self, opts: StripeOptions, key: str, api_base: str | None, *, unthrottled: bool
    ) -> StripeGateway:
        if not is_preview(opts.stripe_version):
            self.warn(
                f"Stripe-Version {safe(opts.stripe_version)} is not a preview version: inactive "
                "accounts cannot say why (inactive_unknown) and authorizations are unavailable."
            )
        mode = key_mode(key)
        # The embedded sandbox has no rate limit, so it runs unthrottled unless asked.
        default_rps = None if unthrottled else DEFAULT_RPS[mode]
        default_ep = None if unthrottled else DEFAULT_ENDPOINT_RPS
        rps = default_rps if opts.max_rps is None else (opts.max_rps or None)
        ep = default_ep if opts.max_endpoint_rps is None else (opts.max_endpoint_rps or None)
        limiter = RateLimiter(rps, ep, clock=time.monotonic) if (rps or ep) else None
        return StripeGateway(opts.settings(key, api_base), limiter=limiter)
