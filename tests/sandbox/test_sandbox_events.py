"""The sandbox's event history like Stripe's (delivery_success, types[], 30 days) and its
control endpoint, which changes the data between two runs and keeps the truth right."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from typing import Any, cast

import pytest
import stripe

from fcaudit.classify import classify
from fcaudit.model.findings import Category, Finding
from fcaudit.sandbox import RunningSandbox, running_sandbox
from fcaudit.sandbox.api import Api, ApiError, Request
from fcaudit.sandbox.control import CONTROL_PATH, handle
from fcaudit.sandbox.data import (
    DAY,
    OPERATIONS,
    URGENCY,
    build_dataset,
    candidates,
    delivery_truth,
    expected_change,
)
from fcaudit.stages import compare
from fcaudit.stripe.facts import FC_EVENT_TYPES
from tests.sandbox.sandbox_support import NOW, MakeClient, RawGet

NOW_TS = int(NOW.timestamp())
ALL_CHANGES = {
    "deactivate": 2,
    "disconnect": 1,
    "reactivate": 2,
    "move_expected_dates": 1,
    "link_new": 1,
}


@pytest.fixture
def small() -> Iterator[RunningSandbox]:
    """A sandbox of its own: these tests change its data."""
    with running_sandbox(customers=8, now=NOW) as running:
        yield running


def post(raw: RawGet, sandbox: RunningSandbox, body: Any) -> tuple[int, Any]:
    status, _, answer = raw(
        sandbox.base_url,
        CONTROL_PATH,
        method="POST",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    return status, answer


def events_of(client: stripe.StripeClient, **params: Any) -> list[Any]:
    return list(client.v1.events.list(cast(Any, {"limit": 100, **params})).auto_paging_iter())


def test_delivery_success_filters_like_stripe(
    small: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(small.base_url)
    events = small.dataset.events
    pending = [e["id"] for e in events if e["pending_webhooks"] > 0]
    delivered = [e["id"] for e in events if e["pending_webhooks"] == 0]
    assert pending and delivered
    assert [e.id for e in events_of(client, delivery_success=False)] == pending
    assert [e.id for e in events_of(client, delivery_success=True)] == delivered
    # Combined with types[] and created[...], as fcaudit events asks.
    since = NOW_TS - 7 * DAY
    got = events_of(
        client, delivery_success=False, types=list(FC_EVENT_TYPES), created={"gte": since}
    )
    assert [e.id for e in got] == [
        e["id"]
        for e in events
        if e["pending_webhooks"] > 0 and e["type"] in FC_EVENT_TYPES and e["created"] >= since
    ]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.list(cast(Any, {"delivery_success": "maybe"}))
    assert info.value.param == "delivery_success"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.list({"types": [f"t{i}" for i in range(21)]})
    assert info.value.param == "types"


def test_only_the_last_30_days_are_kept() -> None:
    ds = build_dataset(42, 4, NOW)
    old = {**ds.events[-1], "id": "evt_old", "created": NOW_TS - 30 * DAY}
    ds.events.append(old)
    api = Api(ds)

    def get(path: str, **params: str) -> dict[str, Any]:
        if path != "/v1/events":
            return api.event(Request("GET", path, {}, {}, True, {"id": path.rsplit("/", 1)[1]}))
        return api.list_events(Request("GET", path, {"limit": "100", **params}, {}, True, {}))

    listed = get("/v1/events")["data"]
    assert "evt_old" not in {e["id"] for e in listed} and len(listed) == min(
        100, len(ds.events) - 1
    )
    assert get("/v1/events", **{"created[gte]": "0"})["data"][-1]["id"] != "evt_old"
    with pytest.raises(ApiError) as info:
        get("/v1/events/evt_old")
    assert info.value.status == 404
    assert "evt_old" not in delivery_truth(ds)["pending_webhooks"]


def test_the_truth_names_the_undelivered_events(small: RunningSandbox) -> None:
    ds = small.dataset
    truth = ds.truth()["events"]
    fc = [
        e for e in ds.events if e["data"]["object"]["object"].startswith("financial_connections.a")
    ]
    assert truth["pending_webhooks"] == {
        e["id"]: e["pending_webhooks"] for e in fc if e["pending_webhooks"] > 0
    }
    assert truth["undelivered"] == sorted(
        e["id"] for e in fc if e["pending_webhooks"] > 0 and e["created"] <= NOW_TS - 3600
    )
    assert truth["undelivered"], "the default data has undelivered events"


def test_control_changes_accounts_and_the_truth_by_design(
    small: RunningSandbox, raw: RawGet, make_client: MakeClient
) -> None:
    ds = small.dataset
    before = dict(ds.expected_category)
    newest = ds.events[0]["created"]
    status, answer = post(
        raw, small, {**ALL_CHANGES, "seed": 3, "ago": 7200, "pending_webhooks": 1}
    )
    assert status == 200, answer
    changed = {c["id"]: c for c in answer["changed"]}
    assert [c["operation"] for c in answer["changed"]] == [
        "deactivate", "deactivate", "disconnect", "reactivate", "reactivate",
        "move_expected_dates", "link_new",
    ]  # fmt: skip
    expect = {
        "deactivate": ("active", "relink_required", "new", False),
        "disconnect": ("active", "disconnected", "new", False),
        "reactivate": (None, "active", "better", True),
        "move_expected_dates": ("expiring", "expiring", "worse", False),
        "link_new": (None, "active", "new", False),
    }
    for oid, c in changed.items():
        was, now, change, resolved = expect[c["operation"]]
        assert c["before"] == before.get(oid) and (was is None or c["before"] == was)
        assert (c["after"], c["change"], c["resolved"]) == (now, change, resolved)
    assert answer["resolved"] == [i for i, c in changed.items() if c["resolved"]]
    # The truth and the API agree with the answer; fcaudit's classifier agrees with the truth.
    status, _, truth = raw(small.base_url, "/__sandbox/truth")
    client = make_client(small.base_url)
    for oid, c in changed.items():
        assert truth["accounts"][oid] == truth["events"]["latest"][oid] == c["after"]
        assert truth["signals"][oid] == []
        obj = client.v1.financial_connections.accounts.retrieve(oid).to_dict()
        finding = classify(obj, now=NOW)
        assert (str(finding.category), finding.signals) == (c["after"], ())
        assert finding.expected_deactivation_source == truth["expected_deactivation_source"][oid]
    new_id = answer["changed"][-1]["id"]
    holder = answer["changed"][-1]["holder"]
    listed = client.v1.financial_connections.accounts.list(
        {"account_holder": {"customer": holder}, "limit": 100}
    )
    assert listed.data[0].id == new_id  # the newest link is listed first
    # One event per change, after the history, one second apart, in GET /v1/events.
    created = [e["created"] for e in answer["events"]]
    assert created == list(range(max(newest + 1, NOW_TS - 7200), created[0] + len(created)))
    assert [e["object_id"] for e in answer["events"]] == list(changed)
    assert all(e["pending_webhooks"] == 1 for e in answer["events"])
    listed_events = events_of(client, types=list(FC_EVENT_TYPES), created={"gte": created[0]})
    assert [e.id for e in listed_events] == [e["id"] for e in reversed(answer["events"])]
    assert set(truth["events"]["undelivered"]) >= {e["id"] for e in answer["events"]}
    assert truth["events"]["count"] == len(ds.events)


def test_control_is_deterministic_and_refusals_change_nothing(raw: RawGet) -> None:
    answers = []
    for _ in range(2):
        with running_sandbox(customers=8, now=NOW) as sb:
            answers.append(post(raw, sb, {"deactivate": 3, "link_new": 2, "seed": 9}))
    assert answers[0] == answers[1] and answers[0][0] == 200

    with running_sandbox(customers=8, now=NOW) as sb:
        truth = sb.dataset.truth()
        too_many = len(candidates(sb.dataset, OPERATIONS[0])) + 1
        for body in (
            {"deactivate": too_many},
            {"deactivate": 1, "explode": 1},
            {"deactivate": -1},
            {"deactivate": True},
            {"reset_stats": "yes"},
            [1, 2],
        ):
            status, answer = post(raw, sb, body)
            assert status == 400, body
            assert answer["error"]["type"] == "invalid_request_error"
        status, _, _ = raw(sb.base_url, CONTROL_PATH)
        assert status == 405
        status, _, body = raw(sb.base_url, CONTROL_PATH, method="POST", body="{not json")
        assert status == 400 and "JSON" in body["error"]["message"]
        assert sb.dataset.truth() == truth
        with pytest.raises(ApiError) as info:
            handle(sb.server, "POST", "10.0.0.7", Message(), io.BytesIO(b"{}"))
        assert info.value.status == 403


def test_control_resets_request_counters(small: RunningSandbox, raw: RawGet) -> None:
    raw(small.base_url, "/v1/customers", headers={"Authorization": "Bearer sk_test_x"})
    assert small.stats.requests == 1
    status, answer = post(raw, small, {"reset_stats": True})
    assert status == 200 and answer == {"changed": [], "resolved": [], "events": []}
    assert small.stats.requests == 0  # control and helper requests are never counted


@pytest.mark.parametrize("before", [None, *URGENCY])
def test_expected_change_agrees_with_fcaudits_baseline_comparison(before: str | None) -> None:
    """The sandbox's own reading of `change` (README) and fcaudit's, on every pair of
    categories and on deadlines that move within a day, a day earlier or later, or vanish."""
    noon = NOW_TS + DAY // 2

    def finding(category: str, deadline: int | None) -> Finding:
        edd = datetime.fromtimestamp(deadline, UTC) if deadline is not None else None
        return Finding("fca_1", "financial_connections.account", Category(category), None, "-",
                       expected_deactivation_date=edd)  # fmt: skip

    deadlines = [None, noon, noon + 3600, noon + DAY, noon - DAY]
    for after in URGENCY:
        for old_d in deadlines:
            for new_d in deadlines:
                old = finding(before, old_d) if before is not None else None
                want = str(compare(old, finding(after, new_d)))
                assert expected_change(before, after, old_d, new_d) == want, (before, after)
