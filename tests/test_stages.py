"""Stages that finish findings at the end of a run: an event stream reports each object once,
as its latest event shows it; one relink's count covers every scanned account of its
authorization. Grouping is in tests/test_worklist.py, baselines in tests/test_baseline.py,
suppressions in tests/test_suppress.py."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import validate_report
from tests.factories import account, inactive, ts
from tests.test_rules import classify_json


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


def test_one_relink_repairs_every_scanned_account_of_its_authorization() -> None:
    objects = [
        account(f"fca_{i}", status="inactive", status_details=inactive(), authorization="fcauth_x")
        for i in range(3)
    ] + [account("fca_y", status="inactive", status_details=inactive(), authorization="fcauth_y")]
    findings = json.loads(classify_json(objects=objects).stdout)["findings"]
    advice = {f["id"]: f["recommendation"] for f in findings}
    assert "one relink repairs 3 scanned accounts" in advice["fca_0"]
    assert "one relink repairs 1 scanned account " in advice["fca_y"]
