"""Advice that fits the cause, account numbers, refresh failures, institution rules,
Accounts v2 holders and unreadable dates, at the classify level (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fcaudit.classify import classify
from fcaudit.model.findings import Finding
from fcaudit.rules import default_rules
from tests.factories import NOW, account, authorization, expiring, inactive, ts

RULES = default_rules()


def codes(f: Finding) -> list[str]:
    return [str(s.code) for s in f.signals]


# -- 1. advice that fits the cause --------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "category", "says", "never"),
    [
        ("account_closed", "inactive_unrepairable", "cannot be repaired", "reactivated"),
        ("account_unavailable", "inactive_unrepairable", "link a different account", "permit"),
        ("access_denied", "inactive_unrepairable", "permit it again at their bank", "cannot be"),
        (
            "institution_requirement",
            "inactive_unrepairable",
            "No action is recommended now",
            "cannot be",
        ),
        ("unspecified", "inactive_unrepairable", "watch for it to come back", "cannot be"),
        (
            "bank_merger_future",
            "inactive_unrepairable",
            "No action is recommended now",
            "cannot be",
        ),
        (None, "inactive_unrepairable", "No action is recommended now", "cannot be"),
    ],
)
def test_action_none_advice_follows_the_cause(
    cause: str | None, category: str, says: str, never: str
) -> None:
    f = classify(account(status="inactive", status_details=inactive(cause, "none")), now=NOW)
    assert f.category == category
    assert says in f.recommendation
    assert never not in f.recommendation


@pytest.mark.parametrize("cause", ["access_expired", "access_denied", "future_cause", None])
def test_relink_required_names_the_authorization(cause: str | None) -> None:
    obj = account(status="inactive", status_details=inactive(cause), authorization="fcauth_9")
    f = classify(obj, now=NOW)
    assert f.category == "relink_required"
    assert "authorization fcauth_9" in f.recommendation
    assert "relink_options[authorization]=fcauth_9" in f.recommendation


def test_relink_required_without_an_authorization_id_still_says_relink() -> None:
    obj = account(status="inactive", status_details=inactive(), authorization=None)
    assert "Ask the customer to relink the Bank" in classify(obj, now=NOW).recommendation


def test_inactive_unknown_never_sends_a_preview_user_back_to_preview() -> None:
    obj = account(status="inactive", status_details={})
    f = classify(obj, now=NOW, stripe_version="2026-09-30.preview", request_id="req_123")
    assert f.category == "inactive_unknown"
    assert "--stripe-version" not in f.recommendation
    assert "Stripe support" in f.recommendation and "req_123" in f.recommendation


def test_inactive_unknown_on_a_ga_version_asks_for_a_preview_version() -> None:
    f = classify(account(status="inactive"), now=NOW, stripe_version="2026-09-30.endive")
    assert "--stripe-version 2026-09-30.preview" in f.recommendation


# -- 2. account numbers -------------------------------------------------------------------


def number(
    status: str, expiry: float | None = None, kind: str = "tokenized_account_number"
) -> dict[str, Any]:
    return {
        "identifier_type": kind,
        "status": status,
        "expected_expiry_date": ts(expiry) if expiry is not None else None,
        "supported_networks": ["ach"],
    }


def with_numbers(*numbers: dict[str, Any], **kw: Any) -> dict[str, Any]:
    obj = account(**kw)
    obj["account_numbers"] = list(numbers)
    return obj


@pytest.mark.parametrize(
    ("numbers", "category"),
    [
        ([number("deactivated")], "account_number_unusable"),
        ([number("expired"), number("deactivated")], "account_number_unusable"),
        ([number("expired"), number("pending")], "active"),
        ([number("expired"), number("transactable")], "active"),
        ([], "active"),
        (["not an object"], "active"),
    ],
)
def test_account_number_states(numbers: list[Any], category: str) -> None:
    assert classify(with_numbers(*numbers), now=NOW).category == category


def test_unusable_numbers_beat_a_stripe_date_and_an_unknown_status() -> None:
    dated = with_numbers(number("expired"), status_details=expiring(5))
    odd = with_numbers(number("expired"), status="suspended_future")
    assert classify(dated, now=NOW).category == "account_number_unusable"
    assert classify(odd, now=NOW).category == "account_number_unusable"


def test_inactive_and_disconnected_keep_their_category_with_a_signal() -> None:
    inactive_one = with_numbers(number("deactivated"), status="inactive", status_details=inactive())
    f = classify(inactive_one, now=NOW)
    assert f.category == "relink_required"
    assert codes(f) == ["account_number_unusable"]
    gone = classify(with_numbers(number("expired"), status="disconnected"), now=NOW)
    assert gone.category == "disconnected"


@pytest.mark.parametrize(
    ("numbers", "category", "days"),
    [
        ([number("transactable", 10)], "expiring", 10),
        ([number("transactable", 10), number("transactable", 20)], "expiring", 20),
        ([number("transactable", 10), number("transactable", 90)], "active", None),
        ([number("transactable", 10), number("transactable")], "active", None),
        ([number("transactable", -2)], "expiring", -2),  # passed, still transactable
        ([number("transactable", 31)], "active", None),
    ],
)
def test_the_last_transactable_number_dates_the_account(
    numbers: list[dict[str, Any]], category: str, days: int | None
) -> None:
    f = classify(with_numbers(*numbers), now=NOW)
    assert f.category == category
    assert f.days_until_deactivation == days
    if category == "expiring":
        assert f.expected_deactivation_source == "stripe"
        assert f.detail is not None and "account number" in f.detail


def test_the_earlier_of_stripes_date_and_the_number_expiry_wins() -> None:
    f = classify(with_numbers(number("transactable", 10), status_details=expiring(20)), now=NOW)
    assert f.days_until_deactivation == 10
    f = classify(with_numbers(number("transactable", 10), status_details=expiring(4)), now=NOW)
    assert f.days_until_deactivation == 4


def test_number_signals() -> None:
    f = classify(
        with_numbers(number("transactable", 5), number("transactable", 90), number("pending")),
        now=NOW,
    )
    assert f.category == "active"
    assert codes(f) == ["account_number_pending", "account_number_expiring"]
    expiring_signal = f.signals[1]
    assert expiring_signal.date == datetime.fromtimestamp(ts(5), tz=UTC)
    assert expiring_signal.to_record()["date"] == "2026-12-01T12:00:00Z"


# -- 3. refresh failures ------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["balance_refresh", "ownership_refresh", "transaction_refresh", "inferred_balances_refresh"],
)
def test_a_failed_refresh_is_a_signal_not_a_category(field: str) -> None:
    obj = account()
    obj[field] = {
        "status": "failed",
        "last_attempted_at": ts(-1),
        "next_refresh_available_at": None,
    }
    f = classify(obj, now=NOW)
    assert f.category == "active"
    assert codes(f) == [f"{field}_failed"]
    assert f.signals[0].date == datetime.fromtimestamp(ts(-1), tz=UTC)


@pytest.mark.parametrize("status", ["succeeded", "pending", "future_status", None])
def test_other_refresh_states_are_not_signals(status: str | None) -> None:
    obj = account()
    obj["balance_refresh"] = {"status": status, "last_attempted_at": ts(-1)}
    assert classify(obj, now=NOW).signals == ()


# -- 4. holders and dates -----------------------------------------------------------------


def test_accounts_v2_holder_is_read_from_customer_account() -> None:
    obj = account(customer=None)
    obj["account_holder"] = {"type": "customer", "customer": None, "customer_account": "acct_v2"}
    f = classify(obj, now=NOW)
    assert (f.account_holder_type, f.account_holder) == ("customer", "acct_v2")


def test_expanded_holder_ids_are_read() -> None:
    obj = account(customer=None)
    obj["account_holder"] = {
        "type": "customer",
        "customer": {"id": "cus_exp", "object": "customer"},
    }
    assert classify(obj, now=NOW).account_holder == "cus_exp"


# -- 5. institution rules -----------------------------------------------------------------

NOW_RULES = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)  # 12 days before 2026-08-01


def boa(created: str, **kw: Any) -> dict[str, Any]:
    obj = account(**kw)
    obj["created"] = int(datetime.fromisoformat(created + "T12:00:00+00:00").timestamp())
    return obj


@pytest.mark.parametrize(
    ("created", "category", "source", "days", "signal_codes"),
    [
        # Before 2025-07-01: migration on 2026-08-01 (12 days out); 1 year: 2026-06-29, passed.
        (
            "2025-06-29",
            "expiring",
            "rule:boa-api-migration",
            12,
            ["predicted_date_passed", "predicted_deactivation"],
        ),
        (
            "2025-06-30",
            "expiring",
            "rule:boa-api-migration",
            12,
            ["predicted_date_passed", "predicted_deactivation"],
        ),
        # 2025-07-01 .. 2026-04-17: rolling (no date); 1 year: 2026-07-01 passed.
        ("2025-07-01", "active", None, None, ["predicted_date_passed", "predicted_deactivation"]),
        (
            "2025-07-25",
            "expiring",
            "rule:boa-auth-1y",
            5,
            ["predicted_deactivation", "predicted_deactivation"],
        ),
        (
            "2026-04-17",
            "active",
            "rule:boa-auth-1y",
            271,
            ["predicted_deactivation", "predicted_deactivation"],
        ),
        # From 2026-04-18: the migration does not apply, only the 1-year rule.
        ("2026-04-18", "active", "rule:boa-auth-1y", 272, ["predicted_deactivation"]),
    ],
)
def test_bank_of_america_rules_at_their_boundaries(
    created: str, category: str, source: str | None, days: int | None, signal_codes: list[str]
) -> None:
    f = classify(boa(created), now=NOW_RULES, rules=RULES)
    assert (f.category, f.expected_deactivation_source, f.days_until_deactivation) == (
        category,
        source,
        days,
    )
    assert sorted(codes(f)) == sorted(signal_codes)


def test_a_rule_prediction_says_so_in_the_advice() -> None:
    f = classify(boa("2025-07-25"), now=NOW_RULES, rules=RULES)
    assert "Predicted by rule boa-auth-1y" in f.recommendation
    assert "Stripe has not announced a date" in f.recommendation


def test_stripes_date_always_wins_over_a_rule() -> None:
    obj = boa("2025-06-29", status_details=expiring(200))
    f = classify(obj, now=NOW, rules=RULES)
    assert (f.category, f.expected_deactivation_source) == ("active", "stripe")
    assert codes(f) == []


def test_rules_only_for_active_accounts_of_the_bank() -> None:
    inactive_boa = classify(
        boa("2025-06-29", status="inactive", status_details=inactive()), now=NOW_RULES, rules=RULES
    )
    assert codes(inactive_boa) == []
    chase = classify(boa("2025-06-29", institution="Chase"), now=NOW_RULES, rules=RULES)
    assert (chase.category, codes(chase)) == ("active", [])
    assert classify(boa("2025-07-25"), now=NOW_RULES, rules=None).category == "active"


@pytest.mark.parametrize(
    "name", ["BANK OF AMERICA", "Bank of America, N.A.", "bofa", "Bank  of-America"]
)
def test_rule_names_match_normalised(name: str) -> None:
    f = classify(boa("2025-07-25", institution=name), now=NOW_RULES, rules=RULES)
    assert f.expected_deactivation_source == "rule:boa-auth-1y"


def test_authorizations_have_no_signals_from_rules() -> None:
    f = classify(authorization(), now=NOW_RULES, rules=RULES)
    assert (f.category, f.signals) == ("active", ())
