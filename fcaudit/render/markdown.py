"""Markdown: the worklist as grouped GitHub-flavoured tables, ready to paste into a ticket.

Findings are held until the end of the run (they are grouped). What the report says, and in
which order, is the outline's (`fcaudit.render.outline`); this module is Markdown's escaping
and markup. The summary comes first, then one `##` section per group, then failed scopes.

Untrusted text (names, ids, keys, messages) is escaped by `md()`: control and bidi characters
become visible escapes (`fcaudit.text.safe`), so a cell is always one line; the characters
Markdown gives meaning to are backslash-escaped (`\\ ` * [ ] | # ~ $`, and `_` except inside
a word, where it means nothing); `<`, `>` and `&` become character references, so no HTML tag
or entity gets through; and `://` and `www.` are broken with a character reference so GFM does
not turn a bare URL into a link; a `.` between letters or digits is backslash-escaped and the
`@` of an e-mail address is written as code, so no autolink extension (GFM's, linkify-it's)
links a domain or an address either. Ids that look like Stripe ids are shown as code. The only
links are the Stripe Dashboard's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from fcaudit.model.findings import Category, Finding
from fcaudit.model.report import ReportMeta
from fcaudit.model.trend import TrendDay
from fcaudit.render.outline import (
    DASHBOARD_URL,
    PLAIN_ID,
    RESOLVED_TITLE,
    TITLE,
    Cell,
    OutlineRenderer,
    link_target,
)
from fcaudit.text import DISPLAY_LIMIT, safe

__all__ = ["DASHBOARD_URL", "Markdown", "MarkdownRenderer", "md"]

# `_` between two letters or digits can neither open nor close emphasis (CommonMark's
# flanking rules), so `fcauth_1` stays readable; every other `_` is escaped.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|#~$]|(?<![^\W_])_|_(?![^\W_]))")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_ENTITY_RE = re.compile("[&<>]")
_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(?<=www)(\.)")
# What GFM's autolink extension (and linkify-it) would still link in the escaped text: an
# e-mail address and a bare domain. cmark-gfm merges the text around an escape or entity
# before it looks for addresses, so only an inline span stops it: the `@` becomes code
# (`a`@`example.com` shows a@example.com). A `.` between letters or digits is
# backslash-escaped, which linkify-it (markdown-it) sees as text apart.
_EMAIL_AT = re.compile(r"(?<=[\w.+-])@(?=[\w-])")
_DOMAIN_DOT = re.compile(r"(?<=[^\W_])\.(?=[^\W_])")


def md(value: object, *, limit: int | None = DISPLAY_LIMIT) -> str:
    """Untrusted text as Markdown that shows it literally, on one line (module docstring),
    cut to `limit` characters."""
    text = _MD_SPECIAL.sub(r"\\\1", str(value))
    text = _MD_ENTITY_RE.sub(lambda m: _MD_ENTITIES[m.group(0)], text)
    text = _AUTOLINK.sub(lambda m: "&#58;" if m.group(1) else "&#46;", text)
    text = _EMAIL_AT.sub("`@`", _DOMAIN_DOT.sub(r"\\.", text))
    return safe(text, limit=limit)


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(c or " " for c in cells) + " |"


def _table(head: Sequence[str], rows: Iterable[Iterable[str]]) -> list[str]:
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows)]


class Markdown:
    """The outline's Markup for GitHub-flavoured Markdown: flat, blank-line separated blocks."""

    def text(self, value: object, *, limit: int | None = DISPLAY_LIMIT) -> str:
        """Escaped by `md()` (module docstring)."""
        return md(value, limit=limit)

    def ident(self, value: str | None) -> str:
        """`` `fca_1` `` when it looks like a Stripe id, else escaped text."""
        if not value:
            return ""
        return f"`{value}`" if PLAIN_ID.fullmatch(value) else md(value)

    def link(self, text: str, url: str | None) -> str:
        """`[text](url)` for a Dashboard URL fcaudit built; `text` otherwise."""
        target = link_target(url)
        return f"[{text}]({target})" if target and text else text

    def code(self, value: str) -> str:
        """Backticks around fcaudit's own text."""
        return f"`{value}`"

    def category(self, category: Category) -> str:
        """The category's name, as is."""
        return str(category)

    def alert(self, text: str) -> str:
        """As is: the words say it ("no: ...")."""
        return text

    def breaks(self, parts: Sequence[str]) -> str:
        """Joined by spaces: a GFM table cell holds a single line."""
        return " ".join(parts)

    def summary(
        self, headline: str, facts: Sequence[str], counts: Sequence[tuple[Category, int]]
    ) -> list[str]:
        """A `#` title, the headline in bold (it names the counts), then a bullet list."""
        return [f"# {TITLE}", "", f"**{headline}**", "", *(f"- {x}" for x in facts), ""]

    def upcoming(self, findings: Sequence[Finding], meta: ReportMeta) -> list[str]:
        """Nothing: a ticket gets no chart; the Deactivation column has the dates."""
        return []

    def trend(self, days: Sequence[TrendDay]) -> list[str]:
        """Nothing: the chart is the HTML report's (`fcaudit trend` gives the numbers)."""
        return []

    def worklist(self, lines: Sequence[str]) -> list[str]:
        """The groups' sections as they are: each is a `##` section of its own."""
        return list(lines)

    def group(self, heading: str, lines: Sequence[str]) -> list[str]:
        """A `##` heading, then the group's paragraphs and table."""
        return [f"## {heading}", "", *lines, ""]

    def paragraph(self, text: str, *, facts: bool = False) -> list[str]:
        """The text, then a blank line."""
        return [text, ""]

    def findings(self, head: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[str]:
        """A GFM table; the cells' kinds are not shown."""
        return _table(head, ([c.text for c in row] for row in rows))

    def resolved(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
        """A `##` section holding a GFM table."""
        return [f"## {RESOLVED_TITLE}", "", *_table(head, rows), ""]

    def errors(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
        """An `## Errors` section holding a GFM table."""
        return ["## Errors", "", *_table(head, rows), ""]

    def document(self, body: list[str], meta: ReportMeta) -> list[str]:
        """The body alone: Markdown needs no head."""
        return body


class MarkdownRenderer(OutlineRenderer):
    """`-f markdown`: the report as Markdown to paste into a ticket or a pull request."""

    markup = Markdown()
