"""Markdown: the golden files, parsed back with markdown-it-py (CommonMark with GFM tables):
every table row keeps its cells, hostile names come out as the text they are, and the only
markup is fcaudit's own."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from fcaudit.render.markdown import DASHBOARD_URL, md
from fcaudit.sandbox.data import HOSTILE_DISPLAY_NAMES, HOSTILE_INSTITUTIONS
from fcaudit.text import safe
from tests.render.test_formats import FORMATS, check_golden, output, records

GOLDENS = {
    "classify.md": FORMATS["markdown"],
    "classify.institution.md": (*FORMATS["markdown"], "--group-by", "institution"),
}


def parse(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def tokens(text: str) -> Iterator[Token]:
    for token in parse(text):
        yield token
        yield from token.children or ()


def text_of(inline: Token) -> str:
    """What a reader sees of an inline token: its text and code, without markup."""
    kinds = ("text", "text_special", "code_inline", "softbreak")
    return "".join(c.content for c in inline.children or () if c.type in kinds)


def tables(text: str) -> list[list[list[str]]]:
    """Every table as rows of cell texts (the header row first), as markdown-it parsed it."""
    out: list[list[list[str]]] = []
    for token in parse(text):
        if token.type == "table_open":
            out.append([])
        elif token.type == "tr_open":
            out[-1].append([])
        elif token.type == "inline" and out and out[-1] and token.level > 3:
            out[-1][-1].append(text_of(token).strip())
    return out


def label(rec: dict[str, Any]) -> str:
    if rec["object"].endswith("authorization"):
        covers = ", ".join(rec["accounts"] or [])
        return f"authorization covering {covers}" if covers else "authorization"
    last4 = f"••{rec['last4']}" if rec["last4"] else ""
    return " ".join(p for p in (rec["display_name"] or "", last4) if p)


@pytest.mark.parametrize("name", list(GOLDENS))
def test_markdown_is_exactly_the_golden_file(name: str) -> None:
    check_golden(name, output(*GOLDENS[name]))


@pytest.mark.parametrize("name", list(GOLDENS))
def test_markdown_tables_hold_every_hostile_name_as_text(name: str) -> None:
    parsed = tables(output(*GOLDENS[name]))
    head = parsed[0][0]
    rows = [row for table in parsed for row in table[1:]]
    # Every row has exactly its header's cells: nothing broke out of a cell.
    assert all(len(row) == len(table[0]) for table in parsed for row in table)
    by_id = records()
    assert sorted(row[1] for row in rows) == sorted(by_id)
    for row in rows:
        cells = dict(zip(head, row, strict=True))
        rec = by_id[cells["Id"]]
        assert cells["Category"] == rec["category"]
        assert cells["Account"] == safe(label(rec))
        assert cells["Institution"] == safe(rec["institution_name"] or "")
        note = f" Note: {safe(rec['detail'])}" if rec["detail"] else ""
        assert cells["What to do"] == safe(rec["recommendation"]) + note
    shown = {c for row in rows for c in row}
    assert {safe(n) for n in HOSTILE_INSTITUTIONS} <= shown
    hostile = [r for r in by_id.values() if r["display_name"] in HOSTILE_DISPLAY_NAMES]
    assert {safe(f"{r['display_name']} ••{r['last4']}") for r in hostile} <= shown


@pytest.mark.parametrize("name", list(GOLDENS))
def test_markdown_has_no_markup_from_the_data(name: str) -> None:
    text = output(*GOLDENS[name])
    found = list(tokens(text))
    kinds = {t.type for t in found}
    assert not {"html_inline", "html_block", "image", "em_open", "s_open"} & kinds
    assert [t.type for t in found].count("strong_open") == 1  # the summary line
    links = [t.attrGet("href") for t in found if t.type == "link_open"]
    assert links and all(DASHBOARD_URL.fullmatch(str(h)) for h in links)
    # No bare URL for a GFM renderer to link: the data's are broken with `&#58;`.
    assert len(re.findall(r"(?i)://|www\.", text)) == len(links)


def test_markdown_group_headings_show_hostile_keys_as_text() -> None:
    top = parse(output(*GOLDENS["classify.institution.md"]))
    headings = {text_of(t) for t, n in itertools.pairwise(top) if n.type == "heading_close"}
    assert {f"Institution {safe(n)}" for n in HOSTILE_INSTITUTIONS} <= headings


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a | b", "a \\| b"),
        ("`x`", "\\`x\\`"),
        ("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
        ("[l](http://e.example)", "\\[l\\](http&#58;//e\\.example)"),
        ("*b* _u_ ~s~ $m$ #h", "\\*b\\* \\_u\\_ \\~s\\~ \\$m\\$ \\#h"),
        ("fcauth_1 snake_case x_ __y", "fcauth_1 snake_case x\\_ \\_\\_y"),
        ("WWW.e.example &amp;", "WWW&#46;e\\.example &amp;amp;"),
        ("noah.müller.218@example.com", "noah\\.müller\\.218`@`example\\.com"),
        ("@SUM(A1:A9) a @ b", "@SUM(A1:A9) a @ b"),
        ("a\nb\\", "a\\x0ab\\\\"),
        ("\u202eabc", "\\u202eabc"),
    ],
)
def test_md_escape(raw: str, escaped: str) -> None:
    assert md(raw) == escaped
    rendered = MarkdownIt("commonmark").enable("table").parseInline(md(raw))[0]
    assert text_of(rendered) == safe(raw)
    children = rendered.children or ()
    assert {c.type for c in children} <= {"text", "text_special", "code_inline"}
    assert all(c.content == "@" for c in children if c.type == "code_inline")  # an address's


def test_markdown_flat_and_without_active_findings() -> None:
    text = output("-f", "markdown", "--group-by", "none")
    parsed = tables(text)
    assert len(parsed) == 1 and parsed[0][0][-1] == "Holder"
    listed = sorted(r["id"] for r in records().values() if r["category"] != "active")
    assert sorted(row[1] for row in parsed[0][1:]) == listed
    active = len(records()) - len(listed)
    assert "## Findings" in text and f"- {active} active findings not listed" in text
