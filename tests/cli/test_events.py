"""`fcaudit events` with Stripe faked at the HTTP layer under the real SDK: the listing it
asks for, undelivered webhooks, --latest, --verify and every failure mode. The timeline
table is in tests/render/test_timeline.py, the flags' parsing in tests/sources/test_events.py."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from fcaudit.app import AppContext
from fcaudit.stripe.facts import FC_EVENT_TYPES
from tests.conftest import API, SLEPT, run, validate_finding
from tests.conftest import report_of as report
from tests.factories import AS_OF, account, authorization, inactive, page, ts

EVENTS = "/v1/events"
PREVIEW = "2026-09-30.preview"
DEACTIVATED = "financial_connections.account.deactivated"
REACTIVATED = "financial_connections.account.reactivated"
AUTH_UPCOMING = "financial_connections.authorization.upcoming_deactivation"


def evt(
    n: int,
    obj: dict[str, Any],
    *,
    etype: str = DEACTIVATED,
    days: float = -1.0,
    pending: int = 0,
) -> dict[str, Any]:
    return {
        "id": f"evt_{n:03d}",
        "object": "event",
        "api_version": PREVIEW,
        "created": ts(days),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": pending,
        "request": {"id": None, "idempotency_key": None},
        "type": etype,
    }


RELINK = account("fca_1", status="inactive", status_details=inactive())
ACTIVE = account("fca_2")
SESSION = {"id": "fcsess_1", "object": "financial_connections.session"}

HISTORY = [  # newest first, as Stripe lists them
    evt(4, ACTIVE, etype=REACTIVATED, days=-10 / 1440, pending=1),  # 10 minutes old
    evt(3, SESSION, etype="financial_connections.session.updated", days=-1),
    evt(2, authorization(), etype=AUTH_UPCOMING, days=-1.5),
    evt(1, RELINK, days=-2, pending=2),
]


def query(**extra: str) -> dict[str, str]:
    """What fcaudit events sends by default at AS_OF (--since 7d)."""
    params = {f"types[{i}]": t for i, t in enumerate(FC_EVENT_TYPES)}
    return {**params, "created[gte]": str(ts(-7)), "limit": "100", **extra}


def serve(rsps: responses.RequestsMock, events: list[dict[str, Any]], **extra: str) -> None:
    rsps.get(
        API + EVENTS,
        json=page(events, EVENTS),
        match=[matchers.query_param_matcher(query(**extra))],
        headers={"Request-Id": "req_events_0"},
    )


def test_each_event_is_a_finding_with_its_classification(
    stripe_api: responses.RequestsMock,
) -> None:
    serve(stripe_api, HISTORY)
    result = run("events", "-f", "json", *AS_OF)
    assert result.exit_code == 1, result.stderr  # relink_required is in the default --fail-on
    doc = report(result)
    got = {
        f["event_id"]: (
            f["id"],
            f["category"],
            f["event_type"],
            f["pending_webhooks"],
            f["undelivered"],
        )
        for f in doc["findings"]
    }
    assert got == {
        "evt_001": ("fca_1", "relink_required", DEACTIVATED, 2, True),
        "evt_002": ("fcauth_1", "active", AUTH_UPCOMING, 0, False),
        "evt_004": ("fca_2", "active", REACTIVATED, 1, False),  # pending, but within --grace
    }
    assert doc["command"] == "events" and doc["complete"] is True
    assert doc["summary"]["undelivered"] == 1 and doc["summary"]["events_skipped"] == 1
    scope = doc["scope"]
    assert scope["type"] == "events" and scope["types"] == list(FC_EVENT_TYPES)
    assert scope["since"] == "2026-11-19T12:00:00Z" and scope["grace_seconds"] == 3600
    assert [c.request.method for c in stripe_api.calls] == ["GET"]


def test_undelivered_uses_stripes_filter_and_the_grace(stripe_api: responses.RequestsMock) -> None:
    pending = [e for e in HISTORY if e["pending_webhooks"]]
    serve(stripe_api, pending, delivery_success="false")
    args = ("events", "--undelivered", "-f", "ndjson", *AS_OF)
    result = run(*args, "--fail-on", "undelivered")
    assert result.exit_code == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    for line in lines:
        validate_finding(line)
    assert [f["event_id"] for f in lines] == ["evt_001"]
    assert result.stderr == "fcaudit: 1 event about 1 object: 1 relink_required\n"
    # A shorter grace counts the 10-minute-old event too.
    result = run(*args, "--grace", "5m", "--fail-on", "undelivered")
    assert [json.loads(x)["event_id"] for x in result.stdout.splitlines()] == ["evt_004", "evt_001"]
    result = run(*args, "--fail-on", "none")
    assert result.exit_code == 0


def test_events_csv_carries_the_event_and_its_delivery(stripe_api: responses.RequestsMock) -> None:
    serve(stripe_api, HISTORY)
    result = run("events", "-f", "csv", *AS_OF, "--fail-on", "none")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    listed = report(run("events", "-f", "json", *AS_OF, "--fail-on", "none"))["findings"]
    assert rows and len(rows) == len(listed)
    want = [(f["event_id"], str(f["pending_webhooks"]), str(f["undelivered"]).lower())
            for f in listed]  # fmt: skip
    assert sorted((r["event_id"], r["pending_webhooks"], r["undelivered"]) for r in rows) == sorted(
        want
    )
    assert any(r["undelivered"] == "true" for r in rows)


def test_latest_reports_each_object_once(stripe_api: responses.RequestsMock) -> None:
    healed = account("fca_1")  # the same account, reactivated after the deactivation
    serve(stripe_api, [evt(9, healed, etype=REACTIVATED, days=-1), HISTORY[-1]])
    result = run("events", "--latest", "-f", "json", *AS_OF)
    assert result.exit_code == 0, result.stderr
    [finding] = report(result)["findings"]
    assert (finding["event_id"], finding["category"]) == ("evt_009", "active")


def test_verify_retrieves_each_object_once_and_says_if_still_broken(
    stripe_api: responses.RequestsMock,
) -> None:
    twice = [evt(5, RELINK, days=-1, pending=1), *HISTORY]
    serve(stripe_api, twice)
    accounts = API + "/v1/financial_connections/accounts/"
    stripe_api.get(accounts + "fca_1", json=RELINK)
    stripe_api.get(accounts + "fca_2", json=inactive_account("fca_2"))
    stripe_api.get(API + "/v1/financial_connections/authorizations/fcauth_1", json=authorization())
    result = run("events", "--verify", "-f", "json", *AS_OF)
    doc = report(result)
    now = {f["id"]: f["category"] for f in doc["findings"] if f["event_type"] is None}
    assert now == {"fca_1": "relink_required", "fca_2": "relink_required", "fcauth_1": "active"}
    assert all(f["undelivered"] is None for f in doc["findings"] if f["event_type"] is None)
    # fca_1 shows up three times (two events, now): one relink still repairs 2 accounts.
    advice = {f["recommendation"] for f in doc["findings"] if f["category"] == "relink_required"}
    assert all("one relink repairs 2 scanned accounts" in a for a in advice), advice
    paths = sorted(
        c.request.path_url for c in stripe_api.calls if "events" not in str(c.request.url)
    )
    assert paths == [
        "/v1/financial_connections/accounts/fca_1",
        "/v1/financial_connections/accounts/fca_2",
        "/v1/financial_connections/authorizations/fcauth_1",
    ]
    table = run("events", "--verify", "-f", "table", *AS_OF).stdout
    assert "Now (--verify)" in table
    assert "fca_1" in table and "still broken" in table and "broken since the event" in table


def inactive_account(oid: str) -> dict[str, Any]:
    return account(oid, status="inactive", status_details=inactive())


def test_verify_with_a_ga_version_before_authorizations_retrieves_accounts_only(
    stripe_api: responses.RequestsMock,
) -> None:
    serve(stripe_api, HISTORY)
    stripe_api.get(API + "/v1/financial_connections/accounts/fca_1", json=RELINK)
    stripe_api.get(API + "/v1/financial_connections/accounts/fca_2", json=ACTIVE)
    result = run(
        "events", "--verify", "-f", "json", "--stripe-version", "2026-06-24.dahlia", *AS_OF
    )
    assert "--verify retrieves accounts only" in result.stderr
    assert not any("authorizations" in str(c.request.url) for c in stripe_api.calls)
    assert report(result)["complete"] is True


def test_verify_with_a_ga_version_that_documents_authorizations_retrieves_them(
    stripe_api: responses.RequestsMock,
) -> None:
    serve(stripe_api, HISTORY)
    stripe_api.get(API + "/v1/financial_connections/accounts/fca_1", json=RELINK)
    stripe_api.get(API + "/v1/financial_connections/accounts/fca_2", json=ACTIVE)
    stripe_api.get(API + "/v1/financial_connections/authorizations/fcauth_1", json=authorization())
    result = run(
        "events", "--verify", "-f", "json", "--stripe-version", "2026-10-28.endive", *AS_OF
    )
    assert "--verify retrieves accounts only" not in result.stderr
    assert any("authorizations/fcauth_1" in str(c.request.url) for c in stripe_api.calls)
    assert report(result)["complete"] is True


def test_bad_elements_and_a_failed_page_are_errors_and_exit_5(
    stripe_api: responses.RequestsMock,
) -> None:
    first: list[Any] = [HISTORY[-1], "junk", {"id": "evt_x", "object": "event"}]
    stripe_api.get(
        API + EVENTS,
        json=page(first, EVENTS, has_more=True),
        match=[matchers.query_param_matcher(query())],
    )
    stripe_api.get(
        API + EVENTS,
        status=500,
        json={"error": {"type": "api_error", "message": "boom"}},
        match=[matchers.query_param_matcher(query(starting_after="evt_x"))],
        headers={"Request-Id": "req_500"},
    )
    result = run("events", "-f", "json", "--max-retries", "1", *AS_OF)
    assert result.exit_code == 5, result.stderr
    doc = report(result)
    assert doc["complete"] is False and [f["event_id"] for f in doc["findings"]] == ["evt_001"]
    messages = [e["message"] for e in doc["errors"]]
    assert any("page 1, item 2 is not an event" in m for m in messages)
    assert any("evt_x without data.object" in m for m in messages)
    failed = [e for e in doc["errors"] if e["http_status"] == 500]
    assert failed[0]["scope"] == {"type": "events", "id": None} and failed[0]["attempts"] == 2
    assert SLEPT  # the retry waited (recorded, not slept)


def test_an_event_listed_twice_is_reported_once(stripe_api: responses.RequestsMock) -> None:
    serve(stripe_api, [HISTORY[-1], HISTORY[-1]])
    assert len(report(run("events", "-f", "json", *AS_OF))["findings"]) == 1


def test_a_rejected_key_exits_3(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + EVENTS, status=401, json={"error": {"message": "Invalid API Key"}})
    assert run("events", *AS_OF).exit_code == 3


def test_ndjson_streams_and_ctrl_c_keeps_what_was_listed(
    stripe_api: responses.RequestsMock,
) -> None:
    out = io.StringIO()
    seen: list[str] = []

    def second_page(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        seen.append(out.getvalue())  # what was written before the next page was asked for
        raise KeyboardInterrupt

    stripe_api.get(
        API + EVENTS,
        json=page([HISTORY[0]], EVENTS, has_more=True),  # not relink_required: never held
        match=[matchers.query_param_matcher(query())],
    )
    stripe_api.add_callback(responses.GET, API + EVENTS, callback=second_page)
    app = AppContext(stdout=out, sleep=SLEPT.append)
    result = run("events", "-f", "ndjson", *AS_OF, app=app)
    assert result.exit_code == 130
    assert json.loads(seen[0])["event_id"] == "evt_004"  # streamed before page 2
    assert out.getvalue() == seen[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "31d"), "Stripe keeps events for 30 days"),
        (("--since", "2026-10-01"), "Stripe keeps events for 30 days"),
        (("--since", "2027-01-01"), "after now"),
        (("--since", "last week"), "neither a duration nor a date"),
        (("--grace", "soon"), "not a duration"),
        (("--since", "999999999d"), "more than ten years"),
        (("--type", "customer.created"), "not a Financial Connections event type"),
        (("--type", "financial_connections.nothing.*"), "matches no"),
        (("--fail-on", "undeliverd"), "undelivered"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    result = run("events", *args, *AS_OF)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_the_summary_line_counts_events_and_the_objects_they_are_about(
    stripe_api: responses.RequestsMock,
) -> None:
    serve(stripe_api, HISTORY)
    result = run("events", "-f", "json", *AS_OF)
    doc = report(result)
    events = len(doc["findings"])
    objects = len({f["id"] for f in doc["findings"]})
    assert events >= 3 and objects <= events
    assert f"fcaudit: {events} events about {objects} objects: " in result.stderr
