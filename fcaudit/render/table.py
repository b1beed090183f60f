"""The terminal table (rich). Names from the API are untrusted: shown literally via `safe()`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from rich import box
from rich.table import Table
from rich.text import Text

from fcaudit.console import make_console
from fcaudit.model import (
    AUTHORIZATION_OBJECT,
    Category,
    Finding,
    ReportMeta,
    ScanResult,
    iso,
    plural,
    summary_parts,
)
from fcaudit.render.base import RenderOptions
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


def _account_label(f: Finding) -> str:
    name = f.display_name or ""
    last4 = f"••{f.last4}" if f.last4 else ""
    return " ".join(p for p in (name, last4) if p) or "-"


def _deactivation(f: Finding) -> str:
    if f.expected_deactivation_date is None:
        return ""
    days = f.days_until_deactivation
    when = (
        "today" if days == 0 else (f"in {days}d" if days and days > 0 else f"{-(days or 0)}d ago")
    )
    return f"{f.expected_deactivation_date.date().isoformat()} ({when})"


class TableRenderer:
    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._options = options
        self._console = make_console(stream, color=options.color, wide=True)
        self._findings: list[Finding] = []

    def finding(self, finding: Finding) -> None:
        self._findings.append(finding)

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        self._findings.sort(key=Finding.sort_key)
        if self._options.detail:
            for f in self._findings:
                self._detail(f)
        else:
            self._tables()
        self._summary(result, meta)

    # -- list view --------------------------------------------------------------------------

    def _tables(self) -> None:
        shown = [f for f in self._findings if self._options.show_active or f.category != "active"]
        accounts = [f for f in shown if f.object != AUTHORIZATION_OBJECT]
        auths = [f for f in shown if f.object == AUTHORIZATION_OBJECT]
        if accounts:
            table = self._table("Accounts", "Account")
            for f in accounts:
                table.add_row(*self._row(f, _account_label(f)), end_section=True)
            self._console.print(table)
        if auths:
            table = self._table("Authorizations", "Authorization")
            for f in auths:
                covers = ", ".join(f.accounts) if f.accounts else "(accounts not scanned)"
                table.add_row(*self._row(f, covers), end_section=True)
            self._console.print(table)
        if not shown:
            self._console.print(Text("Nothing needs attention."))

    def _table(self, title: str, label: str) -> Table:
        table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", expand=False)
        table.add_column("Category", no_wrap=True)
        table.add_column(label, overflow="fold", ratio=3)
        table.add_column("Cause / action / +signals", overflow="fold", ratio=2)
        table.add_column("Deactivation", no_wrap=True)
        table.add_column("What to do", overflow="fold", ratio=5)
        return table

    def _row(self, f: Finding, label: str) -> list[Text]:
        style = STYLES[f.category]
        place = Text(safe(f.institution_name or "unknown institution"), style="bold")
        place.append("\n" + safe(label))
        ids = " · ".join(safe(x) for x in (f.account_holder, f.id) if x)
        place.append("\n" + ids, style="dim")
        cause_action = Text("\n".join(safe(x) for x in (f.cause, f.action) if x) or "-")
        for code in dict.fromkeys(s.code for s in f.signals):  # each code once, in order
            cause_action.append(f"\n+{code}", style="dim")
        when = _deactivation(f).replace(" (", "\n(")
        if f.expected_deactivation_source and f.expected_deactivation_source != "stripe":
            when += f"\n{f.expected_deactivation_source}"
        return [
            _t(f.category, style),
            place,
            cause_action,
            Text(when),
            _t(f.recommendation),
        ]

    # -- detail view ------------------------------------------------------------------------

    def _detail(self, f: Finding) -> None:
        table = Table(
            title=f"{safe(f.id)}  ({f.object})",
            box=box.SIMPLE,
            show_header=False,
            title_justify="left",
        )
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        table.add_row(_t("category"), _t(f.category, STYLES[f.category]))
        table.add_row(_t("what to do"), _t(f.recommendation))
        if f.detail:
            table.add_row(_t("note"), _t(f.detail))
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
            ("expected deactivation", _deactivation(f) or None),
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
        self._console.print(table)

    # -- summary ----------------------------------------------------------------------------

    def _summary(self, result: ScanResult, meta: ReportMeta) -> None:
        head, counts = summary_parts(result)
        line = Text(f"Summary: {head}")
        for i, (c, n) in enumerate(counts):
            line.append(": " if i == 0 else ", ")
            line.append(f"{n} {c}", style=STYLES[c])
        if not counts:
            line.append(" (nothing found)")
        self._console.print(line)
        hidden = result.counts.get(Category.ACTIVE, 0)
        if hidden and not self._options.show_active and not self._options.detail:
            self._console.print(
                Text(f"{plural(hidden, 'active finding')} not listed; --show-active lists them.")
            )
        if result.by_institution:
            inst = Text("Needing attention by institution: ")
            top = result.by_institution.most_common()
            inst.append(", ".join(f"{safe(name)} {n}" for name, n in top))
            self._console.print(inst)
        self._console.print(
            Text(
                f"As of {iso(meta.as_of)}, horizon {plural(meta.horizon_days, 'day')}, "
                f"Stripe-Version {meta.stripe_version or '(offline)'}."
            ),
            style="dim",
        )


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
