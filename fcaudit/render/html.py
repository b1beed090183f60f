"""HTML: one self-contained page: the summary, a chart of upcoming deactivations per week
(inline SVG), then the worklist's grouped tables and the failed scopes. What the page says, and
in which order, is the outline's (`fcaudit.render.outline`); this module is HTML's escaping and
markup, and the chart.

Self-contained and inert: no scripts, fonts, images or other requests, and a
Content-Security-Policy that forbids them (`default-src 'none'`; the one inline stylesheet is
allowed by its hash), so the page is safe to open from a mail or a ticket. The only URLs are
the Stripe Dashboard links fcaudit builds, as plain `<a href>`s.

Every string that is not fcaudit's own goes through `h()`: control and bidi characters become
visible escapes (`fcaudit.text.safe`, so a bidi override cannot reorder what is shown), then
`html.escape` (`& < > " '`), in text and attributes alike. The standard library is enough: the
page is small and built in one place, so a template engine would not earn its place.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable, Sequence
from datetime import timedelta

from fcaudit.model.findings import Category, Finding, iso
from fcaudit.model.report import ReportMeta, plural
from fcaudit.model.trend import TrendDay
from fcaudit.render.base import WEEKS_AHEAD, upcoming_by_week
from fcaudit.render.outline import (
    PLAIN_ID,
    RESOLVED_TITLE,
    TITLE,
    Cell,
    OutlineRenderer,
    day,
    link_target,
)
from fcaudit.text import DISPLAY_LIMIT, safe

STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 1.5rem auto; max-width: 80rem; padding: 0 1rem; color: #1a1a1a;
  overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .25rem; overflow-wrap: anywhere; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
table.findings { width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
td.name { min-width: 8rem; }
td.id { min-width: 12ch; }
th { background: #f6f8fa; overflow-wrap: normal; }
td.n, th.n { text-align: right; }
.headline { font-size: 1.1rem; font-weight: 600; }
.facts { margin: .25rem 0; color: #444; }
.incomplete { color: #b42318; font-weight: 600; }
.cat { font-weight: 600; }
td.cat { overflow-wrap: break-word; }
td.advice { min-width: 16rem; }
.relink_required, .inactive_unrepairable, .account_number_unusable { color: #b42318; }
.expiring { color: #9a6700; }
.inactive_unknown { color: #8250df; }
.unknown { color: #0969da; }
.disconnected { color: #57606a; }
.active { color: #1a7f37; }
td.change { font-weight: 600; }
svg { max-width: 100%; height: auto; }
svg .bar { fill: #d1242f; }
svg .axis { stroke: #8c959f; }
svg text { font: 11px system-ui, sans-serif; fill: #1a1a1a; }
"""

_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# No script, font, image, frame, connection or form target: only the inline stylesheet.
CSP = f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; form-action 'none'"


def h(value: object, *, limit: int | None = DISPLAY_LIMIT) -> str:
    """Untrusted text for HTML text or a quoted attribute, shown literally, cut to `limit`
    characters."""
    return html.escape(safe(str(value), limit=limit), quote=True)


# A cell's kind (outline.Cell) -> its class; a category's cell is styled as the category.
_CLASSES = {
    "id": "id", "name": "name", "date": "when", "number": "n", "change": "change",
    "advice": "advice",
}  # fmt: skip


def _td(cell: Cell) -> str:
    cls = f"cat {cell.text}" if cell.kind == "category" else _CLASSES.get(cell.kind)
    text = cell.text
    if cell.kind in ("category", "codes"):  # escaped already: `_` is in no character reference
        text = text.replace("_", "_<wbr>")  # so `account_number_unusable` wraps at its words
    return f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>"


def _tr(cells: Iterable[Cell]) -> str:
    return "<tr>" + "".join(_td(c) for c in cells) + "</tr>"


def _th(head: Iterable[str]) -> str:
    return "<tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"


def _table(attrs: str, head: Sequence[str], rows: Iterable[Iterable[Cell]]) -> list[str]:
    """A small table (the counts, the errors): its head and body open on one line each."""
    body = [_tr(r) for r in rows]
    return [f"<table{attrs}>", "<thead>" + _th(head), "</thead><tbody>", *body, "</tbody></table>"]


def chart(counts: Sequence[int], meta: ReportMeta) -> str:
    """Bars of upcoming deactivations per week, as inline SVG (no script, no external font)."""
    width, height, left, bottom, top = 720, 200, 8, 34, 18
    slot = (width - 2 * left) / len(counts)
    bar = slot * 0.7
    peak = max(counts, default=0) or 1
    plot = height - bottom - top
    start = meta.as_of
    total = sum(counts)
    label = (
        f"Upcoming deactivations per week for {WEEKS_AHEAD} weeks from {day(start)}: "
        f"{plural(total, 'deactivation')}"
    )
    parts = [
        f'<svg viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{h(label)}">',
        f"<title>{h(label)}</title>",
        f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width - left}" '
        f'y2="{height - bottom}"/>',
    ]
    for i, n in enumerate(counts):
        week = day(start + timedelta(days=7 * i))
        x = left + i * slot + (slot - bar) / 2
        tall = round(plot * n / peak, 1)
        y = height - bottom - tall
        cx = round(x + bar / 2, 1)
        parts += [
            f"<g><title>Week of {week}: {plural(n, 'deactivation')}</title>",
            f'<rect class="bar" x="{round(x, 1)}" y="{round(y, 1)}" width="{round(bar, 1)}" '
            f'height="{tall}"/>',
            f'<text x="{cx}" y="{round(y - 4, 1)}" text-anchor="middle">{n}</text>',
            f'<text x="{cx}" y="{height - bottom + 14}" text-anchor="middle">{week[5:]}</text>',
            "</g>",
        ]
    parts.append(
        f'<text x="{left}" y="{height - 4}">Weeks starting {day(start)} (UTC), '
        "accounts of any category</text></svg>"
    )
    return "\n".join(parts)


def broken_chart(days: Sequence[TrendDay]) -> str:
    """Broken accounts per day, as inline SVG bars (a day before history: no bar)."""
    width, height, left, bottom, top = 720, 200, 8, 34, 18
    slot = (width - 2 * left) / max(1, len(days))
    bar = slot * 0.7
    peak = max((d.broken or 0 for d in days), default=0) or 1
    plot = height - bottom - top
    label = "Broken accounts per day (UTC)"
    if days:
        label += f", {days[0].day.isoformat()} to {days[-1].day.isoformat()}"
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{h(label)}">',
        f"<title>{h(label)}</title>",
        f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width - left}" '
        f'y2="{height - bottom}"/>',
    ]
    step = max(1, len(days) // 10)  # at most about ten date labels
    for i, d in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        cx = round(x + bar / 2, 1)
        n = d.broken or 0
        tall = round(plot * n / peak, 1)
        y = height - bottom - tall
        what = "no history yet" if d.broken is None else f"{n} broken"
        parts.append(f"<g><title>{d.day.isoformat()}: {what}</title>")
        if d.broken is not None:
            parts.append(
                f'<rect class="bar" x="{round(x, 1)}" y="{round(y, 1)}" '
                f'width="{round(bar, 1)}" height="{tall}"/>'
            )
        if i % step == 0 or i == len(days) - 1:
            parts.append(
                f'<text x="{cx}" y="{height - bottom + 14}" text-anchor="middle">'
                f"{d.day.isoformat()[5:]}</text>"
            )
        parts.append("</g>")
    parts.append(f'<text x="{left}" y="{height - 4}">{h(label)}</text></svg>')
    return "\n".join(parts)


class Html:
    """The outline's Markup for HTML: parts as `<section>`s, groups as `<h3>` sections."""

    def text(self, value: object, *, limit: int | None = DISPLAY_LIMIT) -> str:
        """Escaped by `h()` (module docstring)."""
        return h(value, limit=limit)

    def ident(self, value: str | None) -> str:
        """`<code>` when it looks like a Stripe id, else escaped text."""
        if not value:
            return ""
        return f"<code>{h(value)}</code>" if PLAIN_ID.fullmatch(value) else h(value)

    def link(self, text: str, url: str | None) -> str:
        """An `<a href>` (no referrer) for a Dashboard URL fcaudit built; `text` otherwise."""
        target = link_target(url)
        if not (target and text):
            return text
        return f'<a href="{h(target)}" rel="noopener noreferrer">{text}</a>'

    def code(self, value: str) -> str:
        """`<code>`, escaped all the same."""
        return f"<code>{h(value)}</code>"

    def category(self, category: Category) -> str:
        """In the category's colour."""
        return f'<span class="cat {category}">{category}</span>'

    def alert(self, text: str) -> str:
        """In red."""
        return f'<span class="incomplete">{text}</span>'

    def breaks(self, parts: Sequence[str]) -> str:
        """Joined by `<br>`."""
        return "<br>".join(parts)

    def summary(
        self, headline: str, facts: Sequence[str], counts: Sequence[tuple[Category, int]]
    ) -> list[str]:
        """A `<header>`: title, headline, the facts as a list, then a table of the counts."""
        out = ['<header id="summary">', f"<h1>{TITLE}</h1>", f'<p class="headline">{headline}</p>']
        out += ['<ul class="facts">', *(f"<li>{x}</li>" for x in facts), "</ul>"]
        rows = ((Cell(str(c), "category"), Cell(str(n), "number")) for c, n in counts)
        return [*out, *_table(' class="counts"', ("Category", "Findings"), rows), "</header>"]

    def upcoming(self, findings: Sequence[Finding], meta: ReportMeta) -> list[str]:
        """A section holding the SVG chart of the next weeks."""
        weeks = upcoming_by_week(findings, meta.as_of)
        head = "<h2>Upcoming deactivations</h2>"
        return ['<section id="upcoming">', head, chart(weeks, meta), "</section>"]

    def trend(self, days: Sequence[TrendDay]) -> list[str]:
        """With --state: a section holding the SVG chart of broken accounts per day."""
        head = "<h2>Broken accounts per day</h2>"
        return ['<section id="trend">', head, broken_chart(days), "</section>"]

    def worklist(self, lines: Sequence[str]) -> list[str]:
        """A `Worklist` section around the groups' sections."""
        return ['<section id="worklist">', "<h2>Worklist</h2>", *lines, "</section>"]

    def group(self, heading: str, lines: Sequence[str]) -> list[str]:
        """A `<section>` under an `<h3>` heading."""
        return ['<section class="group">', f"<h3>{heading}</h3>", *lines, "</section>"]

    def paragraph(self, text: str, *, facts: bool = False) -> list[str]:
        """A `<p>`; a group's facts in the muted `facts` style."""
        return [f'<p class="facts">{text}</p>' if facts else f"<p>{text}</p>"]

    def findings(self, head: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[str]:
        """A full-width table; ids, names and dates get their cells' wrapping styles."""
        out = ['<table class="findings">', "<thead>" + _th(head) + "</thead>", "<tbody>"]
        return [*out, *(_tr(r) for r in rows), "</tbody>", "</table>"]

    def resolved(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
        """A section holding a table."""
        cells = ([Cell(r[0], "id"), *(Cell(c) for c in r[1:])] for r in rows)  # ids may break
        table = _table("", head, cells)
        return ['<section id="resolved">', f"<h2>{RESOLVED_TITLE}</h2>", *table, "</section>"]

    def errors(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
        """An `Errors` section holding a table."""
        table = _table("", head, ([Cell(c) for c in r] for r in rows))
        return ['<section id="errors">', "<h2>Errors</h2>", *table, "</section>"]

    def document(self, body: list[str], meta: ReportMeta) -> list[str]:
        """The page: its head (CSP, no referrer, the stylesheet), then the body's parts."""
        return page(f"{TITLE} {iso(meta.generated_at)}", body)


def page(title: str, body: list[str]) -> list[str]:
    """An inert page's lines: its head (CSP, no referrer, the stylesheet; `title` is escaped
    by the caller), then `body`. Every HTML fcaudit writes (the report, `fcaudit trend`)."""
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
    ]
    return [*head, *body, "</body>", "</html>", ""]


class HtmlRenderer(OutlineRenderer):
    """`-f html`: the report as one self-contained, inert page to open from a mail or ticket."""

    markup = Html()
