"""The terminal table (rich). Names from the API are untrusted: shown literally via `safe()`."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from rich import box
from rich.table import Table
from rich.text import Text

from fcaudit.classify import status_signals
from fcaudit.findings import AUTHORIZATION_OBJECT, Category, Finding
from fcaudit.render.base import ReportMeta, iso
from fcaudit.scan import ScanResult
from fcaudit.text import make_console, safe

STYLES: dict[Category, str] = {
    Category.RELINK_REQUIRED: "bold red",
    Category.EXPIRING: "yellow",
    Category.INACTIVE_UNKNOWN: "magenta",
    Category.INACTIVE_UNREPAIRABLE: "red",
    Category.DISCONNECTED: "bright_black",
    Category.UNKNOWN: "cyan",
    Category.ACTIVE: "green",
}


def _t(value: object, style: str = "") -> Text:
    return Text("" if value is None else safe(value), style=style)


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
    def __init__(self, stream: TextIO, meta: ReportMeta) -> None:
        self._meta = meta
        self._console = make_console(stream, color=meta.color, wide=True)
        self._findings: list[Finding] = []

    def finding(self, finding: Finding) -> None:
        self._findings.append(finding)

    def finish(self, result: ScanResult) -> None:
        self._findings.sort(key=Finding.sort_key)
        if self._meta.detail:
            for f in self._findings:
                self._detail(f)
        else:
            self._tables()
        self._summary(result)

    # -- list view --------------------------------------------------------------------------

    def _tables(self) -> None:
        shown = [f for f in self._findings if self._meta.show_active or f.category != "active"]
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
        table.add_column("Cause / action", overflow="fold", ratio=2)
        table.add_column("Deactivation", no_wrap=True)
        table.add_column("What to do", overflow="fold", ratio=5)
        return table

    def _row(self, f: Finding, label: str) -> list[Text]:
        style = STYLES[f.category]
        place = Text(safe(f.institution_name or "unknown institution"), style="bold")
        place.append("\n" + safe(label))
        ids = " · ".join(safe(x) for x in (f.account_holder, f.id) if x)
        place.append("\n" + ids, style="dim")
        cause_action = "\n".join(safe(x) for x in (f.cause, f.action) if x) or "-"
        when = _deactivation(f).replace(" (", "\n(")
        return [
            _t(f.category, style),
            place,
            Text(cause_action),
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

    def _summary(self, result: ScanResult) -> None:
        counts: Counter[Category] = result.counts
        line = Text("Summary: ")
        parts = [(c, counts.get(c, 0)) for c in Category if counts.get(c, 0)]
        for i, (c, n) in enumerate(parts):
            if i:
                line.append(", ")
            line.append(f"{n} {c}", style=STYLES[c])
        if not parts:
            line.append("no accounts found")
        line.append(f"  ({result.accounts} account(s), {result.authorizations} authorization(s))")
        self._console.print(line)
        hidden = counts.get(Category.ACTIVE, 0)
        if hidden and not self._meta.show_active and not self._meta.detail:
            self._console.print(
                Text(f"{hidden} active finding(s) not listed; --show-active lists them.")
            )
        if result.by_institution:
            inst = Text("Needing attention by institution: ")
            top = result.by_institution.most_common()
            inst.append(", ".join(f"{safe(name)} {n}" for name, n in top))
            self._console.print(inst)
        as_of = iso(self._meta.as_of)
        self._console.print(
            Text(
                f"As of {as_of}, horizon {self._meta.horizon_days} days, "
                f"Stripe-Version {self._meta.stripe_version or '(offline)'}."
            ),
            style="dim",
        )
