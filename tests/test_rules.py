"""Institution rules: the shipped ones, a --rules file that adds or replaces them, --no-rules,
matching by normalised name, and a bad file named by line and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fcaudit.classify import classify
from fcaudit.errors import ExitCode
from fcaudit.rules import parse_rules
from tests.conftest import run, validate_report
from tests.factories import AS_OF, NOW, account, ndjson, ts

GOOD_RULE = """
[[rule]]
id = "acme-90d"
description = "Acme Bank: links expire after 90 days."
institution_names = ["Acme Bank"]
source = "https://example.com/acme"
written = 2026-11-01

[[rule.when]]
deactivates_after_days = 90
"""


def classify_json(*args: str, objects: list[dict[str, Any]]) -> Any:
    text = ndjson(objects)
    result = run("classify", "-", "-f", "json", *AS_OF, *args, input=text, key=None)
    return result


def test_a_rules_file_adds_a_rule(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(GOOD_RULE)
    obj = account("fca_acme", institution="ACME bank")
    obj["created"] = ts(-80)
    result = classify_json("--rules", str(rules), objects=[obj])
    doc = json.loads(result.stdout)
    validate_report(doc)
    finding = doc["findings"][0]
    assert finding["category"] == "expiring"
    assert finding["expected_deactivation_source"] == "rule:acme-90d"
    assert finding["days_until_deactivation"] == 10


def test_a_rules_file_replaces_a_shipped_rule_by_id(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(GOOD_RULE.replace("acme-90d", "boa-auth-1y").replace("Acme Bank", "Nobody"))
    obj = account("fca_boa")
    obj["created"] = ts(-360)  # 1 year after linking would be in 5 days
    with_default = json.loads(classify_json(objects=[obj]).stdout)["findings"][0]
    assert with_default["expected_deactivation_source"] == "rule:boa-auth-1y"
    replaced = json.loads(classify_json("--rules", str(rules), objects=[obj]).stdout)
    assert replaced["findings"][0]["expected_deactivation_source"] is None


def test_no_rules_turns_them_off() -> None:
    obj = account("fca_boa")
    obj["created"] = ts(-360)
    finding = json.loads(classify_json("--no-rules", objects=[obj]).stdout)["findings"][0]
    assert (finding["category"], finding["signals"]) == ("active", [])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            GOOD_RULE.replace("deactivates_after_days = 90", "deactivates_after_days = -1"),
            "line 10: rule 1, field 'when.deactivates_after_days'",
        ),
        (
            GOOD_RULE.replace('source = "https://example.com/acme"', 'source = "ftp://x"'),
            "line 6: rule 1, field 'source'",
        ),
        (GOOD_RULE.replace('id = "acme-90d"', 'id = "Acme 90"'), "line 3: rule 1, field 'id'"),
        (
            GOOD_RULE.replace("written = 2026-11-01", 'written = "yesterday"'),
            "line 7: rule 1, field 'written'",
        ),
        (GOOD_RULE + "colour = 1\n", "field 'when.colour': unknown field"),
        (GOOD_RULE + GOOD_RULE, "line 13: rule 2, field 'id': 'acme-90d' is used twice"),
        ("[[rule]\n", "line 1"),
    ],
)
def test_a_bad_rules_file_names_the_file_line_and_field(
    tmp_path: Path, text: str, needle: str
) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text(text)
    result = run("classify", "-", "--rules", str(rules), input="{}", key=None)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1
    assert str(rules) in result.stderr and needle in result.stderr, result.stderr


def test_rules_and_no_rules_conflict(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(GOOD_RULE)
    result = run("classify", "-", "--rules", str(rules), "--no-rules", input="{}", key=None)
    assert result.exit_code == ExitCode.USAGE and "conflict" in result.stderr


def test_the_shipped_rules_parse_and_cite_their_source() -> None:
    from importlib import resources

    text = resources.files("fcaudit.rules").joinpath("default.toml").read_text()
    rules = parse_rules(text, "default.toml").rules
    assert [r.id for r in rules] == ["boa-auth-1y", "boa-api-migration"]
    assert all(r.source.startswith("https://docs.stripe.com/") for r in rules)


def test_matching_rules_are_remembered_per_institution_and_stay_right() -> None:
    from fcaudit.rules import _MATCH_CACHE

    rules = parse_rules(GOOD_RULE, "rules.toml")
    (acme,) = rules.rules
    # By name (case and punctuation ignored), many times and past the cache's bound.
    for i in range(_MATCH_CACHE + 10):
        assert rules.matching(None, "ACME bank") == (acme,)
        assert rules.matching(f"fcinst_{i}", f"Other Bank {i}") == ()
    assert len(rules._matching) <= _MATCH_CACHE
    # The cache is not part of the value: equal rulesets compare equal whatever they saw.
    assert rules == parse_rules(GOOD_RULE, "rules.toml")


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
