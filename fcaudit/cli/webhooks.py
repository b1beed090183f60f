"""`fcaudit webhooks`: can the integration hear the FC events it relies on?"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import click

from fcaudit.cli.options import format_option, stripe_options
from fcaudit.errors import ApiError, ExitCode, UsageError
from fcaudit.options import ReportOptions, StripeOptions
from fcaudit.text import safe

CODES = (
    "not_subscribed",
    "destination_disabled",
    "payload_lacks_status_details",
    "wrong_audience",
)


def parse_codes(text: str) -> frozenset[str]:
    """--fail-on: a comma list of finding codes, 'any' or 'none'."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if words == ["none"]:
        return frozenset()
    if words == ["any"]:
        return frozenset(CODES)
    bad = [w for w in words if w not in CODES]
    if not words or bad:
        what = f"unknown finding {bad[0]!r}" if bad else "empty"
        raise UsageError(
            f"--fail-on: {what}. Tip: a comma list of {', '.join(CODES)}, or 'any' or 'none'."
        )
    return frozenset(words)


@click.command()
@format_option
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write the report to FILE atomically (the extension picks the format).",
)
@click.option(
    "--fail-on",
    default="any",
    show_default=True,
    help=f"Exit 1 when a finding has one of these codes (comma list of {', '.join(CODES)}; "
    "'any' or 'none').",
)
@click.option("--show-urls", is_flag=True, help="Show destinations' whole URLs, not only hosts.")
@click.option(
    "--owner",
    type=click.Choice(["platform", "connected"]),
    help="Whose FC accounts these are, when fcaudit cannot learn it (for wrong_audience). "
    "Default: the platform when it lists FC accounts or FC events.",
)
@click.option(
    "--state",
    "state_path",
    metavar="FILE",
    help="A `scan --state` store: whose FC accounts it holds (the platform's, or a connected "
    "account's) counts for wrong_audience. Read only.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on stderr.")
@stripe_options
def webhooks(
    fmt: str,
    output: str | None,
    fail_on: str,
    show_urls: bool,
    owner: str | None,
    state_path: str | None,
    quiet: bool,
    stripe: StripeOptions,
) -> ExitCode:
    """Check that the FC webhook events reach an enabled destination, with status_details.

    Lists every v1 webhook endpoint (GET /v1/webhook_endpoints) and, where the key and API
    version allow, every v2 event destination (GET /v2/core/event_destinations: a refusal is
    a note). For each FC event type fcaudit knows, the enabled destinations that receive it;
    findings not_subscribed, destination_disabled, payload_lacks_status_details and
    wrong_audience, each with the destination's id and the fix. Secrets are never shown;
    URLs only as their host unless --show-urls.

    \b
    Examples:
      fcaudit webhooks --sandbox
      fcaudit webhooks -f json | jq '.findings[] | select(.code=="not_subscribed")'
      fcaudit webhooks --fail-on payload_lacks_status_details -q -o webhooks.json
    """
    from fcaudit.cli.common import app_for, output_format
    from fcaudit.model.findings import iso
    from fcaudit.model.webhooks import Audience, audit
    from fcaudit.output import OutputTarget
    from fcaudit.render import OutputFormat, resolve_format
    from fcaudit.render.webhooks import render
    from fcaudit.signals import interruptible
    from fcaudit.sources.webhooks import owners_from_store, read_destinations, read_facts
    from fcaudit.stripe.failures import Cancelled

    codes = parse_codes(fail_on)
    report = ReportOptions(
        fmt=fmt.lower(),
        output=output,
        fail_on=frozenset(),
        as_of=None,
        horizon_days=30,
        show_active=False,
        quiet=quiet,
        color=None,
    )
    app = app_for(report)
    chosen = output_format(report)
    to_file = output is not None and output != "-"
    resolved = resolve_format(chosen, stdout_is_tty=app.out.isatty(), to_file=to_file)
    notes: list[str] = []
    with interruptible(), app.gateway(stripe) as gateway:
        try:
            destinations = read_destinations(gateway, show_urls=show_urls, notes=notes)
            facts = read_facts(gateway, notes)
        except Cancelled:
            if not gateway.budget_spent:
                raise KeyboardInterrupt from None
            raise ApiError(
                f"--max-requests {stripe.max_requests} was spent before the destinations were "
                "read; no report was written. Tip: allow more requests (a page of endpoints, "
                "one of v2 destinations and two more)."
            ) from None
        if state_path is not None:
            if not os.path.isfile(state_path):
                raise UsageError(f"--state {safe(state_path)} is not a file.")
            own = stripe.stripe_account or gateway.own_account_id()
            stored = owners_from_store(state_path, own)
            facts = dataclasses.replace(facts, owners=facts.owners | stored)
    if owner is not None:
        wanted = Audience.SELF if owner == "platform" else Audience.CONNECTED
        facts = dataclasses.replace(facts, owners=frozenset({wanted}))
    facts = dataclasses.replace(facts, notes=tuple(notes))
    result = audit(destinations, facts)
    meta: dict[str, Any] = {
        "generated_at": iso(app.clock()),
        "stripe_account": stripe.stripe_account,
        "default_api_version": facts.default_version,
    }
    target = OutputTarget(output, app.out)
    try:
        fmt_name = "table" if resolved is OutputFormat.AUTO else str(resolved)
        render(fmt_name, result, meta, target.stream)
        target.commit()
    except BaseException:
        target.discard()
        raise
    if to_file or resolved is not OutputFormat.TABLE:
        app.info(f"Webhooks: {result.summary_line()}")
    failed = any(str(f.code) in codes for f in result.findings)
    return ExitCode.FINDINGS if failed else ExitCode.OK
