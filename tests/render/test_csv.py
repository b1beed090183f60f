"""CSV: the golden file, read back with the csv module and checked cell by cell against the
JSON report; formula prefixing, escapes, group keys and streaming."""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any

import pytest
import responses

from fcaudit.model.findings import Category
from fcaudit.model.report import Contact, Group, GroupBy, ScanResult
from fcaudit.render import RenderOptions
from fcaudit.render.csv import COLUMNS, FORMULA_TRIGGERS, CsvRenderer, cell
from fcaudit.text import safe
from tests.conftest import run
from tests.factories import AS_OF
from tests.render.test_formats import FORMATS, check_golden, finding, meta, output, records
from tests.test_worklist import fleet


def rows_of(text: str) -> list[dict[str, str]]:
    """The rows as the csv module reads them, each with exactly the documented columns."""
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = list(reader)
    assert all(None not in row and len(row) == len(COLUMNS) for row in rows)
    return rows


def expected_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A data format keeps whole values, as JSON does (the table cuts long ones).
    return ("'" if text.startswith(FORMULA_TRIGGERS) else "") + safe(text, limit=None)


def test_csv_is_exactly_the_golden_file() -> None:
    check_golden("classify.csv", output(*FORMATS["csv"]))


def test_csv_has_one_row_per_finding_each_cell_as_json_says() -> None:
    text = output(*FORMATS["csv"])
    rows = rows_of(text)
    by_id = records()
    assert sorted(r["id"] for r in rows) == sorted(by_id)
    # RFC 4180 line ends, and one physical line per record: newlines in names are escaped.
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert len(text.split("\r\n")) == len(rows) + 2
    flat = {"account_holder", "account_holder_type", "accounts", "signals", "group_key"}
    flat |= {"suppressed", "suppressed_until"}
    for row in rows:
        rec = by_id[row["id"]]
        for column in COLUMNS:
            if column not in flat:
                assert row[column] == expected_cell(rec[column]), (row["id"], column)
        holder = rec["account_holder"] or {}
        assert row["account_holder"] == expected_cell(holder.get("id"))
        assert row["account_holder_type"] == expected_cell(holder.get("type"))
        assert row["group_key"] == expected_cell(holder.get("id") or "(no holder)")
        assert row["accounts"] == ";".join(rec["accounts"] or [])
        assert row["signals"] == ";".join(dict.fromkeys(s["code"] for s in rec["signals"]))
        suppressed = rec["suppressed"] or {}
        assert row["suppressed"] == expected_cell(suppressed.get("reason"))
        assert row["suppressed_until"] == expected_cell(suppressed.get("until"))


def test_csv_cells_never_start_a_formula() -> None:
    rows = rows_of(output(*FORMATS["csv"]))
    assert not [c for row in rows for c in row.values() if c.startswith(FORMULA_TRIGGERS)]
    names = {row["display_name"] for row in rows} | {row["institution_name"] for row in rows}
    for literal in ('=HYPERLINK("http://evil.example","x")', "+1", "-1", "@SUM(A1:A9)"):
        assert "'" + literal in names
    assert "tab\\x09here" in names  # only a leading tab or CR counts
    # A passed date's negative day count is prefixed too: every cell, as the contract says.
    assert "'-2" in {row["days_until_deactivation"] for row in rows}


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("\tx", "'\\x09x"),
        ("\r=1", "'\\x0d=1"),
        ("-5", "'-5"),
        ("@x", "'@x"),
        ("+x", "'+x"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("\x1b[31m", "\\x1b[31m"),
        ("\u202ecba", "\\u202ecba"),
        (None, ""),
        (True, "true"),
        (7, "7"),
    ],
)
def test_csv_cell(raw: object, shown: str) -> None:
    assert cell(raw) == shown


def test_csv_group_key_follows_group_by() -> None:
    by_institution = rows_of(output("-f", "csv", "--group-by", "institution"))
    assert all(
        r["group_key"] == (r["institution_name"] or "(unknown institution)") for r in by_institution
    )
    assert {r["group_key"] for r in rows_of(output("-f", "csv", "--group-by", "none"))} == {""}


def test_csv_streams_a_row_as_each_finding_arrives() -> None:
    out = io.StringIO()
    renderer = CsvRenderer(out, RenderOptions())
    assert out.getvalue() == ""  # nothing before the first finding (a failed run prints none)
    renderer.finding(finding("fca_1"))
    assert out.getvalue().count("\r\n") == 2  # the header and the row, before finish
    renderer.finish(ScanResult(), meta())
    assert out.getvalue().count("\r\n") == 2


def test_csv_of_nothing_is_the_header() -> None:
    out = io.StringIO()
    CsvRenderer(out, RenderOptions()).finish(ScanResult(), meta())
    assert out.getvalue() == ",".join(COLUMNS) + "\r\n"


@dataclasses.dataclass(frozen=True)
class WithContact(RenderOptions):
    contact: bool = True  # what --contact sets once RenderOptions carries it


def test_csv_with_contact_details_holds_rows_until_the_groups_are_known() -> None:
    out = io.StringIO()
    renderer = CsvRenderer(out, WithContact())
    renderer.finding(finding("fca_1", account_holder="cus_1", category=Category.EXPIRING))
    renderer.finding(finding("fca_2", account_holder="cus_2"))
    assert out.getvalue() == ""  # a customer's contact is known only at the end of the run
    group = Group(
        key="cus_1", by=GroupBy.CUSTOMER, holder_type="customer", worst=Category.EXPIRING,
        deadline=None, accounts=1, finding_ids=("fca_1",), authorizations=(),
        relink_authorizations=(), contact=Contact("=Mallory\n", "m@example.com"),
    )  # fmt: skip
    renderer.finish(ScanResult(groups=[group], contact=True), meta())
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert list(rows[0])[-2:] == ["contact_name", "contact_email"]
    assert [(r["id"], r["contact_name"], r["contact_email"]) for r in rows] == [
        ("fca_1", "'=Mallory\\x0a", "m@example.com"),
        ("fca_2", "", ""),
    ]


def test_csv_with_contact_has_contact_columns(stripe_api: responses.RequestsMock) -> None:
    import csv
    import io

    fleet(stripe_api)
    result = run("scan", "-f", "csv", "--contact", *AS_OF, "--discovery", "customers")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    by_id = {r["id"]: r for r in rows}
    assert by_id["fca_a1"]["contact_name"] == "Ada <b>L</b>"
    assert by_id["fca_a1"]["contact_email"] == "ada@example.com"
    assert by_id["fca_c1"]["contact_email"] == ""  # cus_c needs nothing: no group, no contact
