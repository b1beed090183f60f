"""``fcaudit sandbox serve``: run the local Stripe-compatible server from the command line."""

from __future__ import annotations

import errno
import ipaddress
import signal
import sys
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import IO, Any

import click

from fcaudit.options import is_loopback
from fcaudit.sandbox.data import DEFAULT_CONNECTED_CUSTOMERS, DEMO, NAME_SCENARIOS
from fcaudit.sandbox.faults import CUE_KINDS, Cue
from fcaudit.sandbox.server import SANDBOX_API_KEY, start_sandbox


class _OneLineUsageError(click.UsageError):
    """A usage error (exit 2) shown as a single ``Error: …`` line, without the usage banner."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the error as one ``Error: …`` line (click calls this to show it)."""
        click.echo(f"Error: {self.format_message()}", err=True, file=file)


def _loopback_host(host: str) -> str:
    if host.lower() == "localhost":
        return "127.0.0.1"
    if not is_loopback(host):
        raise _OneLineUsageError(
            f"--host {host} is not a loopback address; the sandbox only listens on "
            "127.0.0.0/8, localhost or ::1."
        )
    return str(ipaddress.ip_address(host.strip("[]")))


def _parse_now(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date/time (e.g. 2026-11-20T12:00:00Z).", ctx, param
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_cues(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[Cue, ...]:
    try:
        return tuple(Cue.parse(v) for v in values)
    except ValueError as err:
        raise click.BadParameter(f"{err}.", ctx, param) from None


_FRACTION = click.FloatRange(0.0, 1.0)
_RATE = click.FloatRange(min=0.0, min_open=True)
_MS = click.FloatRange(min=0.0)


@click.group(name="sandbox")
def sandbox() -> None:
    """A local Stripe-compatible server with deterministic test data.

    \b
    Examples:
      fcaudit sandbox serve
      fcaudit sandbox serve --port 0 --customers 2000 --scenario adversarial
      STRIPE_API_KEY=sk_test_fcaudit_sandbox fcaudit scan --api-base http://127.0.0.1:12111
    """


@sandbox.command(name="serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to listen on (127.0.0.0/8, localhost or ::1 only).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=12111,
    show_default=True,
    help="Port to listen on; 0 picks a free port.",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Seed for the data set and the fault decisions.",
)
@click.option(
    "--customers",
    type=click.IntRange(min=0),
    default=300,
    show_default=True,
    help="Number of customers (about 3 FC accounts each).",
)
@click.option(
    "--fc-share",
    type=_FRACTION,
    default=None,
    metavar="FRACTION",
    help="Share of customers with FC accounts, for a fleet (e.g. 0.05); default: about 90%.",
)
@click.option(
    "--connected-customers",
    type=click.IntRange(min=0),
    default=DEFAULT_CONNECTED_CUSTOMERS,
    show_default=True,
    help="Customers in each connected account's own data set (served to its Stripe-Account "
    "header; GET /v1/accounts lists the connected accounts).",
)
@click.option(
    "--require-account-filter",
    is_flag=True,
    help="Refuse the unfiltered account list (no account_holder or session) with a 400 "
    "invalid_request_error, as a Stripe requiring a filter would.",
)
@click.option(
    "--scenario",
    type=click.Choice(NAME_SCENARIOS),
    default=DEMO,
    show_default=True,
    help="Names in the data: believable ones (demo), or hostile text such as markup, "
    "terminal escapes and CSV formulas (adversarial). Ids and truth are the same.",
)
@click.option(
    "--latency-ms",
    type=_MS,
    default=0.0,
    show_default=True,
    help="Added latency per /v1 request, in milliseconds.",
)
@click.option(
    "--jitter-ms",
    type=_MS,
    default=0.0,
    show_default=True,
    help="Extra uniform random latency of up to this many milliseconds.",
)
@click.option(
    "--rate-limit",
    "rate_limit",
    type=_RATE,
    default=None,
    metavar="RPS",
    help="Global limit in requests/s; requests over it get Stripe's 429 rate_limit error.",
)
@click.option(
    "--endpoint-rate-limit",
    type=_RATE,
    default=None,
    metavar="RPS",
    help="Limit in requests/s per endpoint (GETs of different ids share one endpoint).",
)
@click.option(
    "--lock-timeout-rate",
    type=_FRACTION,
    default=0.0,
    show_default=True,
    metavar="FRACTION",
    help="Share of first attempts (a URL not asked before) answered with a 429 lock_timeout "
    "without Stripe-Rate-Limited-Reason: not a rate limit.",
)
@click.option(
    "--concurrency-429-rate",
    type=_FRACTION,
    default=0.0,
    show_default=True,
    metavar="FRACTION",
    help="Share of first attempts answered with a 429 endpoint-concurrency.",
)
@click.option(
    "--max-in-flight",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Requests in flight to one endpoint beyond N get a 429 endpoint-concurrency.",
)
@click.option(
    "--error-rate",
    type=_FRACTION,
    default=0.0,
    show_default=True,
    metavar="FRACTION",
    help="Share of /v1 requests answered with a 500 or 503 api_error.",
)
@click.option(
    "--drop-rate",
    type=_FRACTION,
    default=0.0,
    show_default=True,
    metavar="FRACTION",
    help="Share of /v1 requests whose connection is closed without any answer.",
)
@click.option(
    "--cue",
    "cues",
    multiple=True,
    callback=_parse_cues,
    metavar="KIND:COUNT[@PATH]",
    help=f"Script a fault for the next COUNT /v1 requests (to PATH only, if given); repeatable, "
    f"used in order. KIND: {', '.join(CUE_KINDS)}. A stall holds the request until the client "
    "gives up; ok lets requests through, so 'ok:5@P' then 'stall:1@P' stalls the sixth.",
)
@click.option(
    "--now",
    callback=_parse_now,
    metavar="ISO8601",
    help="The clock the data set is relative to (default: the current time).",
)
@click.option(
    "--webhook-url",
    metavar="URL",
    help="POST each event the control endpoint creates to URL, signed as Stripe signs "
    "(e.g. http://127.0.0.1:8765/webhook for fcaudit listen); failed deliveries are retried.",
)
@click.option(
    "--webhook-secret",
    envvar="FCAUDIT_SANDBOX_WEBHOOK_SECRET",
    show_envvar=True,
    metavar="SECRET",
    help="The signing secret for --webhook-url (give listen the same in STRIPE_WEBHOOK_SECRET).",
)
def serve(
    host: str,
    port: int,
    seed: int,
    customers: int,
    fc_share: float | None,
    connected_customers: int,
    require_account_filter: bool,
    scenario: str,
    latency_ms: float,
    jitter_ms: float,
    rate_limit: float | None,
    endpoint_rate_limit: float | None,
    lock_timeout_rate: float,
    concurrency_429_rate: float,
    max_in_flight: int | None,
    error_rate: float,
    drop_rate: float,
    cues: tuple[Cue, ...],
    now: datetime | None,
    webhook_url: str | None,
    webhook_secret: str | None,
) -> None:
    """Serve the sandbox until interrupted (Ctrl-C or SIGTERM).

    Any test-mode key is accepted (sk_test_… or rk_test_…). Preview-only fields and the
    authorizations endpoint need a Stripe-Version ending in ".preview". GET /__sandbox/truth
    gives the expected category, signals and expected_deactivation_source of every account
    and authorization, and each object's latest category in GET /v1/events; GET
    /__sandbox/stats gives request counters. POST /__sandbox/control changes accounts between
    two runs and emits the matching events (a sandbox feature: fcaudit.sandbox.control).

    \b
    Examples:
      fcaudit sandbox serve
      fcaudit sandbox serve --port 0 --customers 20000
      fcaudit sandbox serve --rate-limit 25 --error-rate 0.05 --latency-ms 80 --jitter-ms 40
      fcaudit sandbox serve --now 2026-11-20T12:00:00Z --seed 7
      fcaudit sandbox serve --scenario adversarial
      fcaudit sandbox serve --customers 100000 --fc-share 0.05   # a large, sparse fleet
      fcaudit sandbox serve --require-account-filter   # refuses the unfiltered account list
      fcaudit sandbox serve --cue 503:2 --cue stall:1@/v1/financial_connections/accounts
      fcaudit sandbox serve --lock-timeout-rate 0.33 --max-in-flight 4   # non-rate 429s
      fcaudit sandbox serve --webhook-url http://127.0.0.1:8765/webhook \\
        --webhook-secret whsec_sandbox_demo          # deliver events to fcaudit listen
      curl -u sk_test_fcaudit_sandbox: -H "Stripe-Version: 2026-09-30.preview" \\
        "http://127.0.0.1:12111/v1/financial_connections/accounts?limit=3"
    """
    bind_host = _loopback_host(host)
    sender = _webhook_sender(webhook_url, webhook_secret)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            running = start_sandbox(
                host=bind_host,
                port=port,
                seed=seed,
                customers=customers,
                latency_ms=latency_ms,
                jitter_ms=jitter_ms,
                rate_limit=rate_limit,
                endpoint_rate_limit=endpoint_rate_limit,
                error_rate=error_rate,
                drop_rate=drop_rate,
                lock_timeout_rate=lock_timeout_rate,
                concurrency_429_rate=concurrency_429_rate,
                max_in_flight=max_in_flight,
                now=now,
                scenario=scenario,
                cues=cues,
                fc_share=fc_share,
                connected_customers=connected_customers,
                require_account_filter=require_account_filter,
            )
        except OSError as exc:
            # Exit 2 like any usage error; exit 1 means "findings" elsewhere in fcaudit.
            tip = "Tip: pick another --port, or --port 0 for any free port."
            if exc.errno == errno.EADDRINUSE:
                raise _OneLineUsageError(f"port {port} on {bind_host} is in use. {tip}") from None
            raise _OneLineUsageError(
                f"cannot listen on {bind_host} port {port}: {exc.strerror or exc}. {tip}"
            ) from None
        running.server.webhooks = sender  # type: ignore[attr-defined]
        try:
            click.echo(
                f"fcaudit sandbox serving on {running.base_url} (test key: {SANDBOX_API_KEY})"
            )
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
        finally:
            running.close()
    finally:
        if sender is not None:
            sender.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _webhook_sender(url: str | None, secret: str | None) -> Any:
    """The sender of --webhook-url, or None; a URL without a secret is refused."""
    if url is None:
        if secret:
            raise _OneLineUsageError("--webhook-secret needs --webhook-url. Tip: give both.")
        return None
    from urllib.parse import urlsplit

    from fcaudit.sandbox.webhooks import WebhookSender

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _OneLineUsageError(
            "--webhook-url must be an http(s) URL. Tip: e.g. http://127.0.0.1:8765/webhook."
        )
    if not secret or not secret.strip():
        raise _OneLineUsageError(
            "--webhook-url needs --webhook-secret (or FCAUDIT_SANDBOX_WEBHOOK_SECRET): the "
            "secret the deliveries are signed with. Tip: give listen the same secret."
        )
    return WebhookSender(url, secret.strip())


if __name__ == "__main__":
    sandbox(prog_name="fcaudit sandbox")
