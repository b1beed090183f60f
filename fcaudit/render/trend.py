"""`fcaudit trend` as a text table and as a self-contained HTML page whose chart of broken
accounts per day is inline SVG (no script, no network: the page's CSP allows only its own
stylesheet)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fcaudit.model.ages import duration_words
from fcaudit.model.findings import iso
from fcaudit.model.trend import TrendDay
from fcaudit.render.html import broken_chart, h, page

HEADERS = ("date", "broken", "new breaks", "repairs", "median repair", "p90 repair")


def _took(seconds: int | None) -> str:
    return duration_words(seconds) if seconds is not None else "-"


def _cells(day: TrendDay) -> tuple[str, ...]:
    broken = "-" if day.broken is None else str(day.broken)
    return (
        day.day.isoformat(),
        broken,
        str(day.new_breaks),
        str(day.repairs),
        _took(day.median()),
        _took(day.p90()),
    )


def trend_table(days: Sequence[TrendDay], *, started: datetime | None) -> str:
    """The trend as aligned text columns, one line per day."""
    rows = [HEADERS, *(_cells(d) for d in days)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if started is None or any(d.broken is None for d in days):
        began = iso(started) if started is not None else "(never: no complete run yet)"
        lines.append(f"Broken is '-' before the store's history began: {began}.")
    return "\n".join(lines) + "\n"


def trend_page(days: Sequence[TrendDay], *, as_of: datetime, started: datetime | None) -> str:
    """The trend as one inert HTML page: the chart, then the table."""
    head = "".join(f"<th>{h(c)}</th>" for c in HEADERS)
    body = ["<tr>" + "".join(f"<td>{h(c)}</td>" for c in _cells(d)) + "</tr>" for d in days]
    began = iso(started) if started is not None else "never"
    return "\n".join(
        page(
            f"fcaudit trend {iso(as_of)}",
            [
                "<h1>fcaudit trend</h1>",
                f'<p class="facts">As of {iso(as_of)}; history kept since {h(began)}.</p>',
                broken_chart(days),
                f"<table><thead><tr>{head}</tr></thead><tbody>",
                *body,
                "</tbody></table>",
            ],
        )
    )
