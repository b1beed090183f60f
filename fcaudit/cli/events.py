"""`fcaudit events`: the FC events of a period, each classified; undelivered webhooks."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from fcaudit.cli.common import app_for, audited_account, make_plan
from fcaudit.cli.options import report_options, stripe_options
from fcaudit.errors import ExitCode
from fcaudit.options import ReportOptions, StripeOptions


@click.command()
@click.option(
    "--since",
    default="7d",
    show_default=True,
    metavar="DURATION|DATE",
    help="Events created since then: a duration back from now (7d, 36h) or a date / ISO 8601 "
    "time; at most 30 days back (Stripe keeps events for 30 days).",
)
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="TYPE",
    help="Only these event types (repeatable; 'financial_connections.account.*' wildcards). "
    "Default: every financial_connections.account.* and .authorization.* type.",
)
@click.option(
    "--undelivered",
    is_flag=True,
    help="Only events a webhook endpoint has not acknowledged (pending_webhooks > 0) for "
    "--grace or longer.",
)
# Stripe retries a failed delivery for up to three days; an hour without an acknowledgement
# is already worth a look (https://docs.stripe.com/webhooks/process-undelivered-events).
@click.option(
    "--grace",
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="How long Stripe may take to deliver an event before it counts as undelivered.",
)
@click.option(
    "--latest",
    is_flag=True,
    help="Each object once, as its latest event shows it (as classify does for events).",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Also retrieve each object the events name (once each) and show whether it is "
    "still broken.",
)
@report_options
@stripe_options
def events(
    since: str,
    types: tuple[str, ...],
    undelivered: bool,
    grace: str,
    latest: bool,
    verify: bool,
    report: ReportOptions,
    stripe: StripeOptions,
) -> ExitCode:
    """List the Financial Connections events of a period, each classified, and find the
    ones a webhook endpoint never acknowledged.

    Pages GET /v1/events (every FC account and authorization event type, created since
    --since). Each event is one finding with the category of the object as the event shows
    it, event_type, event_created, event_id, pending_webhooks and undelivered. An event
    with pending_webhooks > 0 that is at least --grace old is undelivered: counted in the
    summary, and 'undelivered' in --fail-on makes it exit 1. The table is a timeline.

    \b
    Examples:
      fcaudit events --sandbox
      fcaudit events --undelivered --fail-on undelivered -q -o missed.json   # cron
      fcaudit events --since 36h --type 'financial_connections.account.*' -f ndjson
      fcaudit events --undelivered --verify           # missed, and still broken now?
      fcaudit events --latest -f ndjson | jq -r 'select(.category=="relink_required") | .id'
    """
    from fcaudit.model.findings import iso
    from fcaudit.options import parse_duration
    from fcaudit.runner import Pipeline
    from fcaudit.signals import interruptible
    from fcaudit.sources.events import EventQuery, EventSource, parse_since, select_types
    from fcaudit.stripe.facts import retrieves_authorizations

    app = app_for(report)
    chosen = select_types(types)
    grace_period = parse_duration(grace, "--grace")
    plan = make_plan(app, "events", {}, report, events=latest, stripe_account=stripe.stripe_account)
    start = parse_since(since, plan.as_of)  # --since and --grace count back from --as-of
    scope: dict[str, Any] = {
        "type": "events",
        "ids": None,
        "types": list(chosen),
        "since": iso(start),
        "undelivered": undelivered,
        "grace_seconds": int(grace_period.total_seconds()),
        "latest": latest,
        "verify": verify,
    }
    if stripe.stripe_account:
        scope["stripe_account"] = stripe.stripe_account
    plan = dataclasses.replace(
        plan, scope=scope, render=dataclasses.replace(plan.render, timeline=True)
    )
    preview = retrieves_authorizations(stripe.stripe_version)
    if verify and not preview:
        app.warn(
            "--verify retrieves accounts only: Stripe documents the Authorization endpoint at "
            "preview versions and GA versions from 2026-07-29 on."
        )
    query = EventQuery(
        types=chosen,
        since=start,
        now=plan.as_of,
        grace=grace_period,
        undelivered_only=undelivered,
        verify=verify,
        verify_authorizations=preview,
    )
    with interruptible(), app.gateway(stripe) as gateway:
        plan = audited_account(plan, gateway)
        source = EventSource(gateway, query, concurrency=stripe.workers)
        return Pipeline(app, plan).run(source)
