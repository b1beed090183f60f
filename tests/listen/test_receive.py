"""A delivery from bytes to an answer: only a verified, durably recorded event gets a 2xx, a
replay changes nothing, a category change is announced once, and nothing raises."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import stripe

from fcaudit.listen.receive import Batcher, Receiver
from fcaudit.sources.journal import Journal
from tests.factories import account, authorization, expiring, inactive

SECRET = "whsec_test"


def event(
    obj: dict[str, Any], eid: str = "evt_1", created: int | None = None, **extra: Any
) -> bytes:
    return json.dumps(
        {
            "id": eid,
            "object": "event",
            "type": extra.pop("type", "financial_connections.account.deactivated"),
            "created": created if created is not None else int(time.time()),
            "api_version": "2026-09-30.preview",
            "data": {"object": obj},
            **extra,
        }
    ).encode()


def signed(body: bytes, secret: str = SECRET, at: float | None = None) -> str:
    stamp = int(at if at is not None else time.time())
    return str(stripe.WebhookSignature.generate_signature_header(body.decode(), secret, stamp))


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    batcher = Batcher(Journal(str(tmp_path / "fc.db"), timeout_ms=200), lambda: datetime.now(UTC))
    yield Receiver([SECRET], batcher)
    batcher.close()


def journal_rows(tmp_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "fc.db.journal") as db:
        return db.execute(
            "SELECT event_id, object_id, category_before, category_after FROM events ORDER BY seq"
        ).fetchall()


def deliver(receiver: Receiver, body: bytes, header: str | None = None) -> Any:
    return receiver.receive(body, signed(body) if header is None else header)


def test_a_break_is_recorded_and_announced_with_its_finding(
    receiver: Receiver, tmp_path: Path
) -> None:
    body = event(account(status="inactive", status_details=inactive()))
    answer = deliver(receiver, body)
    assert (answer.status, answer.recorded) == (200, True)
    assert answer.change is not None
    record = answer.change.to_record()
    assert record["id"] == "fca_1" and record["category"] == "relink_required"
    assert record["event_id"] == "evt_1" and record["change"] == "new"
    assert journal_rows(tmp_path) == [("evt_1", "fca_1", None, "relink_required")]


def test_a_replayed_event_changes_nothing(receiver: Receiver, tmp_path: Path) -> None:
    body = event(account(status="inactive", status_details=inactive()))
    assert deliver(receiver, body).change is not None
    again = deliver(receiver, body)  # Stripe's retry: the same id, signed anew
    assert (again.status, again.change) == (200, None)
    assert "recorded before" in again.message
    assert len(journal_rows(tmp_path)) == 1


def test_only_a_change_of_category_is_announced(receiver: Receiver, tmp_path: Path) -> None:
    broken = account(status="inactive", status_details=inactive())
    assert deliver(receiver, event(broken, "evt_1")).change is not None
    assert deliver(receiver, event(broken, "evt_2")).change is None  # still broken
    fixed = deliver(receiver, event(account(), "evt_3", type="x.reactivated"))
    assert fixed.change is not None and fixed.change.to_record()["change"] == "better"
    assert [r[2:] for r in journal_rows(tmp_path)] == [
        (None, "relink_required"),
        ("relink_required", "relink_required"),
        ("relink_required", "active"),
    ]


def test_an_older_event_arriving_late_does_not_undo_a_newer_one(
    receiver: Receiver, tmp_path: Path
) -> None:
    now = int(time.time())
    assert deliver(
        receiver, event(account(status="inactive", status_details=inactive()), "evt_2", now)
    ).change
    late = deliver(receiver, event(account(), "evt_1", now - 60))
    assert (late.status, late.change) == (200, None)
    assert journal_rows(tmp_path)[-1] == ("evt_1", "fca_1", "relink_required", "relink_required")


def test_an_object_first_seen_healthy_is_recorded_but_not_announced(
    receiver: Receiver, tmp_path: Path
) -> None:
    answer = deliver(receiver, event(account(), type="financial_connections.account.created"))
    assert (answer.status, answer.change) == (200, None)
    assert journal_rows(tmp_path) == [("evt_1", "fca_1", None, "active")]


def test_an_authorization_event_is_classified_too(receiver: Receiver) -> None:
    auth = authorization(status_details={"active": expiring(5)["active"] | {}})
    auth["status_details"]["active"].pop("cause")
    answer = deliver(
        receiver, event(auth, type="financial_connections.authorization.upcoming_deactivation")
    )
    assert (
        answer.change is not None and answer.change.object == "financial_connections.authorization"
    )


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no Stripe-Signature"),
        ("wrong", "no timestamp"),
    ],
)
def test_a_delivery_without_a_good_signature_is_refused(
    receiver: Receiver, tmp_path: Path, header: str | None, reason: str
) -> None:
    answer = receiver.receive(event(account()), header)
    assert answer.status == 400 and reason in answer.message
    assert not (tmp_path / "fc.db.journal").exists() or journal_rows(tmp_path) == []


def test_a_delivery_signed_with_a_wrong_secret_or_stale_is_refused(
    receiver: Receiver, tmp_path: Path
) -> None:
    body = event(account())
    assert deliver(receiver, body, signed(body, "whsec_wrong")).status == 400
    assert deliver(receiver, body, signed(body, at=time.time() - 600)).status == 400
    assert deliver(receiver, body, signed(body, at=time.time() + 600)).status == 400
    assert journal_rows(tmp_path) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"id": "nope", "type": "x"}', "not a Stripe event"),
        (b'{"id": "evt_1", "type": "t", "object": "event"}', "without data.object"),
        (b'{"id": "evt_1", "type": "t", "object": "something"}', "neither an event"),
        (
            b'{"id": "evt_1", "type": "t", "object": "event", "data": {"object": {"object": '
            b'"financial_connections.account", "id": "../x"}}}',
            "no valid id",
        ),
        (
            b'{"id": "evt_1", "type": "t", "object": "event", "data": {"object": {"object": '
            b'"financial_connections.account", "id": "fcauth_1"}}}',
            "no valid id",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    ],
)
def test_a_malformed_body_is_refused_and_nothing_is_recorded(
    receiver: Receiver, tmp_path: Path, body: bytes, reason: str
) -> None:
    answer = deliver(receiver, body)
    assert answer.status == 400 and reason in answer.message, answer.message
    assert journal_rows(tmp_path) == []


def test_an_event_not_about_an_fc_object_is_acknowledged_and_not_recorded(
    receiver: Receiver, tmp_path: Path
) -> None:
    body = event({"id": "cus_1", "object": "customer"}, type="customer.created")
    answer = deliver(receiver, body)
    assert (answer.status, answer.recorded) == (200, False)
    assert receiver.ignored_types == {"customer.created"}
    assert journal_rows(tmp_path) == []


def test_an_unknown_event_type_about_an_fc_account_is_still_classified(receiver: Receiver) -> None:
    body = event(account(status="disconnected"), type="financial_connections.account.new_kind")
    answer = deliver(receiver, body)
    assert answer.status == 200 and answer.change is not None
    assert answer.change.to_record()["category"] == "disconnected"


def test_a_thin_event_is_resolved_by_fetching_its_object(tmp_path: Path) -> None:
    fetched: list[tuple[str, str, str | None]] = []

    def resolve(kind: str, oid: str, acct: str | None) -> dict[str, Any]:
        fetched.append((kind, oid, acct))
        return account(oid, status="inactive", status_details=inactive())

    batcher = Batcher(Journal(str(tmp_path / "fc.db")), lambda: datetime.now(UTC))
    try:
        receiver = Receiver([SECRET], batcher, resolve)
        thin = {
            "id": "evt_thin1",
            "object": "v2.core.event",
            "type": "v1.financial_connections.account.refreshed_balance_failed",
            "created": "2026-12-07T10:00:00.000Z",
            "context": "acct_123",
            "related_object": {
                "id": "fca_9",
                "type": "financial_connections.account",
                "url": "/v1/financial_connections/accounts/fca_9",
            },
        }
        answer = deliver(receiver, json.dumps(thin).encode())
    finally:
        batcher.close()
    assert fetched == [("financial_connections.account", "fca_9", "acct_123")]
    assert answer.status == 200 and answer.change is not None
    assert answer.change.event_created == datetime(2026, 12, 7, 10, tzinfo=UTC)


def test_a_thin_event_whose_object_cannot_be_fetched_is_not_acknowledged(tmp_path: Path) -> None:
    def resolve(kind: str, oid: str, acct: str | None) -> dict[str, Any]:
        raise LookupError("GET fca_9 failed: api_error")

    batcher = Batcher(Journal(str(tmp_path / "fc.db")), lambda: datetime.now(UTC))
    try:
        thin = {
            "id": "evt_thin1",
            "object": "v2.core.event",
            "type": "v1.financial_connections.account.refreshed_balance_failed",
            "related_object": {"id": "fca_9", "type": "financial_connections.account"},
        }
        answer = deliver(Receiver([SECRET], batcher, resolve), json.dumps(thin).encode())
        no_key = deliver(Receiver([SECRET], batcher, None), json.dumps(thin).encode())
    finally:
        batcher.close()
    assert answer.status == 503 and "Stripe will retry" in answer.message
    assert no_key.status == 503 and "STRIPE_API_KEY" in no_key.message
    assert journal_rows(tmp_path) == []


def test_a_store_fault_while_receiving_is_a_503_and_records_nothing(
    receiver: Receiver, tmp_path: Path
) -> None:
    body = event(account(status="inactive", status_details=inactive()))
    deliver(receiver, event(account(), "evt_0"))  # the journal exists
    blocker = sqlite3.connect(tmp_path / "fc.db.journal", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another program holds the journal
    try:
        answer = deliver(receiver, body)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert answer.status == 503 and "not recorded" in answer.message
    assert [r[0] for r in journal_rows(tmp_path)] == ["evt_0"]
    retried = deliver(receiver, body)  # Stripe's retry, once the fault is gone
    assert retried.status == 200 and retried.change is not None


def test_before_is_what_the_last_scan_stored_when_listen_never_saw_the_object(
    receiver: Receiver, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "fc.db") as db:
        db.execute("CREATE TABLE objects (id TEXT PRIMARY KEY, body TEXT)")
        broken = account(status="inactive", status_details=inactive())
        db.execute("INSERT INTO objects VALUES ('fca_1', ?)", (json.dumps(broken),))
    answer = deliver(receiver, event(account(), type="financial_connections.account.reactivated"))
    assert answer.change is not None and answer.change.to_record()["change"] == "better"
    assert journal_rows(tmp_path) == [("evt_1", "fca_1", "relink_required", "active")]
