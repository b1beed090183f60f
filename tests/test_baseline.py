"""Baselines: how a finding compares with its last report (--baseline, --fail-on-change), what
is resolved, and which saved reports can be compared. `fcaudit diff` is in tests/cli/test_diff.py,
suppressions in tests/test_suppress.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import responses

from fcaudit.classify import classify
from fcaudit.errors import ExitCode
from fcaudit.model.findings import Change
from fcaudit.stages import compare
from tests.conftest import run, validate_report
from tests.factories import AS_OF, NOW, account, expiring, inactive, ndjson


def f(**kw: Any) -> Any:
    return classify(account(**kw), now=NOW)


@pytest.mark.parametrize(
    ("old", "new", "change"),
    [
        (None, f(status="inactive", status_details=inactive()), Change.NEW),
        (f(), f(status_details=expiring(5)), Change.NEW),  # active before
        (f(), f(), Change.SAME),
        (
            f(status_details=expiring(5)),
            f(status="inactive", status_details=inactive()),
            Change.WORSE,
        ),
        (f(status_details=expiring(9)), f(status_details=expiring(5)), Change.WORSE),  # sooner
        (f(status_details=expiring(5)), f(status_details=expiring(5)), Change.SAME),
        (f(status_details=expiring(5)), f(status_details=expiring(20)), Change.BETTER),
        (
            f(status="inactive", status_details=inactive()),
            f(status_details=expiring(5)),
            Change.BETTER,
        ),
        (f(status="inactive", status_details=inactive()), f(), Change.BETTER),  # resolved
    ],
)
def test_compare(old: Any, new: Any, change: Change) -> None:
    assert compare(old, new) is change


def test_changes_survive_as_report_fields() -> None:
    finding = dataclasses.replace(f(), change=Change.WORSE)
    assert finding.to_record()["change"] == "worse"


# -- --baseline through the CLI (offline classify: the same stages as a scan) -------------


def write_report(tmp_path: Path, name: str, objects: list[dict[str, Any]], *args: str) -> Path:
    out = tmp_path / name
    text = ndjson(objects)
    result = run(
        "classify", "-", "-o", str(out), "--fail-on", "none", *AS_OF, *args, input=text, key=None
    )
    assert result.exit_code == 0, result.stderr
    return out


BEFORE = [
    account("fca_stays", status="inactive", status_details=inactive()),
    account("fca_worse", status_details=expiring(9)),
    account("fca_fixed", status="inactive", status_details=inactive()),
    account("fca_gone", status="inactive", status_details=inactive()),
    account("fca_fine"),
]

AFTER = [
    account("fca_stays", status="inactive", status_details=inactive()),
    account("fca_worse", status_details=expiring(3)),
    account("fca_fixed"),
    account("fca_fine"),
    account("fca_new", status="disconnected"),
]


def test_baseline_changes_and_resolved(tmp_path: Path) -> None:
    baseline = write_report(tmp_path, "before.json", BEFORE)
    text = ndjson(AFTER)
    result = run(
        "classify", "-", "-f", "json", "--baseline", str(baseline), *AS_OF, input=text, key=None
    )
    doc = json.loads(result.stdout)
    validate_report(doc)
    changes = {x["id"]: x["change"] for x in doc["findings"]}
    assert changes == {
        "fca_stays": "same",
        "fca_worse": "worse",
        "fca_fixed": "better",
        "fca_fine": "same",
        "fca_new": "new",
    }
    gone = {"id": "fca_gone", "new_category": "gone"}
    fixed = {"id": "fca_fixed", "new_category": "active"}
    # The same scope (stdin both times) and a complete run: a missing object is gone.
    assert [{k: r[k] for k in ("id", "new_category")} for r in doc["resolved"]] == [fixed, gone]
    assert {r["old_category"] for r in doc["resolved"]} == {"relink_required"}
    assert doc["summary"]["by_change"] == {"new": 1, "worse": 1, "same": 2, "better": 1}
    assert doc["baseline"]["source"] == str(baseline)


def test_gone_needs_a_complete_run_of_the_same_scope(tmp_path: Path) -> None:
    before = write_report(tmp_path, "a.json", BEFORE)
    after_file = tmp_path / "after.ndjson"
    after_file.write_text(ndjson(AFTER))
    before_file = tmp_path / "before.ndjson"
    before_file.write_text(ndjson(BEFORE))
    # Same scope (the same file name): missing objects are gone.
    same = tmp_path / "same.json"
    run("classify", str(before_file), "-o", str(same), "--fail-on", "none", *AS_OF, key=None)
    before_file.write_text(after_file.read_text())
    doc = json.loads(
        run(
            "classify", str(before_file), "-f", "json", "--baseline", str(same), *AS_OF, key=None
        ).stdout
    )
    assert {
        "id": "fca_gone",
        "object": "financial_connections.account",
        "old_category": "relink_required",
        "new_category": "gone",
        # Reports without since (no --state): the break's start is not known.
        "broken_since": None,
        "repaired_at": AS_OF[1],
        "time_to_repair": None,
    } in doc["resolved"]
    assert doc["baseline"]["comparable"] is True and doc["baseline"]["warnings"] == []
    # Another scope: a warning, and nothing called gone.
    result = run(
        "classify", str(after_file), "-f", "json", "--baseline", str(before), *AS_OF, key=None
    )
    doc = json.loads(result.stdout)
    assert "another scope" in result.stderr
    assert not [r for r in doc["resolved"] if r["new_category"] == "gone"]
    assert doc["baseline"]["comparable"] is False


@pytest.mark.parametrize(
    ("fail_on_change", "code"),
    [("new,worse", ExitCode.FINDINGS), ("new", ExitCode.OK), ("same", ExitCode.FINDINGS)],
)
def test_fail_on_change_alerts_once(tmp_path: Path, fail_on_change: str, code: ExitCode) -> None:
    baseline = write_report(tmp_path, "before.json", BEFORE)
    text = ndjson(AFTER)
    args = ["--baseline", str(baseline), "--fail-on-change", fail_on_change]
    args += ["--fail-on", "relink_required,expiring", *AS_OF]
    result = run("classify", "-", "-f", "json", *args, input=text, key=None)
    assert result.exit_code == code, result.stderr
    # Without --fail-on-change the same run fails on every matching finding.
    plain = run(
        "classify", "-", "-f", "json", "--baseline", str(baseline), *AS_OF, input=text, key=None
    )
    assert plain.exit_code == ExitCode.FINDINGS


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("not json", "is not JSON"),
        ('{"findings": []}', "is not an fcaudit report"),
        (
            '{"tool": {"name": "fcaudit"}, "schema_version": "2.0", "findings": []}',
            "schema_version '2.0'",
        ),
        ('{"tool": {"name": "fcaudit"}, "schema_version": "1.0"}', "has no findings[]"),
    ],
)
def test_a_bad_baseline_is_exit_2_and_writes_nothing(
    tmp_path: Path, content: str, needle: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    out = tmp_path / "out.json"
    out.write_text("previous report")
    result = run(
        "classify",
        "-",
        "--baseline",
        str(bad),
        "-o",
        str(out),
        input=json.dumps(account()),
        key=None,
    )
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1 and needle in result.stderr
    assert out.read_text() == "previous report"


def test_a_missing_baseline_and_fail_on_change_alone_are_usage_errors(tmp_path: Path) -> None:
    missing = run("classify", "-", "--baseline", str(tmp_path / "nope.json"), input="{}", key=None)
    assert missing.exit_code == ExitCode.USAGE and "No such file" in missing.stderr
    alone = run("classify", "-", "--fail-on-change", "new", input="{}", key=None)
    assert alone.exit_code == ExitCode.USAGE and "needs something to compare with" in alone.stderr


def test_a_1_0_report_is_a_valid_baseline(tmp_path: Path) -> None:
    old = json.loads(write_report(tmp_path, "before.json", BEFORE).read_text())
    old["schema_version"] = "1.0"
    for finding in old["findings"]:  # a 1.0 report has none of the 1.1 fields
        for key in (
            "signals",
            "expected_deactivation_source",
            "event_type",
            "event_created",
            "dashboard_url",
            "change",
            "suppressed",
        ):
            finding.pop(key)
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps(old))
    text = ndjson(AFTER)
    doc = json.loads(
        run(
            "classify", "-", "-f", "json", "--baseline", str(legacy), *AS_OF, input=text, key=None
        ).stdout
    )
    assert {x["id"]: x["change"] for x in doc["findings"]}["fca_worse"] == "worse"


def test_baseline_warnings_for_another_mode_and_an_incomplete_report(
    tmp_path: Path, stripe_api: responses.RequestsMock
) -> None:
    old = json.loads(write_report(tmp_path, "before.json", BEFORE).read_text())
    old["mode"], old["complete"] = "live", False
    old["scope"] = {"type": "customers", "ids": ["cus_a"]}
    base = tmp_path / "live.json"
    base.write_text(json.dumps(old))
    from tests.stripe_fake import add_accounts

    add_accounts(
        stripe_api,
        "cus_a",
        [account("fca_stays", customer="cus_a", status="inactive", status_details=inactive())],
    )
    result = run("scan", "--customer", "cus_a", "-f", "json", "--baseline", str(base), *AS_OF)
    assert "from live mode, this run is test mode" in result.stderr
    assert "baseline report was incomplete" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["baseline"]["complete"] is False and doc["baseline"]["mode"] == "live"
