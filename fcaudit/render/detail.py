"""The detail view of `fcaudit account` / `fcaudit authorization`: every field and every
status signal of each object. Names from the API are untrusted: shown literally via `safe()`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fcaudit.model.findings import Category, Finding, iso
from fcaudit.render.advice import advice, note
from fcaudit.render.base import relative_days
from fcaudit.text import safe

STYLES: dict[Category, str] = {
    Category.RELINK_REQUIRED: "bold red",
    Category.EXPIRING: "yellow",
    Category.INACTIVE_UNKNOWN: "magenta",
    Category.INACTIVE_UNREPAIRABLE: "red",
    Category.ACCOUNT_NUMBER_UNUSABLE: "red",
    Category.DISCONNECTED: "bright_black",
    Category.UNKNOWN: "cyan",
    Category.ACTIVE: "green",
}


def _value(value: object) -> str:
    """A field's value as JSON spells it (`true`, `null`), so the view matches the report."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _t(value: object, style: str = "") -> Text:
    return Text("" if value is None else safe(_value(value)), style=style)


def relative(f: Finding) -> str:
    """The expected deactivation from the as-of day (`in 5d`), or '' when there is none."""
    if f.expected_deactivation_date is None:
        return ""
    days = f.days_until_deactivation
    return relative_days(days) if days is not None else "0d ago"


def deactivation(f: Finding) -> str:
    """`2026-12-01 (in 5d)`, or '' when there is no date."""
    if f.expected_deactivation_date is None:
        return ""
    return f"{f.expected_deactivation_date.date().isoformat()} ({relative(f)})"


def print_detail(console: Console, f: Finding) -> None:
    """Every field of one object, with every status signal of the object as fetched."""
    table = Table(
        title=f"{safe(f.id)}  ({f.object})",
        box=box.SIMPLE,
        show_header=False,
        title_justify="left",
    )
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row(_t("category"), _t(f.category, STYLES[f.category]))
    # Whole, their names shortened (render/advice.py): the instruction is at the end.
    table.add_row(_t("what to do"), Text(safe(advice(f), limit=None)))
    told = note(f)
    if told:
        table.add_row(_t("note"), Text(safe(told, limit=None)))
    for s in f.signals:
        when = f" ({s.date.date().isoformat()})" if s.date else ""
        table.add_row(_t(f"signal {s.code}"), _t(f"{s.detail}{when}"))
    rows = [
        ("institution", f.institution_name),
        ("display name", f.display_name),
        ("last4", f.last4),
        (
            "account holder",
            f"{f.account_holder_type}: {f.account_holder}" if f.account_holder else None,
        ),
        ("authorization", f.authorization),
        ("covers accounts", ", ".join(f.accounts) if f.accounts else None),
        ("expected deactivation", deactivation(f) or None),
        ("date source", f.expected_deactivation_source),
        (
            "from event",
            f"{f.event_type} at {iso(f.event_created)}" if f.event_created else None,
        ),
        ("livemode", f.livemode),
    ]
    for key, value in rows:
        if value is not None:
            table.add_row(_t(key), _t(value))
    if f.raw is not None:
        for key, value in status_signals(f.raw):
            if key not in ("authorization", "livemode"):  # shown above already
                table.add_row(_t(key), _t(value))
    console.print(table)


def _stamp(value: Any) -> str | None:
    """Unix seconds as ISO 8601, for timestamps in the detail view."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return iso(datetime.fromtimestamp(value, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return None


# Every status-related field of an account or authorization, in the order the detail view
# lists them (https://docs.stripe.com/api/financial_connections/accounts/object).
_SIGNAL_FIELDS = (
    "status",
    "status_details",
    "authorization",
    "account_numbers",
    "balance_refresh",
    "ownership_refresh",
    "transaction_refresh",
    "inferred_balances_refresh",
    "subscriptions",
    "permissions",
    "supported_payment_method_types",
    "livemode",
    "created",
)
_TIME_SUFFIXES = ("_date", ".created", "last_attempted_at", "next_refresh_available_at")


def status_signals(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every status-related field of the object, flattened for a detail view."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        """One row per leaf under `prefix`; an empty object or list is a row too."""
        if isinstance(value, Mapping):
            if not value:
                rows.append((prefix, "{}"))
            for key in value:
                walk(f"{prefix}.{key}", value[key])
        elif isinstance(value, list):
            if not value:
                rows.append((prefix, "[]"))
            for i, item in enumerate(value):
                walk(f"{prefix}[{i}]", item)
        else:
            text = _value(value)
            if prefix == "created" or prefix.endswith(_TIME_SUFFIXES):
                stamp = _stamp(value)
                if stamp is not None:
                    text = f"{text} ({stamp})"
            rows.append((prefix, text))

    for key in _SIGNAL_FIELDS:
        if key in obj:
            walk(key, obj[key])
        elif key in ("status", "status_details"):
            rows.append((key, "(absent)"))
    return rows
