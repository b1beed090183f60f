"""`fcaudit diff OLD.json NEW.json`: the baseline comparison, offline."""

from __future__ import annotations

import dataclasses

import click

from fcaudit.cli.common import app_for, load_baseline, make_plan
from fcaudit.cli.options import report_options
from fcaudit.errors import ExitCode, UsageError
from fcaudit.model.findings import parse_iso
from fcaudit.options import ReportOptions


@click.command()
@click.argument("old", metavar="OLD.json")
@click.argument("new", metavar="NEW.json")
@report_options
def diff(old: str, new: str, report: ReportOptions) -> ExitCode:
    """Compare two fcaudit JSON reports; no key, no network.

    NEW's findings are shown as NEW classified them, each with its change against OLD (new,
    worse, same, better), and the OLD findings that are now active or gone are listed as
    resolved. --fail-on and --fail-on-change decide the exit code as in a scan.

    \b
    Examples:
      fcaudit diff monday.json tuesday.json
      fcaudit diff old.json new.json --format json | jq '.resolved'
      fcaudit diff old.json new.json --fail-on-change new,worse -q || alert
    """
    from fcaudit.runner import Pipeline
    from fcaudit.signals import interruptible
    from fcaudit.sources.files import ReportSource

    if report.baseline is not None:
        raise UsageError("fcaudit diff compares OLD with NEW: --baseline has no place here.")
    app = app_for(report)
    old_report = load_baseline(old, "OLD")
    new_name, new_report = load_baseline(new, "NEW")
    env = new_report.envelope
    plan = make_plan(app, "diff", env.get("scope") or {}, report)
    as_of, horizon = env.get("as_of"), env.get("expiring_within_days")
    plan = dataclasses.replace(
        plan,
        baseline=old_report,
        # The findings were classified when NEW was written: its clock and horizon hold.
        as_of=parse_iso(as_of) if isinstance(as_of, str) else plan.as_of,
        horizon_days=horizon if isinstance(horizon, int) else plan.horizon_days,
    )
    with interruptible():
        return Pipeline(app, plan).run(ReportSource(new_report, new_name))
