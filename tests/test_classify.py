from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from fcaudit.classify import NotClassifiable, classify
from fcaudit.model.findings import Category
from tests.factories import NOW, account, authorization, expiring, inactive, ts


@pytest.mark.parametrize(
    ("obj", "category"),
    [
        (account(status="inactive", status_details=inactive("access_expired")), "relink_required"),
        (account(status="inactive", status_details=inactive("access_denied")), "relink_required"),
        (
            account(status="inactive", status_details=inactive("account_closed", "none")),
            "inactive_unrepairable",
        ),
        (account(status="inactive", status_details={}), "inactive_unknown"),
        (account(status="inactive", omit_status_details=True), "inactive_unknown"),
        (account(status="inactive", status_details={"inactive": None}), "inactive_unknown"),
        (account(status="inactive", status_details={"inactive": {}}), "inactive_unknown"),
        (
            account(status="inactive", status_details=inactive("x", "future_action")),
            "inactive_unknown",
        ),
        (account(status="disconnected"), "disconnected"),
        (account(status="active", status_details=expiring(5)), "expiring"),
        (account(status="active", status_details=expiring(30)), "expiring"),
        (account(status="active", status_details=expiring(-3)), "expiring"),
        (account(status="active", status_details=expiring(31)), "active"),
        (account(status="active", status_details=expiring(400)), "active"),
        (account(status="active"), "active"),
        (account(status="active", omit_status_details=True), "active"),
        (account(status="active", status_details={"active": None}), "active"),
        (account(status="frozen_future_value"), "unknown"),
        (account(status=None), "unknown"),  # type: ignore[arg-type]
        (
            authorization(
                status="inactive", status_details={"inactive": {"action": "relink_required"}}
            ),
            "relink_required",
        ),
        (
            authorization(status="inactive", status_details={"inactive": {"action": "none"}}),
            "inactive_unrepairable",
        ),
        (authorization(status="disconnected"), "disconnected"),
        (
            authorization(
                status="active",
                status_details={
                    "active": {"action": "relink_required", "expected_deactivation_date": ts(3)}
                },
            ),
            "expiring",
        ),
        (authorization(), "active"),
    ],
)
def test_category(obj: dict[str, Any], category: str) -> None:
    assert classify(obj, now=NOW).category == Category(category)


def test_unknown_cause_passes_through_raw() -> None:
    f = classify(account(status="inactive", status_details=inactive("bank_merger_2027")), now=NOW)
    assert (f.category, f.cause, f.action) == (
        "relink_required",
        "bank_merger_2027",
        "relink_required",
    )


def test_unknown_action_is_reported_raw_and_explained() -> None:
    f = classify(
        account(status="inactive", status_details=inactive("access_expired", "call_bank")), now=NOW
    )
    assert f.action == "call_bank"
    assert f.detail is not None and "call_bank" in f.detail


def test_inactive_unknown_names_the_ga_version() -> None:
    obj = account(status="inactive", status_details={})
    f = classify(obj, now=NOW, stripe_version="2026-10-28.endive")
    assert f.detail is not None and "2026-10-28.endive" in f.detail
    assert "preview" in f.recommendation


def test_authorizations_never_carry_a_cause() -> None:
    obj = authorization(
        status="inactive", status_details={"inactive": {"action": "none", "cause": "x"}}
    )
    assert classify(obj, now=NOW).cause is None


def test_horizon_is_a_parameter() -> None:
    obj = account(status="active", status_details=expiring(40))
    assert classify(obj, now=NOW).category == "active"
    assert classify(obj, now=NOW, horizon_days=45).category == "expiring"
    assert classify(obj, now=NOW + timedelta(days=15)).category == "expiring"


def test_expiring_reports_date_days_cause_action() -> None:
    f = classify(
        account(status="active", status_details=expiring(10, "institution_requirement", "none")),
        now=NOW,
    )
    assert f.days_until_deactivation == 10
    assert f.expected_deactivation_date is not None
    assert f.expected_deactivation_date.timestamp() == ts(10)
    assert (f.cause, f.action) == ("institution_requirement", "none")
    assert "does not help yet" in f.recommendation


def test_overdue_date_has_negative_days() -> None:
    f = classify(account(status="active", status_details=expiring(-2)), now=NOW)
    assert f.days_until_deactivation == -2
    assert "has passed" in f.recommendation


def test_active_with_a_later_date_still_reports_it() -> None:
    f = classify(account(status="active", status_details=expiring(90)), now=NOW)
    assert f.category == "active"
    assert f.days_until_deactivation == 90
    assert f.expected_deactivation_date is not None


@pytest.mark.parametrize(
    "raw",
    [
        "soon",
        "1796083200",
        True,
        float("nan"),
        float("inf"),
        10**20,
        [1],
        {"a": 1},
        "0001-01-01T00:00:00+01:00",  # has no UTC time
    ],
)
def test_an_unreadable_stripe_date_is_never_active(raw: object) -> None:
    obj = account(status="active", status_details={"active": {"expected_deactivation_date": raw}})
    f = classify(obj, now=NOW)
    assert f.category == "unknown"
    assert f.detail is not None and repr(raw) in f.detail


def test_an_iso_date_with_an_offset_is_named_by_its_own_day() -> None:
    # 22:00 at -05:00 on 1 December is 03:00 UTC on the 2nd: days count in UTC, the advice
    # quotes the date as given.
    obj = account(
        status="active",
        status_details={
            "active": {
                "expected_deactivation_date": "2026-12-01T22:00:00-05:00",
                "action": "relink_required",
            }
        },
    )
    f = classify(obj, now=NOW)
    assert (f.category, f.days_until_deactivation) == ("expiring", 6)
    assert "before 2026-12-01 (in 6 days)" in f.recommendation
    assert f.to_record()["expected_deactivation_date"] == "2026-12-02T03:00:00Z"


def test_an_iso_date_string_is_still_read() -> None:
    obj = account(
        status="active",
        status_details={"active": {"expected_deactivation_date": "2026-12-01T12:00:00Z"}},
    )
    f = classify(obj, now=NOW)
    assert (f.category, f.days_until_deactivation) == ("expiring", 5)
    assert f.expected_deactivation_source == "stripe"


def test_finding_fields() -> None:
    obj = account(
        "fca_9", status="inactive", status_details=inactive(), customer="cus_9", last4="4242"
    )
    record = classify(obj, now=NOW).to_record()
    assert record["account_holder"] == {"type": "customer", "id": "cus_9"}
    assert record["authorization"] == "fcauth_1"
    assert record["last4"] == "4242"
    assert record["livemode"] is False
    assert record["accounts"] is None
    assert "4242" in record["recommendation"]


def test_expanded_holder_and_connected_account_holder() -> None:
    obj = account()
    obj["account_holder"] = {"type": "account", "account": {"id": "acct_1", "object": "account"}}
    f = classify(obj, now=NOW)
    assert (f.account_holder_type, f.account_holder) == ("account", "acct_1")


def test_authorization_lists_covered_accounts() -> None:
    f = classify(authorization(), now=NOW, accounts=("fca_1", "fca_2"))
    assert f.to_record()["accounts"] == ["fca_1", "fca_2"]


def test_object_type_falls_back_to_id_prefix() -> None:
    obj = account()
    del obj["object"]
    assert classify(obj, now=NOW).object == "financial_connections.account"


@pytest.mark.parametrize("obj", [{"object": "customer", "id": "cus_1"}, {"id": "x"}, {}])
def test_other_objects_are_refused(obj: dict[str, Any]) -> None:
    with pytest.raises(NotClassifiable):
        classify(obj, now=NOW)


@pytest.mark.parametrize(
    ("days", "horizon", "category"),
    [
        (30.4, 30, "expiring"),  # 30 calendar days out, late in the day: still within 30
        (31.0, 30, "active"),
        (0.3, 0, "expiring"),  # due later today with --expiring-within 0
        (1.0, 0, "active"),
    ],
)
def test_horizon_counts_calendar_days(days: float, horizon: int, category: str) -> None:
    obj = account(status="active", status_details=expiring(days))
    assert classify(obj, now=NOW, horizon_days=horizon).category == category
