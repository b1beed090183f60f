"""Markdown: the worklist as grouped GitHub-flavoured tables, ready to paste into a ticket.

Findings are held until the end of the run (they are grouped). The summary comes first, then
one section per group (most urgent first, as `groups[]` in JSON), then failed scopes.

Untrusted text (names, ids, keys, messages) is escaped by `md()`: control and bidi characters
become visible escapes (`fcaudit.text.safe`), so a cell is always one line; the characters
Markdown gives meaning to are backslash-escaped (`\\ ` * [ ] | # ~ $`, and `_` except inside
a word, where it means nothing); `<`, `>` and `&` become character references, so no HTML tag
or entity gets through; and `://` and `www.` are broken with a character reference so GFM does
not turn a bare URL into a link. Ids that look like Stripe ids are shown as code. The only
links are the Stripe Dashboard's own.

The helpers below that know nothing of Markdown (sections, labels, dates) are shared with the
HTML report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from fcaudit.model.dashboard import DASHBOARD
from fcaudit.model.findings import Category, Finding, iso
from fcaudit.model.report import (
    Group,
    GroupBy,
    ReportMeta,
    ScanResult,
    ScopeError,
    group_key,
    plural,
    summary_text,
)
from fcaudit.render.base import Collector, RenderOptions, relative_days, write_all
from fcaudit.stripe.ids import AUTHORIZATION_OBJECT
from fcaudit.text import safe

# -- shared with the HTML report --------------------------------------------------------------

# A Stripe Dashboard link as fcaudit builds it (model.dashboard_url): anything else is text.
DASHBOARD_URL = re.compile(re.escape(DASHBOARD) + r"(?:/[A-Za-z0-9_]+)+")
# An id as Stripe spells them; others (hostile input) are escaped as text.
PLAIN_ID = re.compile(r"[A-Za-z0-9_]{1,255}")
# How many institutions the summary names before "and N more".
TOP_INSTITUTIONS = 10


def link_target(url: str | None) -> str | None:
    """The URL, when it is a Dashboard page fcaudit built; None otherwise."""
    return url if url is not None and DASHBOARD_URL.fullmatch(url) else None


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


def group_kind(by: GroupBy, section: Section) -> str:
    """What a section's key names: `Customer`, `Connected account`, ..."""
    if by is GroupBy.CUSTOMER:
        if section.group is not None:
            holder = section.group.holder_type
        else:  # a group of active findings only: its findings say
            holder = section.findings[0].account_holder_type if section.findings else None
        return "Connected account" if holder == "account" else "Customer"
    return {GroupBy.AUTHORIZATION: "Authorization", GroupBy.INSTITUTION: "Institution"}.get(
        by, "Group"
    )


def day(moment: datetime) -> str:
    return iso(moment)[:10]


def deactivation(f: Finding) -> str:
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


def account_label(f: Finding) -> str:
    """`Checking ••6789`; empty when the account has neither."""
    last4 = f"••{f.last4}" if f.last4 else ""
    return " ".join(p for p in (f.display_name or "", last4) if p)


def object_label(f: Finding, text: Callable[[str], str], ident: Callable[[str], str]) -> str:
    """The Account cell: `Checking ••6789`, or for an authorization the accounts it covers;
    `text` and `ident` escape text and ids for the format."""
    if f.object == AUTHORIZATION_OBJECT:
        covers = ", ".join(ident(a) for a in f.accounts)
        return f"authorization covering {covers}" if covers else "authorization"
    return text(account_label(f))


def finding_headers(holder: bool) -> list[str]:
    """The columns of a section's table of findings (Holder when not grouped by customer)."""
    head = ["Category", "Id", "Account", "Institution", "Cause / action", "Signals"]
    return head + ["Deactivation", "What to do"] + (["Holder"] if holder else [])


def signal_codes(f: Finding) -> list[str]:
    return list(dict.fromkeys(str(s.code) for s in f.signals))


def institutions_line(result: ScanResult) -> tuple[list[tuple[str, int]], int]:
    """The institutions with most findings needing attention, and how many more there are."""
    # Ties by name: a scan's findings arrive in no fixed order.
    top = sorted(result.by_institution.items(), key=lambda item: (-item[1], item[0]))
    return top[:TOP_INSTITUTIONS], max(0, len(top) - TOP_INSTITUTIONS)


def completeness(result: ScanResult) -> str:
    if result.interrupted:
        return "no: interrupted, the report lists what was found before"
    if result.errors:
        return f"no: {plural(len(result.errors), 'scope')} failed (see Errors)"
    return "yes"


def error_cells(e: ScopeError) -> tuple[str, str, str, str]:
    status = str(e.http_status) if e.http_status is not None else ""
    return (e.scope.label(), e.message, e.request_id or "", status)


# -- Markdown ---------------------------------------------------------------------------------

# `_` between two letters or digits can neither open nor close emphasis (CommonMark's
# flanking rules), so `fcauth_1` stays readable; every other `_` is escaped.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|#~$]|(?<![^\W_])_|_(?![^\W_]))")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_ENTITY_RE = re.compile("[&<>]")
_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(?<=www)(\.)")


def md(value: object) -> str:
    """Untrusted text as Markdown that shows it literally, on one line (module docstring)."""
    text = _MD_SPECIAL.sub(r"\\\1", str(value))
    text = _MD_ENTITY_RE.sub(lambda m: _MD_ENTITIES[m.group(0)], text)
    text = _AUTOLINK.sub(lambda m: "&#58;" if m.group(1) else "&#46;", text)
    return safe(text)


def md_id(value: str | None) -> str:
    """An id as code when it looks like one, else as escaped text."""
    if not value:
        return ""
    return f"`{value}`" if PLAIN_ID.fullmatch(value) else md(value)


def md_link(text: str, url: str | None) -> str:
    """`[text](url)` for a Dashboard URL fcaudit built; `text` (already Markdown) otherwise."""
    target = link_target(url)
    return f"[{text}]({target})" if target and text else text


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(c or " " for c in cells) + " |"


class MarkdownRenderer(Collector):
    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        lines = self._summary(result, meta)
        parts = sections(self._findings, result, self._options)
        for section in parts:
            lines += self._section(section)
        if not parts:
            lines += ["Nothing needs attention.", ""]
        if result.errors:
            lines += ["## Errors", "", _row(("Scope", "Message", "Request id", "HTTP status"))]
            lines.append(_row(("---",) * 4))
            lines += [_row(md(c) for c in error_cells(e)) for e in result.errors]
            lines.append("")
        write_all(self._stream, "\n".join(lines))
        self._stream.flush()

    def _summary(self, result: ScanResult, meta: ReportMeta) -> list[str]:
        lines = ["# fcaudit report", "", f"**{summary_text(result)}**", ""]
        stripe = f"Stripe-Version {md(meta.stripe_version)}" if meta.stripe_version else "offline"
        mode = f", {md(meta.mode)} mode" if meta.mode else ""
        lines += [
            f"- As of {iso(meta.as_of)}, expiring within {plural(meta.horizon_days, 'day')}",
            f"- Generated {iso(meta.generated_at)} by `fcaudit {meta.command}` ({stripe}{mode})",
            f"- Complete: {completeness(result)}",
            f"- Customers affected: {len(result.holders_affected)}",
            f"- Matching --fail-on: {result.matched}",
        ]
        top, more = institutions_line(result)
        if top:
            named = ", ".join(f"{md(name)} {n}" for name, n in top)
            lines.append(
                f"- Needing attention by institution: {named}"
                + (f", and {plural(more, 'more institution')}" if more else "")
            )
        hidden = result.counts.get(Category.ACTIVE, 0)
        if hidden and not self._options.show_active:
            lines.append(f"- {plural(hidden, 'active finding')} not listed (--show-active)")
        return [*lines, ""]

    def _section(self, section: Section) -> list[str]:
        by = self._options.group_by
        group = section.group
        lines: list[str] = []
        if section.key is None:
            lines += ["## Findings", ""]
        else:
            key = md_id(section.key) if by is not GroupBy.INSTITUTION else md(section.key)
            lines += [f"## {group_kind(by, section)} {key}", ""]
        if group is not None:
            facts = [f"worst: {group.worst}"]
            if group.deadline is not None:
                facts.append(f"first deadline: {day(group.deadline)}")
            facts.append(plural(group.accounts, "account"))
            if link_target(group.dashboard_url):
                facts.append(md_link("Stripe Dashboard", group.dashboard_url))
            lines += [" · ".join(facts), ""]
            if group.relink_authorizations:
                auths = ", ".join(md_id(a) for a in group.relink_authorizations)
                lines += [f"One relink repairs several accounts: {auths}", ""]
            if group.contact is not None:
                who = [md(x) for x in (group.contact.name, group.contact.email) if x]
                lines += [f"Contact: {', '.join(who) or '(none on file)'}", ""]
        holder = by is not GroupBy.CUSTOMER
        head = finding_headers(holder)
        lines += [_row(head), _row(["---"] * len(head))]
        for f in section.findings:
            lines.append(_row(self._cells(f, holder)))
        return [*lines, ""]

    def _cells(self, f: Finding, holder: bool) -> list[str]:
        label = object_label(f, md, md_id)
        todo = md(f.recommendation) + (f" Note: {md(f.detail)}" if f.detail else "")
        cells = [
            str(f.category),
            md_id(f.id),
            label,
            md(f.institution_name or ""),
            " / ".join(md(x) for x in (f.cause, f.action) if x),
            ", ".join(signal_codes(f)),
            md(deactivation(f)),
            todo,
        ]
        if holder:
            cells.append(md_link(md_id(f.account_holder), f.dashboard_url))
        return cells
