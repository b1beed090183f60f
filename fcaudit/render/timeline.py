"""The table of `fcaudit events`: a timeline, oldest event first, then (with --verify) each
object as it is now and whether it is still broken.

Rows: time, event type (without `financial_connections.`), object, holder, the category of
the snapshot, and the webhook delivery (`undelivered (n)`, `pending (n)` within the grace
period, `delivered`). Names from the API are untrusted: shown through `safe()`. Times, ids
and categories are never cut; on a narrow terminal the holder column goes first, then the
type column is shortened with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from fcaudit.console import make_console
from fcaudit.model.findings import Category, Finding, iso
from fcaudit.model.report import ReportMeta, ScanResult, plural
from fcaudit.render.base import Collector
from fcaudit.render.detail import STYLES
from fcaudit.text import safe

GAP = "  "
INDENT = "  "
PREFIX = "financial_connections."
MIN_TYPE = 12


def _type(f: Finding) -> str:
    name = f.event_type or "-"
    return name[len(PREFIX) :] if name.startswith(PREFIX) else name


def _delivery(f: Finding) -> tuple[str, str]:
    """The webhook column's text and style."""
    pending = f.pending_webhooks
    if pending is None:
        return "-", "dim"
    if f.undelivered:
        return f"undelivered ({pending})", "bold red"
    if pending:
        return f"pending ({pending})", "yellow"
    return "delivered", "dim"


def _verdict(event: Category | None, now: Category) -> tuple[str, bool]:
    """Is the object still broken, now that the handler may have missed its event?"""
    if now is Category.ACTIVE:
        return ("repaired" if event not in (None, Category.ACTIVE) else "ok"), False
    if now is Category.EXPIRING:
        return "expiring: relink before the date", True
    healthy = event in (None, Category.ACTIVE, Category.EXPIRING)
    return ("broken since the event" if healthy else "still broken"), True


def _order(f: Finding) -> tuple[float, str]:
    when = f.event_created.timestamp() if f.event_created is not None else float("-inf")
    return (when, f.event_id or "")


def _cells(values: Sequence[tuple[str, int, str]]) -> Text:
    """Cells padded to their widths (the last one is not padded); styles per cell."""
    line = Text(INDENT)
    for i, (value, width, style) in enumerate(values):
        cell = Text(safe(value), style=style)
        if i < len(values) - 1:
            cell.truncate(width, overflow="ellipsis", pad=True)
        line.append(cell)
        if i < len(values) - 1:
            line.append(GAP)
    line.rstrip()
    return line


class TimelineRenderer(Collector):
    """The table of `fcaudit events`: what happened to each object and whether its webhook
    was delivered, then (--verify) whether it is still broken."""

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        """Print the heading, the timeline, the --verify view and the summary."""
        console = make_console(self._stream, color=self._options.color, wide=True)
        events = sorted((f for f in self._findings if f.event_type is not None), key=_order)
        now = [f for f in self._findings if f.event_type is None]
        self._head(console, events, meta)
        self._timeline(console, events)
        if now:
            self._verified(console, events, now)
        self._summary(console, result, events, meta)

    def _head(self, console: Console, events: Sequence[Finding], meta: ReportMeta) -> None:
        scope = meta.scope
        what = "undelivered events" if scope.get("undelivered") else "events"
        objects = len({(f.object, f.id) for f in events})
        line = Text(f"{plural(len(events), 'event')} about {plural(objects, 'object')}", "bold")
        line.append(f" ({what} since {scope.get('since', '?')}")
        if scope.get("latest"):
            line.append(", the latest of each object")
        line.append(")")
        console.print(line, soft_wrap=True)
        console.print()

    def _timeline(self, console: Console, events: Sequence[Finding]) -> None:
        if not events:
            console.print(Text(f"{INDENT}No events in this period."))
            console.print()
            return
        width = console.width
        time_w = max(len(iso(f.event_created)) if f.event_created else 1 for f in events)
        id_w = max(len(safe(f.id)) for f in events)
        holder_w = max(len(safe(f.account_holder or "-")) for f in events)
        cat_w = max(len(str(f.category)) for f in events)
        type_w = max(len(safe(_type(f))) for f in events)
        hook_w = max(len(_delivery(f)[0]) for f in events)
        fixed = len(INDENT) + time_w + id_w + cat_w + hook_w + 4 * len(GAP)
        show_holder = fixed + type_w + holder_w + len(GAP) <= width
        room = width - fixed - (holder_w + len(GAP) if show_holder else 0)
        type_w = max(MIN_TYPE, min(type_w, room))
        for f in events:
            hook, hook_style = _delivery(f)
            cells = [
                (iso(f.event_created) if f.event_created else "-", time_w, ""),
                (_type(f), type_w, ""),
                (f.id, id_w, ""),
            ]
            if show_holder:
                cells.append((f.account_holder or "-", holder_w, "dim"))
            cells += [(str(f.category), cat_w, STYLES[f.category]), (hook, hook_w, hook_style)]
            console.print(_cells(cells), soft_wrap=True)
        console.print()

    def _verified(
        self, console: Console, events: Sequence[Finding], now: Sequence[Finding]
    ) -> None:
        latest = {(f.object, f.id): f for f in events}  # sorted: the last one wins
        console.print(Text("Now (--verify): each object as Stripe returns it today", "bold"))
        id_w = max(len(safe(f.id)) for f in now)
        holder_w = max(len(safe(f.account_holder or "-")) for f in now)
        cat_w = max(len(str(c)) for c in Category)
        for f in sorted(now, key=lambda x: (x.severity, x.id)):
            was = latest.get((f.object, f.id))
            before = was.category if was is not None else None
            verdict, broken = _verdict(before, f.category)
            cells = [
                (f.id, id_w, ""),
                (f.account_holder or "-", holder_w, "dim"),
                (f"event: {before or '-'}", cat_w + 7, STYLES[before] if before else "dim"),
                (f"now: {f.category}", cat_w + 5, STYLES[f.category]),
                (verdict, len(verdict), "bold red" if broken else "green"),
            ]
            console.print(_cells(cells), soft_wrap=True)
        console.print()

    def _summary(
        self, console: Console, result: ScanResult, events: Sequence[Finding], meta: ReportMeta
    ) -> None:
        counts: dict[Category, int] = {}
        for f in events:
            counts[f.category] = counts.get(f.category, 0) + 1
        line = Text(f"Summary: {plural(len(events), 'event')}")
        for i, c in enumerate(c for c in Category if counts.get(c)):
            line.append(": " if i == 0 else ", ")
            line.append(f"{counts[c]} {c}", style=STYLES[c])
        line.append(f"; {result.undelivered} undelivered")
        if result.events_skipped:
            line.append(f"; {plural(result.events_skipped, 'event')} about other objects skipped")
        console.print(line, soft_wrap=True)
        console.print(
            Text(
                f"As of {iso(meta.as_of)}, Stripe-Version {meta.stripe_version or '(offline)'}. "
                "Resend an undelivered event with the Stripe CLI ('stripe events resend "
                "EVENT_ID --webhook-endpoint we_...') or from Workbench's Webhooks tab.",
                style="dim",
            ),
            soft_wrap=True,
        )
