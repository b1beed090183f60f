"""AppContext: what every command shares, on click's `ctx.obj`.

The streams, the clocks, `sleep`, the random source and the gateway factory live here so tests
inject them (no CliRunner test sleeps for real, backoff included) and nothing deep inside
reads the environment or the time by itself.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from fcaudit.options import StripeOptions, resolve_key
from fcaudit.stripe.facts import is_preview
from fcaudit.stripe.redact import key_mode
from fcaudit.text import safe

if TYPE_CHECKING:
    from fcaudit.stripe.gateway import StripeGateway

# Client-side budget defaults: headroom under Stripe's documented limits
# (https://docs.stripe.com/rate-limits: 100 req/s live, 25 req/s in test mode, and 25 req/s
# per endpoint by default in both).
DEFAULT_RPS = {"live": 80.0, "test": 20.0}
DEFAULT_ENDPOINT_RPS = 20.0

_STYLES = {"error": "\x1b[31m", "warning": "\x1b[33m"}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    """Streams, clocks and factories for one invocation. Tests build their own."""

    stdout: TextIO | None = None  # None: sys.stdout at the time of use (CliRunner swaps it)
    stderr: TextIO | None = None
    clock: Callable[[], datetime] = _utcnow
    monotonic: Callable[[], float] = time.monotonic
    # None: the gateway's own cancel-aware wait. Tests pass a function that returns at once.
    sleep: Callable[[float], None] | None = None
    rng: Callable[[], float] = random.random
    quiet: bool = False
    color: bool | None = None
    _warned: set[str] = field(default_factory=set, repr=False)

    @property
    def out(self) -> TextIO:
        """The stream for data: stdout, or the one a test injects."""
        return self.stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        """The stream for messages: stderr, or the one a test injects."""
        return self.stderr or sys.stderr

    def _colored(self) -> bool:
        if self.color is not None:
            return self.color
        return self.err.isatty() and not os.environ.get("NO_COLOR")

    def _print(self, text: str, kind: str | None = None) -> None:
        if kind and self._colored():
            text = f"{_STYLES[kind]}{text}\x1b[0m"
        self.err.write(text + "\n")
        self.err.flush()

    def warn(self, message: str) -> None:
        """Print a warning on stderr (hidden with -q, like every message but errors)."""
        if not self.quiet:
            self._print(f"Warning: {safe(message)}", "warning")

    def error(self, message: str) -> None:
        """A failure worth knowing even with --quiet (a scope that failed)."""
        self._print(f"Error: {safe(message)}", "error")

    def info(self, message: str) -> None:
        """Print progress information on stderr (hidden with -q)."""
        if not self.quiet:
            self._print(safe(message))

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
        from fcaudit.stripe.gateway import ClientSettings, StripeGateway, max_pages
        from fcaudit.stripe.ratelimit import RateLimiter

        on_answer = None
        if not is_preview(opts.stripe_version):
            # Said once Stripe has accepted the version: a version it refuses is one error.
            def on_answer() -> None:
                self.warn(
                    f"Stripe-Version {opts.stripe_version} is not a preview version: inactive "
                    "accounts cannot say why (inactive_unknown) and do not name their "
                    "authorization."
                )

        mode = key_mode(key)
        # The embedded sandbox has no rate limit, so it runs unthrottled unless asked.
        default_rps = None if unthrottled else DEFAULT_RPS[mode]
        default_ep = None if unthrottled else DEFAULT_ENDPOINT_RPS
        rps = default_rps if opts.max_rps is None else (opts.max_rps or None)
        ep = default_ep if opts.max_endpoint_rps is None else (opts.max_endpoint_rps or None)
        limiter = RateLimiter(rps, ep, clock=self.monotonic) if (rps or ep) else None
        settings = ClientSettings(
            max_pages=max_pages(),
            api_key=key,
            stripe_version=opts.stripe_version.strip(),
            stripe_account=opts.stripe_account,
            api_base=api_base,
            timeout=opts.timeout,
            max_retries=opts.max_retries,
            concurrency=opts.workers,
            max_requests=opts.max_requests,
        )
        return StripeGateway(
            settings,
            limiter=limiter,
            clock=self.monotonic,
            rng=self.rng,
            sleep=self.sleep,
            on_answer=on_answer,
        )
