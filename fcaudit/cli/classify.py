"""`fcaudit classify`: saved objects, offline."""

from __future__ import annotations

import sys

import click

from fcaudit.cli.common import app_for, make_plan
from fcaudit.cli.options import report_options
from fcaudit.errors import ExitCode, UsageError
from fcaudit.options import ReportOptions


@click.command()
@click.argument("source", default="-", metavar="[FILE|-]")
@report_options
def classify(source: str, report: ReportOptions) -> ExitCode:
    """Classify saved objects offline; no key, no network.

    Input: one account or authorization, a Stripe list object, a JSON array, NDJSON (one
    object per line), or Events whose data.object is an account or authorization (saved
    webhook payloads such as financial_connections.account.deactivated, or a list of
    events). From events, each object is reported once, as its latest event shows it; events
    about other objects (financial_connections.session.updated) are skipped and counted.
    '-' reads stdin.

    \b
    Examples:
      fcaudit classify event.json
      stripe events list --type 'financial_connections.account.*' | fcaudit classify -
      fcaudit classify accounts.ndjson --format ndjson --as-of 2026-12-01
    """
    from fcaudit.offline import FileSource, open_source
    from fcaudit.runner import Pipeline, interruptible

    app = app_for(report)
    if source == "-" and sys.stdin.isatty():
        raise UsageError("no input on stdin. Tip: give a FILE, or pipe JSON into fcaudit.")
    name = "stdin" if source == "-" else source
    plan = make_plan(
        app, "classify", {"type": "file", "source": name}, report, flush_each=False, events=True
    )
    with interruptible(), open_source(source) as stream:
        return Pipeline(app, plan).run(FileSource(stream, name))
