"""Issue #8 through the CLI: rules files, event streams, relink counts, --fail-on signals,
--customer-account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from fcaudit.errors import ExitCode
from fcaudit.rules import parse_rules
from tests.conftest import API, run, validate_report
from tests.factories import AS_OF, account, expiring, inactive, ndjson, ts
from tests.stripe_fake import add_pages

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


# -- event streams ------------------------------------------------------------------------


def event(eid: str, etype: str, created: int, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": eid,
        "object": "event",
        "type": etype,
        "created": created,
        "api_version": "2026-09-30.preview",
        "data": {"object": obj},
        "pending_webhooks": 0,
    }


def test_event_streams_report_each_object_once_from_its_latest_event() -> None:
    active = account("fca_1")
    broken = account("fca_1", status="inactive", status_details=inactive())
    events = [
        event("evt_3", "financial_connections.account.deactivated", ts(-1), broken),
        event("evt_1", "financial_connections.account.created", ts(-10), active),
        event(
            "evt_2", "financial_connections.account.reactivated", ts(-1), active
        ),  # tie: evt_3 wins
        event(
            "evt_4",
            "financial_connections.session.updated",
            ts(-1),
            {"id": "fcsess_1", "object": "financial_connections.session"},
        ),
        event("evt_5", "financial_connections.account.created", ts(-5), account("fca_2")),
    ]
    result = classify_json("--fail-on", "none", objects=[{"object": "list", "data": events}])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    validate_report(doc)
    by_id = {f["id"]: f for f in doc["findings"]}
    assert sorted(by_id) == ["fca_1", "fca_2"]
    assert by_id["fca_1"]["category"] == "relink_required"
    assert by_id["fca_1"]["event_type"] == "financial_connections.account.deactivated"
    assert by_id["fca_1"]["event_created"] == "2026-11-25T12:00:00Z"
    assert doc["summary"]["accounts"] == 2
    assert doc["summary"]["events_skipped"] == 1


def test_plain_objects_carry_no_event_fields() -> None:
    finding = json.loads(classify_json(objects=[account()]).stdout)["findings"][0]
    assert (finding["event_type"], finding["event_created"]) == (None, None)


# -- relink counts, --fail-on signals -----------------------------------------------------


def test_one_relink_repairs_every_scanned_account_of_its_authorization() -> None:
    objects = [
        account(f"fca_{i}", status="inactive", status_details=inactive(), authorization="fcauth_x")
        for i in range(3)
    ] + [account("fca_y", status="inactive", status_details=inactive(), authorization="fcauth_y")]
    findings = json.loads(classify_json(objects=objects).stdout)["findings"]
    advice = {f["id"]: f["recommendation"] for f in findings}
    assert "one relink repairs 3 scanned accounts" in advice["fca_0"]
    assert "one relink repairs 1 scanned account " in advice["fca_y"]


@pytest.mark.parametrize(
    ("fail_on", "code"), [("balance_refresh_failed", 1), ("ownership_refresh_failed", 0)]
)
def test_fail_on_takes_signal_codes(fail_on: str, code: int) -> None:
    obj = account()
    obj["balance_refresh"] = {"status": "failed", "last_attempted_at": ts(-1)}
    result = classify_json("--fail-on", fail_on, objects=[obj])
    assert result.exit_code == code
    doc = json.loads(result.stdout)
    assert doc["fail_on"] == [fail_on]
    assert doc["summary"]["by_signal"]["balance_refresh_failed"] == 1


def test_customer_account_scope(stripe_api: responses.RequestsMock) -> None:
    obj = account("fca_v2", customer=None, status_details=expiring(3))
    obj["account_holder"] = {"type": "customer", "customer": None, "customer_account": "acct_v2"}
    add_pages(
        stripe_api,
        "/v1/financial_connections/accounts",
        [obj],
        query={"account_holder[customer_account]": "acct_v2"},
    )
    result = run("scan", "--customer-account", "acct_v2", "-f", "json", *AS_OF)
    assert result.exit_code == ExitCode.FINDINGS, result.stderr
    doc = json.loads(result.stdout)
    assert doc["scope"] == {"type": "customer_accounts", "ids": ["acct_v2"]}
    assert doc["findings"][0]["account_holder"] == {"type": "customer", "id": "acct_v2"}
    assert "account_holder%5Bcustomer_account%5D=acct_v2" in str(stripe_api.calls[0].request.url)
    assert API in str(stripe_api.calls[0].request.url)
