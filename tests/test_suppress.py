"""Suppressions (`--ignore FILE`): findings set aside with a reason, counted, and left out of
the exit decision and the table; a malformed file names the line and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fcaudit.errors import ExitCode
from tests.conftest import run, validate_report
from tests.factories import AS_OF, ndjson
from tests.test_baseline import AFTER

IGNORE = """
[[ignore]]
id = "fca_stays"
reason = "ticket 42: the customer is relinking"
until = 2026-12-31

[[ignore]]
id = "cus_1"
reason = "known"
categories = ["expiring"]

[[ignore]]
id = "fca_old"
reason = "was handled"
until = 2026-11-01

[[ignore]]
id = "fca_nothing"
reason = "typo"
"""


def test_suppressions(tmp_path: Path) -> None:
    rules = tmp_path / "ignore.toml"
    rules.write_text(IGNORE)
    text = ndjson(AFTER)
    result = run(
        "classify",
        "-",
        "-f",
        "json",
        "--ignore",
        str(rules),
        "--fail-on",
        "relink_required,expiring",
        *AS_OF,
        input=text,
        key=None,
    )
    doc = json.loads(result.stdout)
    validate_report(doc)
    by_id = {x["id"]: x for x in doc["findings"]}
    assert by_id["fca_stays"]["suppressed"] == {
        "reason": "ticket 42: the customer is relinking",
        "until": "2026-12-31",
    }
    assert by_id["fca_worse"]["suppressed"] == {
        "reason": "known",
        "until": None,
    }  # by customer, expiring only
    assert by_id["fca_new"]["suppressed"] is None
    assert doc["summary"]["suppressed"] == 2
    assert result.exit_code == ExitCode.OK  # the only matching findings are suppressed
    assert [e["id"] for e in doc["summary"]["expired_suppressions"]] == ["fca_old"]
    assert [e["id"] for e in doc["summary"]["unmatched_suppressions"]] == ["fca_nothing"]
    assert "fca_old expired on 2026-11-01" in result.stderr
    assert "fca_nothing matched nothing" in result.stderr
    assert all(g["key"] != "fca_stays" for g in doc["groups"])
    table = run(
        "classify", "-", "-f", "table", "--ignore", str(rules), *AS_OF, input=text, key=None
    ).stdout
    assert "fca_stays" not in table and "2 suppressed findings not listed" in table
    shown = run(
        "classify",
        "-",
        "-f",
        "table",
        "--ignore",
        str(rules),
        "--show-suppressed",
        *AS_OF,
        input=text,
        key=None,
    ).stdout
    row = next(line for line in shown.splitlines() if "fca_stays" in line)
    assert row.split()[0] == "supp"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[[ignore]]\nid = "fca_1"\n', "line 1: entry 1, field 'reason': is required"),
        (
            '[[ignore]]\nid = "fca_1"\nreason = "x"\nuntil = "soon"\n',
            "line 4: entry 1, field 'until'",
        ),
        ('[[ignore]]\nid = "x y"\nreason = "x"\n', "line 2: entry 1, field 'id'"),
        (
            '[[ignore]]\nid = "fca_1"\nreason = "x"\ncategories = ["broken"]\n',
            "line 4: entry 1, field 'categories': unknown category 'broken'",
        ),
        ('[[ignore]]\nid = "fca_1"\nreason = "x"\nowner = "me"\n', "field 'owner': unknown field"),
        ("[[ignore]\n", "line 1"),
    ],
)
def test_a_malformed_ignore_file_names_the_line_and_field(
    tmp_path: Path, text: str, needle: str
) -> None:
    rules = tmp_path / "ignore.toml"
    rules.write_text(text)
    result = run("classify", "-", "--ignore", str(rules), input="{}", key=None)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr
