"""HTML: one self-contained page: the summary, a chart of upcoming deactivations per week
(inline SVG), then the worklist's grouped tables and the failed scopes.

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
from fcaudit.model.report import (
    GroupBy,
    ReportMeta,
    ScanResult,
    plural,
    summary_parts,
    summary_text,
)
from fcaudit.render.base import WEEKS_AHEAD, Collector, upcoming_by_week, write_all
from fcaudit.render.markdown import (
    PLAIN_ID,
    Section,
    completeness,
    day,
    deactivation,
    error_cells,
    finding_headers,
    group_kind,
    institutions_line,
    link_target,
    object_label,
    sections,
    signal_codes,
)
from fcaudit.text import safe

STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 1.5rem auto; max-width: 80rem; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .25rem; overflow-wrap: anywhere; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
table.findings { width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
td.name { overflow-wrap: anywhere; min-width: 8rem; }
td.id { overflow-wrap: anywhere; min-width: 12ch; }
td.when { white-space: nowrap; }
th { background: #f6f8fa; }
td.n, th.n { text-align: right; }
.headline { font-size: 1.1rem; font-weight: 600; }
.facts { margin: .25rem 0; color: #444; }
.incomplete { color: #b42318; font-weight: 600; }
.cat { font-weight: 600; white-space: nowrap; }
.relink_required, .inactive_unrepairable, .account_number_unusable { color: #b42318; }
.expiring { color: #9a6700; }
.inactive_unknown { color: #8250df; }
.unknown { color: #0969da; }
.disconnected { color: #57606a; }
.active { color: #1a7f37; }
svg { max-width: 100%; height: auto; }
svg .bar { fill: #d1242f; }
svg .axis { stroke: #8c959f; }
svg text { font: 11px system-ui, sans-serif; fill: #1a1a1a; }
"""

_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# No script, font, image, frame, connection or form target: only the inline stylesheet.
CSP = f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; form-action 'none'"


def h(value: object) -> str:
    """Untrusted text for HTML text or a quoted attribute, shown literally."""
    return html.escape(safe(str(value)), quote=True)


def h_id(value: str | None) -> str:
    if not value:
        return ""
    return f"<code>{h(value)}</code>" if PLAIN_ID.fullmatch(value) else h(value)


def h_link(text: str, url: str | None) -> str:
    target = link_target(url)
    if not (target and text):
        return text
    return f'<a href="{h(target)}" rel="noopener noreferrer">{text}</a>'


def _tr(cells: Iterable[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


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
        "any category</text></svg>"
    )
    return "\n".join(parts)


class HtmlRenderer(Collector):
    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        out = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>fcaudit report {iso(meta.generated_at)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *self._summary(result, meta),
            '<section id="upcoming">',
            "<h2>Upcoming deactivations</h2>",
            chart(upcoming_by_week(self._findings, meta.as_of), meta),
            "</section>",
            '<section id="worklist">',
            "<h2>Worklist</h2>",
        ]
        parts = sections(self._findings, result, self._options)
        for section in parts:
            out += self._section(section)
        if not parts:
            out.append("<p>Nothing needs attention.</p>")
        out.append("</section>")
        if result.errors:
            out += [
                '<section id="errors">',
                "<h2>Errors</h2>",
                "<table>",
                "<thead>" + _tr(("Scope", "Message", "Request id", "HTTP status"), "th"),
                "</thead><tbody>",
                *(_tr(h(c) for c in error_cells(e)) for e in result.errors),
                "</tbody></table>",
                "</section>",
            ]
        out += ["</body>", "</html>", ""]
        write_all(self._stream, "\n".join(out))
        self._stream.flush()

    def _summary(self, result: ScanResult, meta: ReportMeta) -> list[str]:
        counts = summary_parts(result)[1]
        stripe = f"Stripe-Version {h(meta.stripe_version)}" if meta.stripe_version else "offline"
        mode = f", {h(meta.mode)} mode" if meta.mode else ""
        complete = completeness(result)
        if not result.complete:
            complete = f'<span class="incomplete">{complete}</span>'
        out = [
            '<header id="summary">',
            "<h1>fcaudit report</h1>",
            f'<p class="headline">{h(summary_text(result))}</p>',
            '<ul class="facts">',
            f"<li>As of {iso(meta.as_of)}, expiring within {plural(meta.horizon_days, 'day')}</li>",
            f"<li>Generated {iso(meta.generated_at)} by <code>fcaudit {h(meta.command)}</code> "
            f"({stripe}{mode})</li>",
            f"<li>Complete: {complete}</li>",
            f"<li>Customers affected: {len(result.holders_affected)}</li>",
            f"<li>Matching --fail-on: {result.matched}</li>",
        ]
        top, more = institutions_line(result)
        if top:
            named = ", ".join(f"{h(name)} {n}" for name, n in top)
            tail = f", and {plural(more, 'more institution')}" if more else ""
            out.append(f"<li>Needing attention by institution: {named}{tail}</li>")
        hidden = result.counts.get(Category.ACTIVE, 0)
        if hidden and not self._options.show_active:
            out.append(f"<li>{plural(hidden, 'active finding')} not listed (--show-active)</li>")
        out += ["</ul>", '<table class="counts">', "<thead>" + _tr(("Category", "Findings"), "th")]
        out.append("</thead><tbody>")
        for c, n in counts:
            out.append(f'<tr><td class="cat {c}">{c}</td><td class="n">{n}</td></tr>')
        out += ["</tbody></table>", "</header>"]
        return out

    def _section(self, section: Section) -> list[str]:
        by = self._options.group_by
        group = section.group
        out = ['<section class="group">']
        if section.key is None:
            out.append("<h3>Findings</h3>")
        else:
            key = h_id(section.key) if by is not GroupBy.INSTITUTION else h(section.key)
            out.append(f"<h3>{group_kind(by, section)} {key}</h3>")
        if group is not None:
            facts = [f'worst: <span class="cat {group.worst}">{group.worst}</span>']
            if group.deadline is not None:
                facts.append(f"first deadline: {day(group.deadline)}")
            facts.append(plural(group.accounts, "account"))
            if link_target(group.dashboard_url):
                facts.append(h_link("Stripe Dashboard", group.dashboard_url))
            out.append(f'<p class="facts">{" · ".join(facts)}</p>')
            if group.relink_authorizations:
                auths = ", ".join(h_id(a) for a in group.relink_authorizations)
                out.append(f"<p>One relink repairs several accounts: {auths}</p>")
            if group.contact is not None:
                who = [h(x) for x in (group.contact.name, group.contact.email) if x]
                out.append(f"<p>Contact: {', '.join(who) or '(none on file)'}</p>")
        holder = by is not GroupBy.CUSTOMER
        head = finding_headers(holder)
        out += ['<table class="findings">', "<thead>" + _tr(head, "th") + "</thead>", "<tbody>"]
        out += [self._row(f, holder) for f in section.findings]
        out += ["</tbody>", "</table>", "</section>"]
        return out

    def _row(self, f: Finding, holder: bool) -> str:
        label = object_label(f, h, h_id)
        todo = h(f.recommendation) + (f"<br>Note: {h(f.detail)}" if f.detail else "")
        cells = [
            f'<td class="cat {f.category}">{f.category}</td>',
            f'<td class="id">{h_id(f.id)}</td>',
            f'<td class="name">{label}</td>',
            f'<td class="name">{h(f.institution_name or "")}</td>',
            f"<td>{' / '.join(h(x) for x in (f.cause, f.action) if x)}</td>",
            f"<td>{', '.join(signal_codes(f))}</td>",
            f'<td class="when">{h(deactivation(f))}</td>',
            f"<td>{todo}</td>",
        ]
        if holder:
            cells.append(f'<td class="id">{h_link(h_id(f.account_holder), f.dashboard_url)}</td>')
        return "<tr>" + "".join(cells) + "</tr>"
