"""`fcaudit diff OLD.json NEW.json`: two saved reports compared, offline."""

from __future__ import annotations

import json
from pathlib import Path

from fcaudit.errors import ExitCode
from tests.conftest import run, validate_report
from tests.factories import account, ndjson
from tests.test_baseline import AFTER, BEFORE, write_report


def test_diff_compares_two_reports_offline(tmp_path: Path) -> None:
    old = write_report(tmp_path, "old.json", BEFORE)
    new = write_report(tmp_path, "new.json", AFTER)
    result = run("diff", str(old), str(new), "-f", "json", key=None)
    doc = json.loads(result.stdout)
    validate_report(doc)
    assert doc["command"] == "diff"
    assert {x["id"]: x["change"] for x in doc["findings"]}["fca_new"] == "new"
    assert doc["as_of"] == "2026-11-26T12:00:00Z"  # NEW's clock, not today's
    table = run("diff", str(old), str(new), "-f", "table", key=None).stdout
    row = next(line for line in table.splitlines() if line.startswith("  ") and "fca_worse" in line)
    assert row.split()[0] == "worse"
    assert (
        "Resolved since the baseline (2):" in table
        and "fca_fixed  relink_required → active" in table
    )
    csv_like = run("diff", str(old), str(new), "-f", "ndjson", key=None).stdout
    assert all(json.loads(line)["change"] for line in csv_like.splitlines())


def test_diff_names_which_report_is_missing(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(run("classify", "-", "-f", "json", input=ndjson([account()]), key=None).stdout)
    result = run("diff", str(old), str(tmp_path / "nope.json"), key=None)
    assert result.exit_code == ExitCode.USAGE and result.stderr.startswith("Error: NEW ")
