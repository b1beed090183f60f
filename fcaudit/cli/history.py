"""`fcaudit history SCOPE --state FILE` and `fcaudit trend --state FILE`: health over time,
from the changes a --state store records (fcaudit.sources.state.record_transition)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from fcaudit.app import AppContext
from fcaudit.cli.options import stripe_options
from fcaudit.errors import ExitCode, UsageError
from fcaudit.sources.state import StateError

FORMATS = ("table", "json")


def _app() -> AppContext:
    ctx = click.get_current_context()
    return ctx.find_object(AppContext) or ctx.ensure_object(AppContext)


def _as_of(text: str | None, app: AppContext) -> datetime:
    from fcaudit.options import parse_as_of

    return parse_as_of(text, app.clock)


def _write(app: AppContext, output: str | None, text: str) -> None:
    """To stdout, or to a file replaced atomically (an earlier one stays on failure)."""
    from fcaudit.output import OutputTarget

    target = OutputTarget(output, stdout=app.out, flag="--output")
    try:
        target.stream.write(text)
        target.stream.flush()
        target.commit()
    except BaseException:
        target.discard()
        raise


def _check_scope(scope: str) -> str:
    from fcaudit.stripe import ids as id_kinds
    from fcaudit.stripe.ids import is_stripe_id, kind_of
    from fcaudit.text import safe

    kinds = (
        id_kinds.ACCOUNT,
        id_kinds.AUTHORIZATION,
        id_kinds.CUSTOMER,
        id_kinds.CONNECTED_ACCOUNT,
    )
    kind = kind_of(scope)
    if kind not in kinds or kind is None or not is_stripe_id(scope, kind.prefix):
        raise UsageError(
            f"fcaudit history: {safe(scope, limit=60)!r} is not an account (fca_), "
            "authorization (fcauth_), customer (cus_) or connected account (acct_) id. Tip: "
            "e.g. fcaudit history fca_123 --state fc.sqlite."
        )
    return scope


def from_events(app: AppContext, stripe: Any, scope: str, now: datetime) -> list[dict[str, Any]]:
    """The scope's category changes in the events Stripe keeps (30 days): each FC event's
    object classified as of the event, a change wherever its category differs from the one
    before (the first event of an object has no `category_from`)."""
    from fcaudit.classify import NotClassifiable, classify
    from fcaudit.model.findings import iso
    from fcaudit.signals import interruptible
    from fcaudit.sources.stored import holder_of
    from fcaudit.stripe.facts import EVENT_RETENTION_DAYS, FC_EVENT_TYPES
    from fcaudit.stripe.failures import RequestFailed

    oldest = int(now.timestamp()) - EVENT_RETENTION_DAYS * 86400 + 300
    found: list[tuple[int, str, dict[str, Any], str]] = []
    with interruptible(), app.gateway(stripe) as gateway:
        try:
            for event in gateway.iter_events(FC_EVENT_TYPES, created_gte=oldest):
                data = event.get("data") if isinstance(event, dict) else None
                obj = data.get("object") if isinstance(data, dict) else None
                created, eid = event.get("created"), event.get("id")
                if not isinstance(obj, dict) or type(created) is not int:
                    continue
                auth = obj.get("authorization")
                auth = auth.get("id") if isinstance(auth, dict) else auth
                if scope in (obj.get("id"), holder_of(obj), auth):
                    found.append((created, str(eid), obj, str(event.get("type"))))
        except RequestFailed as err:
            raise StateError(f"fcaudit history: listing events: {err.message}") from None
    changes: list[dict[str, Any]] = []
    last: dict[str, str] = {}
    for created, eid, obj, _ in sorted(found, key=lambda e: (e[0], e[1])):
        when = datetime.fromtimestamp(created, tz=UTC)
        try:
            category = str(classify(obj, now=when).category)
        except NotClassifiable:
            continue
        oid = str(obj.get("id"))
        if last.get(oid) == category:
            continue
        changes.append(
            {
                "id": oid,
                "object": str(obj.get("object")),
                "holder": holder_of(obj),
                "category_from": last.get(oid),
                "category_to": category,
                "at": iso(when),
                "source": f"event:{eid}",
            }
        )
        last[oid] = category
    return changes


@click.command()
@click.argument("scope", metavar="ID")
@click.option(
    "--state",
    "state_path",
    metavar="FILE",
    help="The store of scan --state runs, which records every category change. Without it, "
    "or when it has nothing on ID, the events Stripe keeps (30 days) are read instead.",
)
@click.option(
    "-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
@stripe_options
def history(
    scope: str, state_path: str | None, fmt: str, output: str | None, stripe: Any
) -> ExitCode:
    """Every category change of an account, authorization or customer (--state).

    ID is an account (fca_), an authorization (fcauth_: with the accounts under it), or a
    customer or connected account (cus_, acct_). Each change says when, from what to what,
    and the event or run that showed it; then what each object is in now. Read from a
    --state store (read-only, no key, no lock); without one, or when it has nothing on ID,
    from the events Stripe keeps for 30 days (each event's object classified as of the
    event).

    \b
    Examples:
      fcaudit history fca_1MwVK2 --state fc.sqlite
      fcaudit history cus_123 --state fc.sqlite -f json | jq '.changes[]'
      fcaudit history fca_1MwVK2 --sandbox          # no store: from the events
    """
    from fcaudit.sources.state_history import HistoryReader
    from fcaudit.text import safe

    app = _app()
    _check_scope(scope)
    changes: list[dict[str, Any]] = []
    notes: list[str] = []
    current: list[dict[str, Any]] = []
    started = None
    if state_path is not None:
        with HistoryReader(state_path) as reader:
            changes = [c.to_record() for c in reader.changes(scope)]
            current = reader.current(scope)
            started = reader.started
            notes = reader.notes
    source = "state"
    if not changes and not current:  # no store, or nothing in it: what the events say
        source = "events"
        changes = from_events(app, stripe, scope, app.clock())
    if fmt == "json":
        doc: dict[str, Any] = {
            "scope": scope,
            "from": source,
            "store": state_path,
            "history_started": started.strftime("%Y-%m-%dT%H:%M:%SZ") if started else None,
            "current": current,
            "changes": changes,
            "notes": notes,
        }
        _write(app, output, json.dumps(doc, indent=2) + "\n")
        return ExitCode.OK
    lines = []
    if source == "events":
        lines.append(f"From the events of the last 30 days (no --state history of {safe(scope)}):")
    if not changes and not current:
        lines.append(f"{safe(scope)}: no category change recorded.")
    for c in changes:
        before = c["category_from"] or "(first seen)"
        shown = safe(str(c["source"]), limit=80)
        lines.append(f"{c['at']}  {safe(c['id'])}  {before} -> {c['category_to']}  ({shown})")
    if current:
        lines.append("Now:")
        for row in current:
            since = f" since {row['since']}" if row["since"] else ""
            bound = " (at least: already so when first seen)"
            bound = bound if row["since_source"] == "first_seen" else ""
            lines.append(f"  {safe(row['id'])}  {row['category'] or '?'}{since}{bound}")
    lines += [f"Note: {n}" for n in notes]
    _write(app, output, "\n".join(lines) + "\n")
    return ExitCode.OK


@click.command()
@click.option(
    "--state",
    "state_path",
    metavar="FILE",
    required=True,
    help="The store of scan --state runs, which records every category change.",
)
@click.option(
    "--since",
    default="30d",
    show_default=True,
    metavar="DURATION",
    help="How far back: a duration (d, h, m, s), e.g. 7d or 90d; whole days are shown.",
)
@click.option(
    "--as-of",
    metavar="DATE",
    help="The last day of the trend (default: now): a date, ISO 8601 time or Unix seconds.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice((*FORMATS, "html")),
    default="table",
    show_default=True,
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
def trend(state_path: str, since: str, as_of: str | None, fmt: str, output: str | None) -> ExitCode:
    """Per day: accounts broken, new breaks, repairs, time to repair (--state).

    For each day (UTC) of the window: accounts broken at its end, new breaks, repairs, and the
    median and 90th-percentile time to repair, from a --state store (read-only, no key):
    what a weekly review looks at. `-f html` draws broken accounts per day as an inline SVG
    chart.

    \b
    Examples:
      fcaudit trend --state fc.sqlite
      fcaudit trend --state fc.sqlite --since 90d -f json | jq '.days[-1]'
      fcaudit trend --state fc.sqlite -f html -o trend.html
    """
    from fcaudit.model.trend import trend as build
    from fcaudit.model.trend import trend_record
    from fcaudit.options import parse_duration
    from fcaudit.sources.state_history import HistoryReader

    app = _app()
    window = parse_duration(since, "--since")
    now = _as_of(as_of, app)
    days = max(1, -(-int(window.total_seconds()) // 86400))
    with HistoryReader(state_path) as reader:
        started = reader.started
        rows = build(reader.account_changes(), as_of=now, days=days, started=started)
    if fmt == "json":
        doc = trend_record(rows, as_of=now, started=started, store=state_path)
        _write(app, output, json.dumps(doc, indent=2) + "\n")
    elif fmt == "html":
        from fcaudit.render.trend import trend_page

        _write(app, output, trend_page(rows, as_of=now, started=started))
    else:
        from fcaudit.render.trend import trend_table

        _write(app, output, trend_table(rows, started=started))
    return ExitCode.OK
