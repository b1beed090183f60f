"""Option decorators: each adds its click options and hands the command one typed, frozen
object (`stripe: StripeOptions`, `report: ReportOptions`) instead of loose keyword arguments."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from fcaudit.model.report import GroupBy
from fcaudit.options import (
    CONCURRENCY_RANGE,
    DEFAULT_CONCURRENCY,
    ReportOptions,
    StripeOptions,
)
from fcaudit.policy import DEFAULT_FAIL_ON, parse_fail_on
from fcaudit.render import OutputFormat
from fcaudit.stripe.facts import DEFAULT_HORIZON_DAYS, PREVIEW_VERSION

F = TypeVar("F", bound=Callable[..., Any])

FORMAT_NAMES = [str(x) for x in OutputFormat]
# -f/--format of every command that writes a report (scan, account, ..., webhooks).
format_option = click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMAT_NAMES, case_sensitive=False),
    default="auto",
    show_default=True,
    help="auto = table on a terminal, json otherwise.",
)


def _apply(f: Callable[..., Any], options: list[Callable[[F], F]]) -> Callable[..., Any]:
    for opt in reversed(options):
        f = opt(f)
    return f


def stripe_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Connection and budget flags; the command receives `stripe: StripeOptions`."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kw: Any) -> Any:
        api_base = kw.pop("api_base")
        source = click.get_current_context().get_parameter_source("api_base")
        if kw["sandbox"] and source in (
            click.core.ParameterSource.ENVIRONMENT,
            click.core.ParameterSource.DEFAULT_MAP,
        ):
            # An exported FCAUDIT_API_BASE, or the config file's, must not block a --sandbox
            # demo.
            api_base = None
        kw["stripe"] = StripeOptions(
            api_key=kw.pop("api_key"),
            stripe_version=kw.pop("stripe_version"),
            stripe_account=kw.pop("stripe_account"),
            api_base=api_base,
            sandbox=kw.pop("sandbox"),
            max_rps=kw.pop("max_rps"),
            max_endpoint_rps=kw.pop("max_endpoint_rps"),
            concurrency=kw.pop("concurrency"),
            timeout=kw.pop("timeout"),
            max_retries=kw.pop("max_retries"),
            max_requests=kw.pop("max_requests"),
        )
        return f(*args, **kw)

    low, high = CONCURRENCY_RANGE
    return _apply(
        wrapper,
        [
            click.option(
                "--api-key",
                envvar="STRIPE_API_KEY",
                show_envvar=True,
                metavar="KEY",
                help="Secret (sk_) or restricted (rk_) key. Prefer the environment variable: "
                "a flag is visible in the process list.",
            ),
            click.option(
                "--stripe-version",
                envvar="FCAUDIT_STRIPE_VERSION",
                show_envvar=True,
                default=PREVIEW_VERSION,
                show_default=True,
                help="Stripe-Version header. Inactive causes and authorizations need a preview "
                "version.",
            ),
            click.option(
                "--stripe-account",
                metavar="acct_...",
                help="Send Stripe-Account: read the FC accounts of this connected account.",
            ),
            click.option(
                "--api-base",
                envvar="FCAUDIT_API_BASE",
                show_envvar=True,
                metavar="URL",
                help="Talk to another server (a proxy, or `fcaudit sandbox serve`).",
            ),
            click.option(
                "--sandbox",
                is_flag=True,
                help="Run against an embedded sandbox with test data; no key needed.",
            ),
            click.option(
                "--max-rps",
                type=click.FloatRange(min=0),
                help="Global request budget per second (0 = unlimited). Default: 80 for live "
                "keys, 20 for test keys, unlimited with --sandbox.",
            ),
            click.option(
                "--max-endpoint-rps",
                type=click.FloatRange(min=0),
                help="Per-endpoint request budget per second (0 = unlimited). Default: 20.",
            ),
            click.option(
                "--concurrency",
                type=click.IntRange(low, high),
                help=f"Requests in flight at most. Default: {DEFAULT_CONCURRENCY}.",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                default=30.0,
                show_default=True,
                help="Seconds to wait for one response before retrying.",
            ),
            click.option(
                "--max-retries",
                type=click.IntRange(0, 20),
                default=6,
                show_default=True,
                help="Retries per request for 429, 5xx, timeouts and dropped connections "
                "(exponential backoff with jitter, at most 2 minutes per request).",
            ),
            click.option(
                "--max-requests",
                type=click.IntRange(min=1),
                envvar="FCAUDIT_MAX_REQUESTS",
                show_envvar=True,
                metavar="N",
                help="Send at most N requests in all (retries count), then stop: the report "
                "is incomplete (exit 5) and errors[] says what was not read (request_budget).",
            ),
        ],
    )


def report_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Output and policy flags; the command receives `report: ReportOptions`."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kw: Any) -> Any:
        kw["report"] = ReportOptions(
            fmt=kw.pop("fmt").lower(),
            output=kw.pop("output"),
            fail_on=parse_fail_on(kw.pop("fail_on")),
            as_of=kw.pop("as_of"),
            horizon_days=int(kw.pop("expiring_within")),
            show_active=kw.pop("show_active"),
            quiet=kw.pop("quiet"),
            color=kw.pop("color"),
            rules_file=kw.pop("rules_file"),
            no_rules=kw.pop("no_rules"),
            group_by=GroupBy(kw.pop("group_by").lower()),
            metrics=kw.pop("metrics"),
            metrics_labels=tuple(kw.pop("metrics_labels")),
            pager=kw.pop("pager"),
            baseline=kw.pop("baseline"),
            fail_on_change=kw.pop("fail_on_change"),
            ignore=kw.pop("ignore"),
            show_suppressed=kw.pop("show_suppressed"),
        )
        return f(*args, **kw)

    return _apply(
        wrapper,
        [
            format_option,
            click.option(
                "-o",
                "--output",
                metavar="FILE",
                help="Write the report to FILE atomically (a failed run leaves FILE untouched). "
                "Without --format, the extension picks it: .json .ndjson .csv .md .html .prom.",
            ),
            click.option(
                "--group-by",
                type=click.Choice([str(g) for g in GroupBy], case_sensitive=False),
                default=str(GroupBy.CUSTOMER),
                show_default=True,
                help="Group findings (the table, groups[] in JSON, CSV/Markdown/HTML) by holder, "
                "authorization or institution.",
            ),
            click.option(
                "--metrics",
                metavar="FILE",
                help="Also write Prometheus metrics (node_exporter textfile format) to FILE, "
                "atomically.",
            ),
            click.option(
                "--metrics-label",
                "metrics_labels",
                metavar="NAME=VALUE",
                multiple=True,
                help="Prometheus: add this label to every series (repeatable), to tell apart "
                "jobs that share a textfile directory.",
            ),
            click.option(
                "--pager/--no-pager",
                default=None,
                help="Table: page output taller than the terminal through $FCAUDIT_PAGER, "
                "$PAGER or 'less -R' (default: on a terminal).",
            ),
            click.option(
                "--fail-on",
                default=DEFAULT_FAIL_ON,
                # The default written with spaces, so --help wraps it between names, never
                # inside one (click's [default: ...] has none to wrap at).
                help="Exit 1 when a finding has one of these categories or signals (comma list, "
                f"'any' or 'none'). Default: {DEFAULT_FAIL_ON.replace(',', ', ')}.",
            ),
            click.option(
                "--baseline",
                metavar="FILE",
                help="Compare with an earlier JSON report: each finding gets change "
                "(new, worse, same, better) and the report lists what was resolved.",
            ),
            click.option(
                "--fail-on-change",
                metavar="CHANGES",
                help="With --baseline: exit 1 only for --fail-on findings with one of these "
                "changes (e.g. new,worse: alert once per problem).",
            ),
            click.option(
                "--ignore",
                metavar="FILE",
                help="Suppressions (TOML, README 'Suppressions'): findings set aside with a "
                "reason, out of the exit decision and the table.",
            ),
            click.option(
                "--show-suppressed",
                is_flag=True,
                help="Table: list suppressed findings too.",
            ),
            click.option(
                "--as-of",
                metavar="DATE",
                help="Classify as if now were DATE (YYYY-MM-DD, ISO 8601, or Unix seconds). "
                "Default: now.",
            ),
            click.option(
                "--expiring-within",
                type=click.IntRange(0, 3650),
                default=DEFAULT_HORIZON_DAYS,
                show_default=True,
                metavar="DAYS",
                help="Horizon for 'expiring' (Stripe warns 30 days ahead).",
            ),
            click.option(
                "--rules",
                "rules_file",
                metavar="FILE",
                help="Add institution rules from a TOML file, or replace shipped ones by id "
                "(README: 'Institution rules').",
            ),
            click.option(
                "--no-rules",
                is_flag=True,
                help="Ignore institution rules: only Stripe's own dates count.",
            ),
            click.option("--show-active", is_flag=True, help="Table: list active findings too."),
            click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors."),
            click.option(
                "--color/--no-color",
                default=None,
                help="Force colour on or off (default: on for terminals, off with NO_COLOR).",
            ),
        ],
    )
