"""The report's event fields (event_id, pending_webhooks, undelivered): the model additions
of fcaudit events. --fail-on undelivered is in tests/test_policy.py."""

from __future__ import annotations

from datetime import UTC, datetime

from fcaudit.model.findings import Category, EventRef, Finding, from_record
from fcaudit.model.report import ReportMeta, ScanResult
from tests.conftest import validate_finding

WHEN = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def finding(**kw: object) -> Finding:
    base: dict[str, object] = {
        "id": "fca_1",
        "object": "financial_connections.account",
        "category": Category.ACTIVE,
        "status": "active",
        "recommendation": "No action needed now.",
    }
    return Finding(**{**base, **kw})  # type: ignore[arg-type]


def test_event_ref_reads_pending_webhooks() -> None:
    ref = EventRef.of({"id": "evt_1", "type": "t", "created": 1, "pending_webhooks": 2})
    assert (ref.id, ref.pending_webhooks, ref.undelivered) == ("evt_1", 2, None)
    assert EventRef.of({"pending_webhooks": True}).pending_webhooks is None
    assert EventRef.of({"pending_webhooks": "1"}).pending_webhooks is None
    assert EventRef.of({"pending_webhooks": -1}).pending_webhooks is None  # never a count


def test_records_carry_the_event_and_read_back() -> None:
    f = finding(
        event_type="financial_connections.account.deactivated",
        event_created=WHEN,
        event_id="evt_1",
        pending_webhooks=1,
        undelivered=True,
    )
    record = f.to_record()
    validate_finding(record)
    assert (record["event_id"], record["pending_webhooks"], record["undelivered"]) == (
        "evt_1",
        1,
        True,
    )
    back = from_record(record)
    assert (back.event_id, back.pending_webhooks, back.undelivered) == ("evt_1", 1, True)
    plain = finding().to_record()
    assert (plain["event_id"], plain["pending_webhooks"], plain["undelivered"]) == (None,) * 3


def test_the_summary_counts_undelivered_findings() -> None:
    result = ScanResult()
    for undelivered in (True, False, None, True):
        result.count(finding(undelivered=undelivered))
    meta = ReportMeta("events", WHEN, WHEN, 30, ["undelivered"], {"type": "events"}, "0")
    assert meta.envelope(result)["summary"]["undelivered"] == 2
