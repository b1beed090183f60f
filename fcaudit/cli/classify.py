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
    from fcaudit.output import same_file
    from fcaudit.runner import Pipeline
    from fcaudit.signals import interruptible
    from fcaudit.sources.files import FileSource, open_source
    from fcaudit.text import safe

    app = app_for(report)
    if source == "-" and sys.stdin.isatty():
        raise UsageError("no input on stdin. Tip: give a FILE, or pipe JSON into fcaudit.")
    if same_file(source, report.output):
        raise UsageError(
            f"-o {safe(str(report.output))} is the input being classified; writing the report "
            "would replace it. Tip: write the report to another file."
        )
    name = "stdin" if source == "-" else source
    plan = make_plan(
        app, "classify", {"type": "file", "source": name}, report, flush_each=False, events=True
    )
    with interruptible(), open_source(source) as stream:
        return Pipeline(app, plan).run(FileSource(stream, name))
