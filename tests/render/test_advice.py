"""Advice in the formats for people (table, detail view, Markdown, HTML): a long name from the
API is shortened inside the advice, and fcaudit's instruction after it is always whole.

Each case classifies the same object twice, once with a short name and once with a long one:
what the short-named advice says after the name is the instruction, and every format must end
the long-named advice with exactly that.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console

from fcaudit.classify import classify
from fcaudit.errors import ExitCode
from fcaudit.model.findings import Category, Finding
from fcaudit.render.advice import ADVICE_LIMIT, NAME_LIMIT, advice
from fcaudit.render.detail import print_detail
from fcaudit.sandbox.data import HOSTILE_INSTITUTIONS
from fcaudit.text import ELLIPSIS, safe
from tests.conftest import run
from tests.factories import AS_OF, NOW, account, expiring, inactive, ndjson
from tests.render.test_markdown import tables

LONG_INSTITUTION = HOSTILE_INSTITUTIONS[-1]  # "Very Long Name Bank xxx...", 500 characters
LONG_AUTHORIZATION = "fcauth_" + "A" * 300

Build = Callable[[str], dict[str, Any]]
# (what the name is, short name, long name, the object with that name)
CASES: dict[str, tuple[str, str, Build]] = {
    "relink_required": ("Tiny Bank", LONG_INSTITUTION, lambda n: account(
        institution=n, status="inactive", status_details=inactive()
    )),
    "relink_required, long authorization": ("fcauth_1", LONG_AUTHORIZATION, lambda n: account(
        authorization=n, status="inactive", status_details=inactive()
    )),
    "account_closed": ("Tiny Bank", LONG_INSTITUTION, lambda n: account(
        institution=n, status="inactive", status_details=inactive("account_closed", "none")
    )),
    "access_denied": ("Tiny Bank", LONG_INSTITUTION, lambda n: account(
        institution=n, status="inactive", status_details=inactive("access_denied", "none")
    )),
    "another cause": ("Tiny Bank", LONG_INSTITUTION, lambda n: account(
        institution=n, status="inactive", status_details=inactive("something_new", "none")
    )),
    "unknown action": ("Tiny Bank", LONG_INSTITUTION, lambda n: account(
        institution=n, status="inactive", status_details=inactive("x", "call_the_bank")
    )),
    "disconnected": ("Tiny Bank", LONG_INSTITUTION, lambda n: account(
        institution=n, status="disconnected"
    )),
    "expiring": ("Tiny Bank", LONG_INSTITUTION, lambda n: account(
        institution=n, status_details=expiring(5)
    )),
    "expiring, action none": ("Tiny Bank", LONG_INSTITUTION, lambda n: account(
        institution=n, status_details=expiring(5, action="none")
    )),
    "expiring, passed": ("Tiny Bank", LONG_INSTITUTION, lambda n: account(
        institution=n, status_details=expiring(-2)
    )),
    # Quoted as Python's repr: the name is the advice's end.
    "unknown status": ("weird", "weird" + "z" * 300, lambda n: account(status=n)),
}  # fmt: skip


def reports(case: str, fmt: str, *, name: str | None = None) -> str:
    """The case's long-named object (or the one named `name`) reported in `fmt`."""
    _, long, build = CASES[case]
    result = run(
        "classify", "-", *AS_OF, "-q", "-f", fmt, key=None, input=ndjson([build(name or long)]),
        COLUMNS="140",
    )  # fmt: skip
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.stderr
    return result.stdout


def record(case: str, name: str) -> dict[str, Any]:
    """The JSON report's finding for the case's object named `name`."""
    found: dict[str, Any] = json.loads(reports(case, "json", name=name))["findings"][0]
    return found


def after(text: str, name: str) -> str:
    """What `text` says after the last time it names `name` (all of it if it never does)."""
    return text[text.rindex(name) + len(name) :] if name in text else text


def instruction(case: str) -> tuple[str, str]:
    """How the long-named finding's advice and note must end in a report for people: as the
    short-named one's say after the (last) name."""
    short, long, _ = CASES[case]
    named = record(case, short)
    assert long in record(case, long)["recommendation"]  # the report's data keeps it whole
    note = safe(after(named["detail"], short), limit=None) if named["detail"] else ""
    return safe(after(named["recommendation"], short), limit=None), note


def check_cell(told: str, case: str) -> None:
    """A Markdown or HTML cell: the advice, then `Note: ` and the note, each ending whole."""
    tail, note_tail = instruction(case)
    said, _, note = told.partition(" Note: ")
    assert said.endswith(tail), said
    assert note.endswith(note_tail) and bool(note) == bool(note_tail), note


def squeeze(text: str) -> str:
    """Text without any whitespace: lines wrapped by a terminal compare equal."""
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("case", list(CASES))
def test_markdown_advice_ends_with_the_whole_instruction(case: str) -> None:
    _, long, _ = CASES[case]
    [table] = tables(reports(case, "markdown"))
    cells = dict(zip(table[0], table[1], strict=True))
    told = cells["What to do"]
    check_cell(told, case)
    assert safe(long[: NAME_LIMIT - 1] + ELLIPSIS) in told
    assert safe(long, limit=None) not in told


@pytest.mark.parametrize("case", list(CASES))
def test_html_advice_ends_with_the_whole_instruction(case: str) -> None:
    page = reports(case, "html")
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page) if 'class="id"' in r)
    cell = re.findall(r"<td[^>]*>(.*?)</td>", row)[7].replace("<br>", " ")
    told = html.unescape(re.sub(r"<[^>]+>", "", cell))
    check_cell(told, case)
    assert safe(CASES[case][1], limit=None) not in told


@pytest.mark.parametrize("case", list(CASES))
def test_table_advice_ends_with_the_whole_instruction(case: str) -> None:
    tail, _ = instruction(case)  # the table shows no notes
    lines = reports(case, "table").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("→"))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    told = squeeze(" ".join(lines[start:end]))
    assert told.endswith(squeeze(tail)), told


@pytest.mark.parametrize("case", list(CASES))
def test_detail_view_advice_ends_with_the_whole_instruction(case: str) -> None:
    short, long, build = CASES[case]
    said = classify(build(short), now=NOW).recommendation  # no stage adds to it here
    tail = said[said.rindex(short) + len(short) :]
    out = io.StringIO()  # wide enough for one line per row
    console = Console(file=out, width=4000, color_system=None, markup=False, highlight=False)
    print_detail(console, classify(build(long), now=NOW))
    [what] = [line for line in out.getvalue().splitlines() if line.strip().startswith("what to do")]
    assert what.rstrip().endswith(safe(tail, limit=None)), what
    assert safe(long, limit=None) not in what


def test_advice_without_long_names_is_unchanged() -> None:
    said = classify(account(status="disconnected"), now=NOW).recommendation
    assert advice(classify(account(status="disconnected"), now=NOW)) == said


def test_advice_quoting_text_no_field_holds_keeps_its_end() -> None:
    # Text the advice quotes from elsewhere (no field of the finding holds it) is not a name
    # to shorten; past ADVICE_LIMIT the middle goes, so the instruction at the end stays.
    told = f"Check {'y' * 10_000}: then ask the customer to relink."
    shown = advice(Finding("fca_1", "financial_connections.account", Category.UNKNOWN, None, told))
    assert len(shown) <= ADVICE_LIMIT
    assert shown.startswith("Check yyy") and shown.endswith(": then ask the customer to relink.")
