"""One comparison (`fcaudit diff OLD NEW`) rendered in every format that lists findings: each
shows every finding's change (new, worse, better) and every resolved finding, as the JSON
report has them. Each format is read back with its own reader (json, csv, markdown-it-py, the
HTML parser) and the table as the lines a person reads.

NDJSON and CSV carry findings only (README: Output contract): a resolved finding is in them
when it is still reported (fixed: active, change `better`), not when it is gone. Prometheus
is left out: its gauges count the last run and list no finding.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fcaudit.errors import ExitCode
from tests.conftest import run, validate_report
from tests.factories import account, expiring, inactive
from tests.render.test_markdown import tables
from tests.test_baseline import write_report

BEFORE = [
    account("fca_stays", status="inactive", status_details=inactive()),
    account("fca_worse", status_details=expiring(9)),
    account("fca_better", status="inactive", status_details=inactive()),
    account("fca_fixed", status="inactive", status_details=inactive()),
    account("fca_gone", status="inactive", status_details=inactive()),
    account("fca_fine"),
]
AFTER = [
    account("fca_stays", status="inactive", status_details=inactive()),
    account("fca_worse", status_details=expiring(3)),
    account("fca_better", status_details=expiring(20)),
    account("fca_fixed"),
    account("fca_fine"),
    account("fca_new", status="disconnected"),
]
SHOWN = ("new", "worse", "better")  # `same` is blank in the formats for people


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("diff")
    return write_report(where, "old.json", BEFORE), write_report(where, "new.json", AFTER)


@functools.cache
def rendered(old: Path, new: Path, *args: str) -> str:
    result = run("diff", str(old), str(new), "--fail-on", "none", *args, key=None, COLUMNS="160")
    assert result.exit_code == ExitCode.OK, result.stderr
    return result.stdout


def truth(old: Path, new: Path) -> tuple[dict[str, str], list[str]]:
    """The JSON report's changes (new, worse, better) by id, and its resolved ids."""
    doc = json.loads(rendered(old, new, "-f", "json"))
    validate_report(doc)
    changes = {f["id"]: f["change"] for f in doc["findings"] if f["change"] in SHOWN}
    resolved = [r["id"] for r in doc["resolved"]]
    # The comparison has one of each, so a format that drops any of them fails.
    assert sorted(changes.values()) == sorted(["new", "worse", "better", "better"])
    assert {"fca_fixed", "fca_gone"} <= set(resolved)
    return changes, resolved


class Cells(HTMLParser):
    """Each table row's cells' text, and the `<h2>` headings, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.headings: list[str] = []
        self._cell: list[str] | None = None
        self._h2: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "h2":
            self._h2 = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "h2" and self._h2 is not None:
            self.headings.append("".join(self._h2))
            self._h2 = None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._h2):
            if part is not None:
                part.append(data)


def test_json_and_ndjson_show_every_change(reports: tuple[Path, Path]) -> None:
    changes, resolved = truth(*reports)
    lines = [json.loads(x) for x in rendered(*reports, "-f", "ndjson").splitlines()]
    assert {x["id"]: x["change"] for x in lines if x["change"] in SHOWN} == changes
    # Findings only: the fixed one is there (active, better); the gone one cannot be.
    assert {x["id"] for x in lines} & set(resolved) == {"fca_fixed"}


def test_csv_shows_every_change(reports: tuple[Path, Path]) -> None:
    changes, _ = truth(*reports)
    rows = list(csv.DictReader(io.StringIO(rendered(*reports, "-f", "csv"), newline="")))
    assert {r["id"]: r["change"] for r in rows if r["change"] in SHOWN} == changes


def test_table_shows_every_change_and_every_resolved_finding(reports: tuple[Path, Path]) -> None:
    changes, resolved = truth(*reports)
    text = rendered(*reports, "-f", "table", "--show-active")
    marked = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) > 2 and words[0] in SHOWN and words[2].startswith("fca_"):
            marked[words[2]] = words[0]
    assert marked == changes
    after = text.split("Resolved since the baseline", 1)[1]
    listed = re.findall(r"^\s+(fca_\w+)\s+\w+ → ", after, re.M)
    assert listed == resolved


def test_markdown_shows_every_change_and_every_resolved_finding(
    reports: tuple[Path, Path],
) -> None:
    changes, resolved = truth(*reports)
    text = rendered(*reports, "-f", "markdown", "--show-active")
    *groups, last = tables(text)
    marked = {}
    for table in groups:
        assert table[0][0] == "Change"
        marked.update({row[2]: row[0] for row in table[1:] if row[0]})
    assert marked == changes
    assert "## Resolved since the baseline" in text
    assert last[0] == ["Id", "Was", "Now"] and [row[0] for row in last[1:]] == resolved
    assert "Since the baseline (" in text and f"{len(resolved)} resolved" in text


def test_html_shows_every_change_and_every_resolved_finding(reports: tuple[Path, Path]) -> None:
    changes, resolved = truth(*reports)
    page = Cells()
    page.feed(rendered(*reports, "-f", "html", "--show-active"))
    heads = [i for i, row in enumerate(page.rows) if row and row[0] in ("Change", "Id")]
    marked = {}
    for at in heads:
        if page.rows[at][0] != "Change":
            continue
        for row in page.rows[at + 1 :]:
            if row[0] in ("Change", "Id") or len(row) < 3:
                break
            if row[0]:
                marked[row[2]] = row[0]
    assert marked == changes
    assert "Resolved since the baseline" in page.headings
    start = next(i for i, row in enumerate(page.rows) if row == ["Id", "Was", "Now"])
    assert [row[0] for row in page.rows[start + 1 :]] == resolved
