"""The data set's truth for Bank of America's rule boundaries, account numbers, refreshes and
event histories, checked against expectations worked out by hand (never by calling fcaudit's
classifier)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from fcaudit.sandbox import RunningSandbox, build_dataset
from fcaudit.sandbox.data import (
    ACCOUNT_VARIANTS,
    BOA_LINKS,
    HISTORIES,
    SIGNALS,
    Dataset,
    normalise_institution,
)
from tests.sandbox.sandbox_support import NOW, RawGet

DAY = 86400
PREDICTED, PASSED = "predicted_deactivation", "predicted_date_passed"
ONE_YEAR, MIGRATION = "rule:boa-auth-1y", "rule:boa-api-migration"

# (category, signal codes, source) of each Bank of America row at NOW = 2026-11-20T12:00Z.
# Worked out by hand: +365 days of each link date, and the migration rule's window.
AT_NOW: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    # Linked before 2025-07-01: 1y (2026-06-30) and 2026-08-01 have both passed.
    "boa_linked_2025-06-30": ("active", (PASSED,), None),
    "boa_linked_2025-06-30_last_second": ("active", (PASSED,), None),
    # From 2025-07-01 on: rolling (no date); the year (2026-07-01/02) has passed.
    "boa_linked_2025-07-01_first_second": ("active", (PASSED, PREDICTED), None),
    "boa_linked_2025-07-01": ("active", (PASSED, PREDICTED), None),
    "boa_linked_2025-07-02": ("active", (PASSED, PREDICTED), None),
    # Through 2026-04-17: rolling, and the year ends 2027-04-16/17 (~148 days): active.
    "boa_linked_2026-04-16": ("active", (PREDICTED,), ONE_YEAR),
    "boa_linked_2026-04-17": ("active", (PREDICTED,), ONE_YEAR),
    "boa_linked_2026-04-17_last_second": ("active", (PREDICTED,), ONE_YEAR),
    # From 2026-04-18: the migration does not apply; the year ends 2027-04-18.
    "boa_linked_2026-04-18_first_second": ("active", (PREDICTED,), ONE_YEAR),
    "boa_linked_2026-04-18": ("active", (PREDICTED,), ONE_YEAR),
    # Linked 2025-11-19 .. 2026-02-28: rolling, plus the year around the horizon.
    "boa_year_passed_yesterday": ("active", (PASSED, PREDICTED), None),
    "boa_year_ends_today": ("expiring", (PREDICTED,), ONE_YEAR),
    "boa_year_ends_in_30_days": ("expiring", (PREDICTED,), ONE_YEAR),
    "boa_year_ends_in_31_days": ("active", (PREDICTED,), ONE_YEAR),
    "boa_na_no_details": ("expiring", (PREDICTED,), ONE_YEAR),
    "boa_upper_null_active": ("expiring", (PREDICTED,), ONE_YEAR),
    "boa_bofa_null_date": ("active", (PREDICTED,), ONE_YEAR),
    "boa_near_miss": ("active", (), None),
    "boa_unreadable_date": ("unknown", (), None),
}

# The same rows at 2026-07-15T12:00Z, when 2026-08-01 is still ahead (17 days).
MID_2026 = datetime(2026, 7, 15, 12, tzinfo=UTC)
AT_MID_2026: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    # The year ended 2026-06-30; the migration date is the one still to come.
    "boa_linked_2025-06-30": ("expiring", (PASSED, PREDICTED), MIGRATION),
    "boa_linked_2025-06-30_last_second": ("expiring", (PASSED, PREDICTED), MIGRATION),
    "boa_linked_2025-07-01_first_second": ("active", (PASSED, PREDICTED), None),
    "boa_linked_2025-07-01": ("active", (PASSED, PREDICTED), None),
    "boa_linked_2025-07-02": ("active", (PASSED, PREDICTED), None),
    "boa_linked_2026-04-16": ("active", (PREDICTED,), ONE_YEAR),
    "boa_linked_2026-04-17": ("active", (PREDICTED,), ONE_YEAR),
    "boa_linked_2026-04-17_last_second": ("active", (PREDICTED,), ONE_YEAR),
    "boa_linked_2026-04-18_first_second": ("active", (PREDICTED,), ONE_YEAR),
    "boa_linked_2026-04-18": ("active", (PREDICTED,), ONE_YEAR),
    # Linked 2025-07-14 .. 2025-10-23: all in the rolling window.
    "boa_year_passed_yesterday": ("active", (PASSED, PREDICTED), None),
    "boa_year_ends_today": ("expiring", (PREDICTED,), ONE_YEAR),
    "boa_year_ends_in_30_days": ("expiring", (PREDICTED,), ONE_YEAR),
    "boa_year_ends_in_31_days": ("active", (PREDICTED,), ONE_YEAR),
    "boa_na_no_details": ("expiring", (PREDICTED,), ONE_YEAR),
    "boa_upper_null_active": ("expiring", (PREDICTED,), ONE_YEAR),
    "boa_bofa_null_date": ("active", (PREDICTED,), ONE_YEAR),
    "boa_near_miss": ("active", (), None),
    "boa_unreadable_date": ("unknown", (), None),
}


def _by_design(ds: Dataset) -> dict[str, str]:
    """Design name -> an account of that design (a customer's before an Accounts-v2 one)."""
    out: dict[str, str] = {}
    v2 = set(ds.customer_account_ids)
    for fca in sorted(ds.account_ids, key=lambda a: ds.account_specs[a].holder_id in v2):
        out.setdefault(ds.account_specs[fca].design, fca)
    return out


def _truth(ds: Dataset, fca: str) -> tuple[str, tuple[str, ...], str | None]:
    return ds.expected_category[fca], ds.expected_signals[fca], ds.expected_source[fca]


def test_bank_of_america_rules_at_now(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    rows = {name: fca for name, fca in _by_design(ds).items() if name in AT_NOW}
    assert set(rows) == set(AT_NOW) == {b.name for b in BOA_LINKS}
    got = {name: _truth(ds, fca) for name, fca in rows.items()}
    assert got == AT_NOW


def test_bank_of_america_rules_while_the_migration_date_is_ahead() -> None:
    ds = build_dataset(42, 4, MID_2026)
    got = {n: _truth(ds, fca) for n, fca in _by_design(ds).items() if n in AT_MID_2026}
    assert got == AT_MID_2026


def test_bank_of_america_links_after_now_do_not_exist_yet() -> None:
    ds = build_dataset(42, 4, datetime(2026, 4, 17, 12, tzinfo=UTC))
    designs = set(_by_design(ds))
    assert "boa_linked_2026-04-17" in designs  # linked exactly at now
    assert "boa_linked_2026-04-17_last_second" not in designs
    assert "boa_linked_2026-04-18_first_second" not in designs


def test_link_dates_sit_on_the_boundaries(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    rows = _by_design(ds)

    def created(name: str) -> str:
        moment = datetime.fromtimestamp(ds.accounts[rows[name]]["created"], UTC)
        return moment.isoformat().replace("+00:00", "Z")

    assert created("boa_linked_2025-06-30_last_second") == "2025-06-30T23:59:59Z"
    assert created("boa_linked_2025-07-01_first_second") == "2025-07-01T00:00:00Z"
    assert created("boa_linked_2026-04-17_last_second") == "2026-04-17T23:59:59Z"
    assert created("boa_linked_2026-04-18_first_second") == "2026-04-18T00:00:00Z"
    for name, days in (("boa_year_ends_in_30_days", 30), ("boa_year_ends_in_31_days", 31)):
        ends = datetime.fromtimestamp(ds.accounts[rows[name]]["created"] + 365 * DAY, UTC)
        assert (ends.date() - NOW.date()).days == days


def test_institution_names_normalise_as_the_rules_say(sandbox: RunningSandbox) -> None:
    names = {a["institution_name"] for a in sandbox.dataset.accounts.values()}
    assert {"BANK OF AMERICA", "Bank of America, N.A.", "BofA", "Bank of American Fork"} <= names
    assert normalise_institution("Bank of America, N.A.") == "bankofamericana"
    assert normalise_institution("B&T Bank") == "bandtbank"
    assert normalise_institution("Bank of American Fork") == "bankofamericanfork"


def test_every_active_bank_of_america_account_without_a_date_has_rule_truth(
    sandbox: RunningSandbox,
) -> None:
    ds = sandbox.dataset
    rule_names = {"bankofamerica", "bankofamericana", "bofa"}
    undated = 0
    for fca, account in ds.accounts.items():
        active = (account.get("status_details") or {}).get("active") or {}
        if (
            account["status"] == "active"
            and normalise_institution(account["institution_name"]) in rule_names
            and active.get("expected_deactivation_date") is None
        ):
            undated += 1
            category, signals, source = _truth(ds, fca)
            assert category in ("active", "expiring") and signals, fca
            assert set(signals) <= {PREDICTED, PASSED}, fca
            assert source in (None, ONE_YEAR, MIGRATION)
    assert undated > len(BOA_LINKS)  # the random data has them too, as the real bank does


# -- account numbers and refreshes -----------------------------------------------------------


def test_account_numbers_and_refreshes_have_stripes_shapes(sandbox: RunningSandbox) -> None:
    statuses: set[str] = set()
    refreshes: set[tuple[str, str]] = set()
    for account in sandbox.dataset.accounts.values():
        for number in account["account_numbers"]:
            assert set(number) == {
                "identifier_type",
                "status",
                "expected_expiry_date",
                "supported_networks",
            }
            assert number["identifier_type"] in ("account_number", "tokenized_account_number")
            assert number["supported_networks"] == ["ach"]
            expiry = number["expected_expiry_date"]
            assert expiry is None or (type(expiry) is int and expiry > 1_600_000_000)
            statuses.add(number["status"])
        for field in ("balance", "ownership", "transaction", "inferred_balances"):
            refresh = account.get(f"{field}_refresh")
            if refresh is None:
                continue
            assert {"status", "last_attempted_at", "next_refresh_available_at"} <= set(refresh)
            assert refresh["last_attempted_at"] >= account["created"]
            refreshes.add((field, refresh["status"]))
    assert statuses == {"transactable", "pending", "deactivated", "expired"}
    assert {
        (f, "failed") for f in ("balance", "ownership", "transaction", "inferred_balances")
    } <= refreshes
    assert {("balance", "succeeded"), ("transaction", "pending")} <= refreshes


def _within(ts: int, days: int = 30) -> bool:
    return (datetime.fromtimestamp(ts, UTC).date() - NOW.date()).days <= days


def test_stated_signals_agree_with_the_generated_fields(sandbox: RunningSandbox) -> None:
    """A consistency check: what each row states against what the generator rendered."""
    ds = sandbox.dataset
    for fca, account in ds.accounts.items():
        numbers = account["account_numbers"]
        fields: set[str] = set()
        if any(
            n["status"] == "transactable"
            and n["expected_expiry_date"] is not None
            and _within(n["expected_expiry_date"])
            for n in numbers
        ):
            fields.add("account_number_expiring")
        if numbers and not any(n["status"] in ("transactable", "pending") for n in numbers):
            fields.add("account_number_unusable")
        if any(n["status"] == "pending" for n in numbers):
            fields.add("account_number_pending")
        for field in ("balance", "ownership", "transaction", "inferred_balances"):
            if (account.get(f"{field}_refresh") or {}).get("status") == "failed":
                fields.add(f"{field}_refresh_failed")
        stated = set(ds.expected_signals[fca]) - {PREDICTED, PASSED}
        assert stated == fields, (fca, ds.design(fca))
    for fcauth in ds.authorizations:
        assert ds.expected_signals[fcauth] == ()
    codes = {code for codes in ds.expected_signals.values() for code in codes}
    assert codes == set(SIGNALS)


def test_the_number_rows_at_the_horizon(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    rows = _by_design(ds)
    expiring = ("expiring", ("account_number_expiring",), "stripe")
    assert _truth(ds, rows["number_expiry_passed"]) == expiring
    assert _truth(ds, rows["number_expiry_today"]) == expiring
    assert _truth(ds, rows["number_expiry_day_30"]) == expiring
    assert _truth(ds, rows["number_expiry_day_31"]) == ("active", (), None)
    assert _truth(ds, rows["number_expiring_and_null"]) == (
        "active",
        ("account_number_expiring",),
        None,
    )
    assert _truth(ds, rows["unknown_status_numbers_deactivated"])[0] == "account_number_unusable"
    assert _truth(ds, rows["disconnected_numbers_deactivated"])[0] == "disconnected"


def test_unreadable_dates_and_a_raw_nan(sandbox: RunningSandbox, raw: RawGet) -> None:
    ds = sandbox.dataset
    rows = _by_design(ds)
    for name in ("date_numeric_string", "date_true", "date_huge", "date_nan"):
        assert ds.expected_category[rows[name]] == "unknown", name
    status, _, body = raw(
        sandbox.base_url,
        f"/v1/financial_connections/accounts/{rows['date_nan']}",
        headers={"Authorization": "Bearer sk_test_x"},
    )
    assert status == 200
    assert math.isnan(body["status_details"]["active"]["expected_deactivation_date"])
    iso = ds.accounts[rows["date_iso"]]["status_details"]["active"]["expected_deactivation_date"]
    assert isinstance(iso, str) and iso.endswith("Z")


# -- the event history ------------------------------------------------------------------------


def _fc_events(ds: Dataset) -> dict[str, list[dict[str, Any]]]:
    by_object: dict[str, list[dict[str, Any]]] = {}
    for event in ds.events:
        obj = event["data"]["object"]
        if obj["object"] in (
            "financial_connections.account",
            "financial_connections.authorization",
        ):
            by_object.setdefault(obj["id"], []).append(event)
    return by_object


def test_event_history_truth(sandbox: RunningSandbox) -> None:
    ds = sandbox.dataset
    by_object = _fc_events(ds)
    assert set(ds.expected_event_category) == set(by_object)
    fc_ids = {e["id"] for events in by_object.values() for e in events}
    skipped = [e for e in ds.events if e["id"] not in fc_ids]
    assert ds.events_skipped == len(skipped) > 0
    assert {e["type"] for e in skipped} == {
        "financial_connections.session.updated",
        "customer.created",
    }
    assert {e["data"]["object"]["object"] for e in skipped} == {
        "financial_connections.session",
        "customer",
    }
    assert max(len(v) for v in by_object.values()) >= 3
    truth = ds.truth()["events"]
    assert {k: truth[k] for k in ("count", "skipped", "latest")} == {
        "count": len(ds.events),
        "skipped": ds.events_skipped,
        "latest": ds.expected_event_category,
    }


def _latest_shown(events: list[dict[str, Any]]) -> dict[str, Any]:
    return max(events, key=lambda e: (e["created"], e["id"]))


def test_scripted_histories(sandbox: RunningSandbox) -> None:
    """Each history's snapshots, and its latest category worked out by hand."""
    ds = sandbox.dataset
    rows = _by_design(ds)
    by_object = _fc_events(ds)
    assert {h.name for h in HISTORIES} <= set(rows)

    def history(name: str) -> tuple[list[str], dict[str, Any], str]:
        events = sorted(by_object[rows[name]], key=lambda e: (e["created"], e["id"]))
        types = [e["type"].rsplit(".", 1)[1] for e in events]
        return types, _latest_shown(events), ds.expected_event_category[rows[name]]

    def inactive_as_shown(event: dict[str, Any], preview_category: str) -> str:
        # A GA-rendered snapshot has no status_details.inactive.
        ga = not event["api_version"].endswith(".preview")
        return "inactive_unknown" if ga else preview_category

    types, latest, category = history("history_relinked")
    assert types == ["created", "deactivated", "reactivated"]
    assert latest["data"]["object"]["status"] == "active" and category == "active"

    types, latest, category = history("history_went_dark")
    assert types == ["created", "refreshed_balance", "deactivated"]
    assert category == inactive_as_shown(latest, "relink_required")

    types, latest, category = history("history_number_expired")
    assert types == ["created", "upcoming_account_number_expiry", "account_numbers_updated"]
    first = by_object[rows["history_number_expired"]][-1]["data"]["object"]
    assert first["account_numbers"][0]["status"] == "transactable"
    assert category == "account_number_unusable"

    types, latest, category = history("history_same_second")
    assert types[-2:] == ["refreshed_transactions", "deactivated"]
    tied = [e for e in by_object[rows["history_same_second"]] if e["created"] == latest["created"]]
    assert len(tied) == 2 and latest["type"].endswith("deactivated")  # the larger event id
    assert category == inactive_as_shown(latest, "relink_required")

    types, latest, category = history("history_number_replaced")
    assert types == ["created", "account_numbers_updated"]
    assert category == "active"


def test_truth_document_keys(sandbox: RunningSandbox, raw: RawGet) -> None:
    ds = sandbox.dataset
    status, _, truth = raw(sandbox.base_url, "/__sandbox/truth")
    assert status == 200
    everything = set(ds.accounts) | set(ds.authorizations)
    assert set(truth["signals"]) == set(truth["expected_deactivation_source"]) == everything
    assert truth["signals"] == {k: list(v) for k, v in ds.expected_signals.items()}
    assert truth["holders"] == {
        "account": ds.holder_account_ids,
        "customer_account": ds.customer_account_ids,
    }
    assert truth["events"]["latest"] == ds.expected_event_category


def test_weighted_variants_appear_in_random_data_too(sandbox: RunningSandbox) -> None:
    """The weighted rows show up outside the showcase, at a believable share."""
    ds = sandbox.dataset
    showcase = ds.account_specs[_by_design(ds)["numbers_expiring_both"]].holder_id
    scripted = {showcase, *ds.customer_account_ids}
    weighted = {v.name for v in ACCOUNT_VARIANTS[16:] if v.weight}
    random_designs = [
        ds.design(a) for a in ds.account_ids if ds.account_specs[a].holder_id not in scripted
    ]
    seen = weighted & set(random_designs)
    assert len(seen) >= len(weighted) // 2
    share = sum(1 for d in random_designs if d in weighted) / len(random_designs)
    assert share < 0.1


def test_the_truth_lists_each_session_and_a_scan_of_one_finds_its_accounts() -> None:
    import json
    import urllib.request

    from fcaudit.sandbox import SANDBOX_API_KEY, running_sandbox
    from tests.conftest import report_of, run

    with running_sandbox(customers=40, now=NOW) as sandbox:
        with urllib.request.urlopen(sandbox.base_url + "/__sandbox/truth") as answer:
            sessions = json.load(answer)["sessions"]
        assert sessions, "the sandbox's data has sessions"
        session, linked = next(iter(sessions.items()))
        assert session.startswith("fcsess_") and linked
        result = run(
            "scan", "--api-base", sandbox.base_url, "--session", session, "-f", "json",
            "--fail-on", "none", key=SANDBOX_API_KEY,
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert sorted(f["id"] for f in report_of(result)["findings"]) == sorted(linked)
