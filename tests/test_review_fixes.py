"""Cases an independent review found by using fcaudit as a new user would."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fcaudit.classify import classify
from fcaudit.errors import ExitCode
from fcaudit.rules import parse_rules
from tests.conftest import run
from tests.factories import AS_OF, NOW, account, expiring, inactive, ndjson


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_classify_refuses_fcaudit_output(fmt: str) -> None:
    """Classifying findings again read their flattened fields as Stripe's: wrong categories."""
    saved = run(
        "classify",
        "-",
        "-f",
        fmt,
        *AS_OF,
        input=ndjson([account(status_details=expiring(3))]),
        key=None,
    )
    again = run("classify", "-", input=saved.stdout, key=None)
    assert again.exit_code == ExitCode.USAGE
    assert again.stderr.count("\n") == 1 and "fcaudit" in again.stderr and "Tip:" in again.stderr


def test_a_rule_for_a_non_latin_bank_matches_only_that_bank() -> None:
    rules = parse_rules(
        '[[rule]]\nid = "sber"\ninstitution_names = ["Сбербанк"]\nsource = "https://example.com"\n'
        "written = 2026-11-01\n[[rule.when]]\ndeactivates_after_days = 30\n",
        "rules.toml",
    )
    created = int(datetime(2026, 11, 10, tzinfo=UTC).timestamp())
    sber = {**account(institution="СБЕРБАНК"), "created": created}
    mizuho = {**account(institution="みずほ銀行"), "created": created}
    assert classify(sber, now=NOW, rules=rules).expected_deactivation_source == "rule:sber"
    assert classify(mizuho, now=NOW, rules=rules).signals == ()


def test_a_rule_name_without_letters_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[[rule]]\nid = "x"\ninstitution_names = ["---"]\nsource = "https://example.com"\n'
        "written = 2026-11-01\n[[rule.when]]\ndeactivates_after_days = 30\n"
    )
    result = run("classify", "-", "--rules", str(rules), input="{}", key=None)
    assert result.exit_code == ExitCode.USAGE and "institution_names" in result.stderr


def test_untrusted_holder_ids_and_baseline_times_never_reach_the_terminal_raw(
    tmp_path: Path,
) -> None:
    evil = "cus_\x1b]0;PWNED\x07\x1b[31mRED"
    obj = account("fca_1", status="inactive", status_details=inactive())
    obj["account_holder"] = {"type": "customer", "customer": evil}
    baseline = json.loads(
        run("classify", "-", "-f", "json", *AS_OF, input=ndjson([obj]), key=None).stdout
    )
    baseline["generated_at"] = "\x1b]0;PWNED\x07\x1b[2J"
    path = tmp_path / "base.json"
    path.write_text(json.dumps(baseline))
    out = run(
        "classify",
        "-",
        "-f",
        "table",
        "--baseline",
        str(path),
        *AS_OF,
        input=ndjson([obj]),
        key=None,
    )
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout
    assert "\\x1b]0;PWNED" in out.stdout  # shown, as visible escapes
    doc = json.loads(
        run("classify", "-", "-f", "json", *AS_OF, input=ndjson([obj]), key=None).stdout
    )
    assert doc["findings"][0]["dashboard_url"] is None  # no link is built from such an id


IGNORE = '[[ignore]]\nid = "cus_1"\nreason = "handled in ticket 9"\n'


def test_suppressed_findings_leave_every_worklist_format(tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.toml"
    ignore.write_text(IGNORE)
    objects = [
        account("fca_mine", customer="cus_1", status="inactive", status_details=inactive()),
        account("fca_other", customer="cus_2", status="inactive", status_details=inactive()),
    ]
    args = ("--ignore", str(ignore), *AS_OF)
    md = run("classify", "-", "-f", "markdown", *args, input=ndjson(objects), key=None).stdout
    assert "fca_other" in md and "fca_mine" not in md
    prom = run("classify", "-", "-f", "prometheus", *args, input=ndjson(objects), key=None).stdout
    assert 'fcaudit_findings{object="account",category="relink_required"} 1' in prom
    assert "fcaudit_suppressed_findings 1" in prom
    assert "fcaudit_customers_affected 1" in prom
    table = run("classify", "-", "-f", "table", *args, input=ndjson(objects), key=None).stdout
    assert table.splitlines()[0].startswith(
        "1 customer to contact, 1 finding needs attention: 1 relink_required"
    )
    shown = run(
        "classify", "-", "-f", "table", "--show-suppressed", *args, input=ndjson(objects), key=None
    ).stdout
    row = next(line for line in shown.splitlines() if "fca_mine" in line)
    assert row.split()[0] == "supp"


LIVE_KEY = "sk_live_" + "Q7" * 14


@pytest.mark.parametrize(
    "url",
    [
        f"https://{LIVE_KEY}@x.example",
        f"https://x.example/?k={LIVE_KEY}",
        "https://me:pw@x.example",
    ],
)
def test_api_base_errors_never_echo_secrets(url: str) -> None:
    result = run("scan", "--api-base", url, key=LIVE_KEY)
    assert result.exit_code == ExitCode.USAGE
    assert LIVE_KEY not in result.stderr and "Q7Q7Q7" not in result.stderr
    assert "pw" not in result.stderr.replace("spaces", "")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-o", "x.json", "--metrics", "x.json"], "-o and --metrics name the same file"),
        (["-o", "newdir/"], "--output newdir/ names a directory"),
        (["--metrics", "/nonexistent-dir/m.prom"], "--metrics: directory /nonexistent-dir"),
        (["-o", "md"], "--format markdown"),
        (["-o", "prom"], "--format prometheus"),
    ],
)
def test_output_paths_are_checked_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("classify", "-", *args, input=ndjson([account()]), key=None)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_diff_names_which_report_is_missing(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(run("classify", "-", "-f", "json", input=ndjson([account()]), key=None).stdout)
    result = run("diff", str(old), str(tmp_path / "nope.json"), key=None)
    assert result.exit_code == ExitCode.USAGE and result.stderr.startswith("Error: NEW ")


def test_usage_errors_point_at_the_command_that_was_run() -> None:
    result = run("scan", "--group-by")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.strip().endswith("Tip: see 'fcaudit scan --help'.")
