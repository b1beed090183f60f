"""The generated data set: determinism, coverage of every scenario, and consistency with truth."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fcaudit.sandbox import Dataset, RunningSandbox, build_dataset
from fcaudit.sandbox.data import (
    ACCOUNT_VARIANTS,
    BOA_LINK_BY_NAME,
    BOA_LINKS,
    CATEGORIES,
    HISTORIES,
    HISTORY_BY_NAME,
    HOSTILE_CUSTOMER_NAME,
    HOSTILE_DISPLAY_NAMES,
    HOSTILE_INSTITUTIONS,
    SCENARIO_BY_NAME,
    SCENARIOS,
    UNKNOWN_ACTION,
    UNKNOWN_CAUSE,
    UNKNOWN_STATUS,
    VARIANT_BY_NAME,
)
from tests.sandbox.sandbox_support import NOW

DAY = 86400
NOW_TS = int(NOW.timestamp())


def test_same_seed_and_clock_give_identical_data() -> None:
    a = build_dataset(7, 50, NOW)
    b = build_dataset(7, 50, NOW)
    assert a.customer_ids == b.customer_ids
    assert dict(a.accounts) == dict(b.accounts)
    assert dict(a.authorizations) == dict(b.authorizations)
    assert a.events == b.events
    assert a.expected_category == b.expected_category


def test_different_seed_gives_different_data() -> None:
    a = build_dataset(7, 50, NOW)
    b = build_dataset(8, 50, NOW)
    assert not set(a.customer_ids) & set(b.customer_ids)
    assert not set(a.accounts) & set(b.accounts)


def test_customers_do_not_depend_on_the_total() -> None:
    small = build_dataset(42, 20, NOW)
    large = build_dataset(42, 40, NOW)
    for cus in small.customer_ids:
        assert small.accounts_for_customer(cus) == large.accounts_for_customer(cus)


def test_dates_move_with_now() -> None:
    later = NOW + timedelta(days=3)
    a, b = build_dataset(1, 30, NOW), build_dataset(1, 30, later)
    assert a.account_ids == b.account_ids
    fca = a.account_ids[0]
    assert b.accounts[fca]["created"] - a.accounts[fca]["created"] == 3 * DAY


def test_every_category_for_accounts_and_authorizations(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    assert set(ds.expected_category.values()) == set(CATEGORIES)
    # Authorizations have no account numbers.
    assert set(ds.expected_authorization_category.values()) == set(CATEGORIES) - {
        "account_number_unusable"
    }
    assert set(ds.expected_category) == set(ds.accounts)
    assert set(ds.expected_authorization_category) == set(ds.authorizations)
    counts = Counter(ds.expected_category.values())
    assert counts["active"] > len(ds.accounts) / 3  # mostly healthy, like a real account


def _details(obj: dict[str, Any], key: str) -> Any:
    sd = obj.get("status_details")
    return sd.get(key) if isinstance(sd, dict) else None


def test_every_documented_cause_and_action_and_unknown_values(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    inactive_causes, inactive_actions, active_causes, active_actions = set(), set(), set(), set()
    shapes = set()
    for account in ds.accounts.values():
        inactive, active = _details(account, "inactive"), _details(account, "active")
        if inactive:
            inactive_causes.add(inactive.get("cause"))
            inactive_actions.add(inactive.get("action"))
        if active:
            active_causes.add(active["cause"])
            active_actions.add(active["action"])
        if account["status"] == "inactive":
            shapes.add(repr(account.get("status_details", "absent")))
    assert {
        "access_denied",
        "access_expired",
        "account_closed",
        "account_unavailable",
        "institution_requirement",
        "unspecified",
        UNKNOWN_CAUSE,
    } <= inactive_causes
    assert {"relink_required", "none", UNKNOWN_ACTION} <= inactive_actions
    assert {"access_expired", "institution_requirement", "unspecified", UNKNOWN_CAUSE} <= (
        active_causes
    )
    assert {"relink_required", "none", UNKNOWN_ACTION} <= active_actions
    assert {"'absent'", "{}", "{'inactive': None}"} <= shapes
    assert any(a["status"] == UNKNOWN_STATUS for a in ds.accounts.values())


def test_authorization_states(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    seen = set()
    for auth in ds.authorizations.values():
        assert "cause" not in str(auth.get("status_details"))  # authorizations have no cause
        sd = auth.get("status_details") or {}
        if auth["status"] == "active":
            seen.add("active+date" if sd.get("active") else "active")
        elif auth["status"] == "inactive" and sd.get("inactive"):
            seen.add("inactive:" + sd["inactive"]["action"])
        else:
            seen.add(auth["status"])
    assert {"active", "active+date", "inactive:relink_required", "inactive:none"} <= seen
    assert "disconnected" in seen


def _stripe_days(account: dict[str, Any]) -> float | None:
    """Days from NOW to Stripe's expected_deactivation_date, if it is a readable one."""
    active = _details(account, "active")
    when = active.get("expected_deactivation_date") if active else None
    if isinstance(when, str) and when[:4].isdigit() and "-" in when:
        when = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
    if isinstance(when, bool) or not isinstance(when, (int, float)) or when != when:
        return None
    return (when - NOW_TS) / DAY if abs(when) < 1e11 else None


def _usable(account: dict[str, Any]) -> bool:
    numbers = account["account_numbers"]
    return not numbers or any(n["status"] in ("transactable", "pending") for n in numbers)


def _numbers_expire_within(account: dict[str, Any], days: int) -> bool:
    transactable = [n for n in account["account_numbers"] if n["status"] == "transactable"]
    if not transactable or any(n["expected_expiry_date"] is None for n in transactable):
        return False
    latest = max(n["expected_expiry_date"] for n in transactable)
    return (_day(latest) - NOW.date()).days <= days


def _day(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def test_truth_matches_the_designed_shapes(sandbox: RunningSandbox) -> None:
    """A consistency check of the generator (truth itself comes from the scenarios)."""
    ds = sandbox.dataset
    for fca, category in ds.expected_category.items():
        account = ds.accounts[fca]
        status = account["status"]
        inactive = _details(account, "inactive")
        days = _stripe_days(account)
        source = ds.expected_source[fca]
        if category == "relink_required":
            assert status == "inactive" and inactive["action"] == "relink_required"
        elif category == "inactive_unrepairable":
            assert status == "inactive" and inactive["action"] == "none"
        elif category == "inactive_unknown":
            assert status == "inactive"
            assert not inactive or inactive.get("action") not in ("none", "relink_required")
        elif category == "disconnected":
            assert status == "disconnected"
        elif category == "account_number_unusable":
            assert status not in ("inactive", "disconnected") and not _usable(account)
        elif category == "expiring":
            assert status == "active" and _usable(account)
            by_stripe = days is not None and (2 <= days <= 25 or -3 <= days <= -1)
            by_rule = source is not None and source.startswith("rule:")
            assert by_stripe or _numbers_expire_within(account, 30) or by_rule, fca
        elif category == "active":
            assert status == "active" and _usable(account)
            assert days is None or days >= 45
            assert not _numbers_expire_within(account, 30)
        else:
            assert status == UNKNOWN_STATUS or (
                _details(account, "active") and days is None and source is None
            )
        if source == "stripe":
            assert days is not None or _numbers_expire_within(account, 30), fca
        elif source is None:  # an unusable account's finding has no date
            assert days is None or category == "account_number_unusable", fca


def test_accounts_and_authorizations_agree(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    members: dict[str, list[str]] = {}
    for fca, account in ds.accounts.items():
        auth = ds.authorizations[account["authorization"]]
        members.setdefault(auth["id"], []).append(fca)
        assert auth["account_holder"] == account["account_holder"]
        assert auth["institution_name"] == account["institution_name"]
        if ds.expected_authorization_category[auth["id"]] == "relink_required":
            assert ds.expected_category[fca] == "relink_required"
    sizes = Counter(len(v) for v in members.values())
    assert set(sizes) == {1, 2, 3, 4}
    assert set(members) == set(ds.authorizations)


def test_holders_sessions_and_the_big_customer(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    per_customer = {c: len(ds.accounts_for_customer(c)) for c in ds.customer_ids}
    assert sorted(per_customer.values())[-1] == 130
    assert sum(1 for n in per_customer.values() if n > 100) == 1
    assert sum(1 for n in per_customer.values() if n == 0) >= 10
    assert 2.5 <= len(ds.accounts) / len(ds.customer_ids) <= 4.0
    assert len(ds.holder_account_ids) >= 2
    assert len(ds.customer_account_ids) >= 2
    assert not set(ds.customer_account_ids) & set(ds.holder_account_ids)
    for acct in ds.customer_account_ids:
        assert all(
            ds.accounts[a]["account_holder"]
            == {"type": "customer", "customer": None, "customer_account": acct}
            for a in ds.accounts_for_customer_account(acct)
        )
    assert ds.accounts_for_customer_account(ds.customer_account_ids[0])
    assert ds.holder_accounts(ds.customer_account_ids[1]) == ()  # a v2 customer without links
    for acct in ds.holder_account_ids:
        held = ds.accounts_for_holder_account(acct)
        assert held
        assert all(
            ds.accounts[a]["account_holder"] == {"type": "account", "account": acct} for a in held
        )
    assert ds.session_ids
    assert all(ds.accounts_for_session(s) for s in ds.session_ids)
    created = [ds.customers[c]["created"] for c in ds.customer_ids]
    assert created == sorted(created, reverse=True)


def _names(ds: Dataset) -> set[str]:
    """Every name a renderer might show: display names, institutions and customer names."""
    accounts = ds.accounts.values()
    return (
        {a["display_name"] for a in accounts}
        | {a["institution_name"] for a in accounts}
        | {c["name"] for c in ds.customers.values()}
    )


# Characters that make text hostile to a terminal, a spreadsheet, Markdown or HTML.
_HOSTILE_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069<>\[\]`|*_=@]")


def test_demo_names_are_believable(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    assert ds.scenario == "demo"
    institutions = {a["institution_name"] for a in ds.accounts.values()}
    assert {"Bank of America", "Chase", "Wells Fargo", "Navy Federal Credit Union"} <= institutions
    assert {"Caixa Geral de Depósitos", "みずほ銀行"} <= institutions
    names = _names(ds)
    assert {"Compte Épargne", "普通預金", "Everyday Checking"} <= names
    hostile = sorted(n for n in names if _HOSTILE_CHARS.search(n) or len(n) > 60)
    assert hostile == []
    assert not any(n.startswith(("+", "-")) for n in names)


def test_adversarial_names_cover_every_hostile_case() -> None:
    ds = build_dataset(42, 60, NOW, scenario="adversarial")
    assert ds.scenario == "adversarial"
    assert ds.truth()["scenario"] == "adversarial"
    names = _names(ds)
    assert set(HOSTILE_DISPLAY_NAMES) <= names
    assert set(HOSTILE_INSTITUTIONS) <= names
    assert HOSTILE_CUSTOMER_NAME in names
    for case in (
        "[bold red]FREE[/]",  # rich markup
        "<script>",  # HTML
        "\x1b[31m",  # ANSI colour
        "\x1b]0;TITLE\x07",  # OSC: set the terminal title
        "\x1b]8;;",  # OSC 8 hyperlink
        "\x9b",  # C1 control sequence introducer
        "\u202e",  # bidi override
        "\n",
        "\r",
        "\t",
        "=HYPERLINK(",  # CSV formula
        "@SUM(",
        "|",  # Markdown table cell
        "`",
        "[link](",
        "*bold*",
        "_under_",
    ):
        assert any(case in n for n in names), repr(case)
    assert {"+1", "-1"} <= names  # formula prefixes on their own
    assert max(len(n) for n in names) >= 500


def test_scenarios_differ_only_in_names() -> None:
    demo = build_dataset(42, 60, NOW)
    hostile = build_dataset(42, 60, NOW, scenario="adversarial")
    assert demo.customer_ids == hostile.customer_ids
    assert demo.account_ids == hostile.account_ids
    assert demo.expected_category == hostile.expected_category
    assert demo.expected_authorization_category == hostile.expected_authorization_category
    assert [e["id"] for e in demo.events] == [e["id"] for e in hostile.events]
    renamed = 0
    for fca in demo.account_ids:
        a, b = demo.accounts[fca], hostile.accounts[fca]
        names = ("display_name", "institution_name", "institution")
        assert {k: v for k, v in a.items() if k not in names} == {
            k: v for k, v in b.items() if k not in names
        }
        renamed += a["display_name"] != b["display_name"]
    assert renamed >= len(HOSTILE_DISPLAY_NAMES)


def test_unknown_name_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="demo, adversarial"):
        build_dataset(42, 1, NOW, scenario="evil")


def test_every_table_row_is_generated(sandbox: RunningSandbox) -> None:
    """Each row of the tables appears in the default data with the truth it states."""
    ds = sandbox.dataset
    designs = {ds.design(a) for a in ds.accounts} | {ds.design(a) for a in ds.authorizations}
    assert {s.name for s in SCENARIOS} <= designs
    assert {v.name for v in ACCOUNT_VARIANTS} <= designs
    assert {b.name for b in BOA_LINKS} <= designs  # every boundary date is before NOW
    assert {h.name for h in HISTORIES} <= designs
    for fca, category in ds.expected_category.items():
        design = ds.design(fca)
        truth = (category, ds.expected_signals[fca], ds.expected_source[fca])
        if design in VARIANT_BY_NAME:
            v = VARIANT_BY_NAME[design]
            assert truth == (v.category, tuple(sorted(set(v.signals))), v.source), design
        elif design in HISTORY_BY_NAME:
            h = HISTORY_BY_NAME[design]
            row = VARIANT_BY_NAME[h.variant] if h.variant else SCENARIO_BY_NAME[h.scenario]
            assert category == row.category, design
        elif design in BOA_LINK_BY_NAME:
            pass  # test_bank_of_america_rules_at_now states these one by one
        elif SCENARIO_BY_NAME[design].rules:
            assert category in ("active", "expiring"), design
        else:
            row = SCENARIO_BY_NAME[design]
            assert truth == (row.category, (), row.source), design
    for fcauth, category in ds.expected_authorization_category.items():
        row = SCENARIO_BY_NAME[ds.design(fcauth)]
        truth = (category, ds.expected_signals[fcauth], ds.expected_source[fcauth])
        assert truth == (row.category, (), row.source)


def test_bank_of_america_expires_a_year_after_linking(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    boa = [
        a
        for a in ds.accounts.values()
        if a["institution_name"] == "Bank of America"
        and ds.design(a["id"]) in ("boa_far", "boa_expiring", "boa_expired", "disconnected")
    ]
    kinds: Counter[str] = Counter()
    for account in boa:
        category = ds.expected_category[account["id"]]
        kinds[category] += 1
        if account["status"] == "active":
            active = account["status_details"]["active"]
            assert active["cause"] == "access_expired"
            assert active["expected_deactivation_date"] - account["created"] in range(
                365 * DAY - 5, 365 * DAY + 5
            )
        elif account["status"] == "inactive":
            assert account["status_details"]["inactive"]["cause"] == "access_expired"
            assert NOW_TS - account["created"] > 365 * DAY
    assert kinds["expiring"] and kinds["active"] and kinds["relink_required"]
    recent = [
        e
        for e in ds.events
        if e["type"] == "financial_connections.account.deactivated"
        and e["data"]["object"]["institution_name"] == "Bank of America"
    ]
    assert recent  # some BoA links expired within the last 30 days


def test_events_match_histories(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    types = Counter(e["type"] for e in ds.events)
    for suffix in (
        "account.deactivated",
        "account.reactivated",
        "account.upcoming_deactivation",
        "account.expected_deactivation_date_updated",
        "authorization.upcoming_deactivation",
    ):
        assert types["financial_connections." + suffix], suffix
    for event in ds.events:
        assert event["id"].startswith("evt_") and event["object"] == "event"
        assert event["livemode"] is False and "pending_webhooks" in event and "request" in event
        obj = event["data"]["object"]
        if event["type"].endswith("account.upcoming_deactivation"):
            assert ds.expected_category[obj["id"]] == "expiring"
        if event["type"].endswith("reactivated"):
            assert obj["status"] == "active"
    created = [e["created"] for e in ds.events]
    assert created == sorted(created, reverse=True)


def test_objects_are_copies(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    fca = ds.account_ids[0]
    ds.accounts[fca]["status"] = "mutated"
    assert ds.accounts[fca]["status"] != "mutated"


@pytest.mark.parametrize("customers", [0, 1, 3])
def test_tiny_data_sets(customers: int) -> None:
    ds = build_dataset(42, customers, NOW)
    assert len(ds.customer_ids) == customers


def test_a_larger_data_set_keeps_its_shape() -> None:
    """What a large set relies on, checked at a size that builds in a blink: connected-account
    holders scale with the customers, ids are unique, and holders' lists add up. (Build speed
    is measured by bench/run.py, not asserted here.)"""
    ds = build_dataset(42, 360, NOW)
    assert len(ds.holder_account_ids) == 360 // 60
    assert len(set(ds.account_ids)) == len(ds.account_ids) == len(ds.accounts)
    assert 2.5 <= len(ds.accounts) / len(ds.customer_ids) <= 4.0
    holders = (*ds.customer_ids, *ds.holder_account_ids, *ds.customer_account_ids)
    held = [a for h in holders for a in ds.holder_accounts(h) or ()]
    assert sorted(held) == sorted(ds.account_ids)
