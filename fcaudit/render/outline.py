"""The outline the Markdown and HTML reports share: which parts a report has, in which order,
and what each summary line, group heading, group paragraph and table row says.

A format supplies a `Markup`: how it escapes untrusted text and how it marks up each kind of
block. It decides nothing about content, so the two reports cannot drift apart.

The parts, in order: the summary (title, headline, facts), the upcoming deactivations per week
(for a format that draws them), the worklist (one section per group, most urgent first, as
`groups[]` in JSON, or one line saying nothing needs attention), then the failed scopes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal, NamedTuple, Protocol

from fcaudit.model.ages import duration_words, in_words
from fcaudit.model.dashboard import DASHBOARD
from fcaudit.model.findings import Category, Change, Finding, iso
from fcaudit.model.report import (
    Group,
    GroupBy,
    ReportMeta,
    ScanResult,
    broken_text,
    group_key,
    plural,
    summary_parts,
    summary_text,
)
from fcaudit.model.trend import TrendDay
from fcaudit.render.advice import advice, note
from fcaudit.render.base import Collector, RenderOptions, relative_days, write_all
from fcaudit.stripe.ids import AUTHORIZATION_OBJECT, ID_SHAPE
from fcaudit.text import DISPLAY_LIMIT

# A Stripe Dashboard link as fcaudit builds it (model.dashboard_url): anything else is text.
DASHBOARD_URL = re.compile(re.escape(DASHBOARD) + r"(?:/[A-Za-z0-9_]+)+")
# An id as Stripe spells them; others (hostile input) are escaped as text.
PLAIN_ID = ID_SHAPE  # an id shown as code: the shape of a Stripe id (stripe/ids.py)
# How many institutions the summary names before "and N more".
TOP_INSTITUTIONS = 10
TITLE = "fcaudit report"
ERROR_HEADERS = ("Scope", "Message", "Request id", "HTTP status")
RESOLVED_TITLE = "Resolved since the baseline"
RESOLVED_HEADERS = ("Id", "Was", "Now")


def link_target(url: str | None) -> str | None:
    """The URL, when it is a Dashboard page fcaudit built; None otherwise."""
    return url if url is not None and DASHBOARD_URL.fullmatch(url) else None


def day(moment: datetime) -> str:
    """The UTC day of a moment (`2026-12-01`), as reports show deadlines."""
    return iso(moment)[:10]


class Cell(NamedTuple):
    """A table cell, already escaped, and what it holds, for a format that styles cells."""

    text: str
    # codes: snake_case words (cause, action, signal codes), which a page may break at `_`.
    kind: Literal["", "category", "id", "name", "date", "number", "change", "codes", "advice"] = ""


class Markup(Protocol):
    """What a report format gives the outline: its escaping (inline) and its blocks, each
    returned as the document's lines. The outline decides what they say."""

    def text(self, value: object, *, limit: int | None = DISPLAY_LIMIT) -> str:
        """Untrusted text, shown literally on one line, cut to `limit` characters (None:
        text already bounded, such as advice with its names shortened)."""

    def ident(self, value: str | None) -> str:
        """An id: as code when it looks like a Stripe id, else as escaped text."""

    def link(self, text: str, url: str | None) -> str:
        """Marked-up text linked to a Dashboard URL fcaudit built; the text alone otherwise."""

    def code(self, value: str) -> str:
        """fcaudit's own text (the command it ran) as code."""

    def category(self, category: Category) -> str:
        """A category named in prose (a group's worst)."""

    def alert(self, text: str) -> str:
        """fcaudit's own text that must stand out (a report that is not complete)."""

    def breaks(self, parts: Sequence[str]) -> str:
        """Several lines inside one table cell."""

    def summary(
        self, headline: str, facts: Sequence[str], counts: Sequence[tuple[Category, int]]
    ) -> list[str]:
        """The report's title, headline and list of facts (and, if wanted, the counts)."""

    def upcoming(self, findings: Sequence[Finding], meta: ReportMeta) -> list[str]:
        """Upcoming deactivations per week, for a format that draws them; [] otherwise."""

    def trend(self, days: Sequence[TrendDay]) -> list[str]:
        """With --state: broken accounts per day, for a format that draws them; [] otherwise."""

    def worklist(self, lines: Sequence[str]) -> list[str]:
        """The part holding the groups' sections (or the line that there are none)."""

    def group(self, heading: str, lines: Sequence[str]) -> list[str]:
        """One group's section: its heading, then its paragraphs and table."""

    def paragraph(self, text: str, *, facts: bool = False) -> list[str]:
        """A paragraph; `facts`: the line of facts about a group."""

    def findings(self, head: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[str]:
        """A group's table of findings."""

    def resolved(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
        """The part listing the baseline's findings resolved since (`RESOLVED_TITLE`)."""

    def errors(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
        """The part listing the scopes that failed, as a table."""

    def document(self, body: list[str], meta: ReportMeta) -> list[str]:
        """The whole document around the body's parts."""


class OutlineRenderer(Collector):
    """A renderer whose report is the outline in one format: a subclass names its Markup."""

    markup: ClassVar[Markup]

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        """Write the whole report, its parts in the outline's order, now every finding is in."""
        m, findings, options = self.markup, self._findings, self._options
        headline, facts = m.text(summary_text(result)), _facts(m, result, meta, options)
        body = m.summary(headline, facts, summary_parts(result)[1])
        body += m.upcoming(findings, meta)
        if result.trend:  # --state: the store's days, and this run's count for today
            today = dataclasses.replace(result.trend[-1], broken=result.broken_accounts)
            body += m.trend([*result.trend[:-1], today])
        compared = result.baseline is not None
        parts = sections(findings, result, options)
        lines = [x for s in parts for x in _section(m, s, options, compared=compared)]
        body += m.worklist(lines or m.paragraph("Nothing needs attention."))
        if result.resolved:
            rows = [[m.ident(r["id"]), m.text(r["old_category"]), m.text(r["new_category"])]
                    for r in result.resolved]  # fmt: skip
            head: tuple[str, ...] = RESOLVED_HEADERS
            if result.history is not None:  # --state: how long each repair took
                head = (*head, "Time to repair")
                for row, r in zip(rows, result.resolved, strict=True):
                    took = r.get("time_to_repair")
                    row.append(m.text(duration_words(took) if isinstance(took, int) else ""))
            body += m.resolved(head, rows)
        errors = [(e.scope.label(), e.message, e.request_id, e.http_status) for e in result.errors]
        if errors:
            rows = [[m.text("" if c is None else c) for c in row] for row in errors]
            body += m.errors(ERROR_HEADERS, rows)
        write_all(self._stream, "\n".join(m.document(body, meta)))
        self._stream.flush()


@dataclass(frozen=True)
class Section:
    """One group of the worklist (or every finding, with --group-by none)."""

    key: str | None
    group: Group | None  # None: --group-by none, or a group of active findings only
    findings: Sequence[Finding]


def sections(
    findings: Iterable[Finding], result: ScanResult, options: RenderOptions
) -> list[Section]:
    """The findings to list, in groups: `result.groups` order (most urgent first), then,
    with --show-active, groups whose findings are all active, by key. Findings in a group are
    sorted as findings[] is. Active findings are listed only with --show-active, suppressed ones
    only with --show-suppressed."""
    shown = sorted(
        (
            f
            for f in findings
            if (options.show_active or f.category is not Category.ACTIVE)
            and (options.show_suppressed or f.suppressed is None)  # set aside by --ignore
        ),
        key=Finding.sort_key,
    )
    by = options.group_by
    if by is GroupBy.NONE:
        return [Section(None, None, shown)] if shown else []
    buckets: dict[str, list[Finding]] = {}
    for f in shown:
        buckets.setdefault(group_key(f, by) or "", []).append(f)
    out = [Section(g.key, g, buckets.pop(g.key)) for g in result.groups if g.key in buckets]
    out += [Section(key, None, buckets[key]) for key in sorted(buckets)]
    return out


def _group_kind(by: GroupBy, section: Section) -> str:
    """What a section's key names, for its heading: `Customer`, `Connected account`, ..."""
    if by is GroupBy.CUSTOMER:
        if section.group is not None:
            holder = section.group.holder_type
        else:  # a group of active findings only: its findings say
            holder = section.findings[0].account_holder_type if section.findings else None
        return "Connected account" if holder == "account" else "Customer"
    return {GroupBy.AUTHORIZATION: "Authorization", GroupBy.INSTITUTION: "Institution"}.get(
        by, "Group"
    )


def _deactivation(f: Finding) -> str:
    """`2026-12-01 (in 5d)`, `2026-11-24 (2d ago)`, with a rule's id when a rule predicted
    it; an account number's expiry when that is the only date; empty when nothing is due."""
    edd = f.expected_deactivation_date
    if edd is None:
        when = f.deadline
        return f"{day(when)} (account number)" if when is not None else ""
    days = f.days_until_deactivation
    rel = relative_days(days) if days is not None else ""
    source = f.expected_deactivation_source
    parts = [p for p in (rel, source if source and source != "stripe" else None) if p]
    return f"{day(edd)} ({', '.join(parts)})" if parts else day(edd)


def _completeness(result: ScanResult) -> str:
    """The summary's answer to "does this report cover everything?"."""
    if result.interrupted:
        return "no: interrupted, the report lists what was found before"
    if result.errors:
        return f"no: {plural(len(result.errors), 'scope')} failed (see Errors)"
    return "yes"


def _facts(m: Markup, result: ScanResult, meta: ReportMeta, options: RenderOptions) -> list[str]:
    """The summary's list: the run (when, how, how complete), then who and what is affected."""
    stripe = f"Stripe-Version {m.text(meta.stripe_version)}" if meta.stripe_version else "offline"
    mode = f", {m.text(meta.mode)} mode" if meta.mode else ""
    complete = _completeness(result)
    facts = [
        f"As of {iso(meta.as_of)}, expiring within {plural(meta.horizon_days, 'day')}",
        f"Generated {iso(meta.generated_at)} by {m.code(f'fcaudit {meta.command}')} "
        f"({stripe}{mode})",
        f"Complete: {complete if result.complete else m.alert(complete)}",
        f"Customers affected: {len(result.holders_affected)}",
        f"Matching --fail-on: {result.matched}",
    ]
    broken = broken_text(result)
    if broken:
        facts.append(m.text(broken))
    if result.pending:
        facts.append(f"Pending (--min-age): {result.pending}")
    if result.history is not None:
        facts.append(f"History kept since {m.text(result.history.get('started') or '?')}")
    # Ties by name: a scan's findings arrive in no fixed order.
    top = sorted(result.by_institution.items(), key=lambda item: (-item[1], item[0]))
    if top:
        named = ", ".join(f"{m.text(name)} {n}" for name, n in top[:TOP_INSTITUTIONS])
        more = len(top) - TOP_INSTITUTIONS
        tail = f", and {plural(more, 'more institution')}" if more > 0 else ""
        facts.append(f"Needing attention by institution: {named}{tail}")
    if result.baseline is not None:
        since = m.text(result.baseline.get("generated_at") or "?")
        changes = [f"{result.by_change.get(c, 0)} {c}" for c in (Change.NEW, Change.WORSE)]
        changes += [f"{result.by_change.get(Change.BETTER, 0)} better"]
        changes += [f"{len(result.resolved)} resolved"]
        facts.append(f"Since the baseline ({since}): {', '.join(changes)}")
    hidden = result.counts.get(Category.ACTIVE, 0)
    if hidden and not options.show_active:
        facts.append(f"{plural(hidden, 'active finding')} not listed (--show-active)")
    return facts


def _section(
    m: Markup, section: Section, options: RenderOptions, *, compared: bool = False
) -> list[str]:
    """One group: its heading, what the group's facts say, and its table of findings (with
    a baseline, led by each finding's change)."""
    by = options.group_by
    if section.key is None:
        heading = "Findings"
    else:
        key = m.text(section.key) if by is GroupBy.INSTITUTION else m.ident(section.key)
        heading = f"{_group_kind(by, section)} {key}"
    lines: list[str] = []
    group = section.group
    if group is not None:
        facts = [f"worst: {m.category(group.worst)}"]
        if group.deadline is not None:
            facts.append(f"first deadline: {day(group.deadline)}")
        facts.append(plural(group.accounts, "account"))
        if link_target(group.dashboard_url):
            facts.append(m.link("Stripe Dashboard", group.dashboard_url))
        lines += m.paragraph(" · ".join(facts), facts=True)
        if group.relink_authorizations:
            auths = ", ".join(m.ident(a) for a in group.relink_authorizations)
            lines += m.paragraph(f"One relink repairs several accounts: {auths}")
        if group.contact is not None:
            who = [m.text(x) for x in (group.contact.name, group.contact.email) if x]
            lines += m.paragraph(f"Contact: {', '.join(who) or '(none on file)'}")
    holder = by is not GroupBy.CUSTOMER  # grouped by customer, the heading names the holder
    head = ["Change"] if compared else []
    head += ["Category", "Id", "Account", "Institution", "Cause / action", "Signals"]
    head += ["Deactivation", "What to do"] + (["Holder"] if holder else [])
    aged = any(f.since is not None for f in section.findings)  # --state
    head += ["In category"] if aged else []
    rows = [_cells(m, f, holder, compared) for f in section.findings]
    if aged:
        for row, f in zip(rows, section.findings, strict=True):
            words = in_words(f)
            since = f" (since {day(f.since)})" if f.since is not None else ""
            row.append(Cell(m.text(f"{words}{since}" if words else ""), "date"))
    lines += m.findings(head, rows)
    return m.group(heading, lines)


def _change(f: Finding) -> str:
    """A finding's change against the baseline as its row shows it: new, worse, better, or
    blank for the same."""
    return "" if f.change is None or f.change is Change.SAME else str(f.change)


def _cells(m: Markup, f: Finding, holder: bool, compared: bool = False) -> list[Cell]:
    """One finding's row of a group's table, under the columns `_section` names; with a
    baseline (`compared`), its change first (`same` left blank, as the table does, so what
    changed stands out)."""
    if f.object == AUTHORIZATION_OBJECT:
        covers = ", ".join(m.ident(a) for a in f.accounts)
        label = f"authorization covering {covers}" if covers else "authorization"
    else:  # `Checking ••6789`; empty when the account has neither
        last4 = f"••{f.last4}" if f.last4 else ""
        label = m.text(" ".join(p for p in (f.display_name or "", last4) if p))
    # The advice whole, its names shortened (render/advice.py): never cut again here.
    told = note(f)
    notes = [f"Note: {m.text(told, limit=None)}"] if told else []
    cells = [Cell(_change(f), "change")] if compared else []
    cells += [
        Cell(str(f.category), "category"),
        Cell(m.ident(f.id), "id"),
        Cell(label, "name"),
        Cell(m.text(f.institution_name or ""), "name"),
        Cell(" / ".join(m.text(x) for x in (f.cause, f.action) if x), "codes"),
        Cell(", ".join(dict.fromkeys(str(s.code) for s in f.signals)), "codes"),
        Cell(m.text(_deactivation(f)), "date"),
        Cell(m.breaks([m.text(advice(f), limit=None), *notes]), "advice"),
    ]
    if holder:
        cells.append(Cell(m.link(m.ident(f.account_holder), f.dashboard_url), "id"))
    return cells
