"""A finding's record is declared once (`FIELDS`): the JSON record, the loader and the CSV
columns all follow from it, and every Finding attribute is declared or deliberately left out."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime

from fcaudit.model.findings import (
    CSV_COLUMNS,
    FIELDS,
    NOT_IN_RECORD,
    Category,
    Change,
    Finding,
    Signal,
    SignalCode,
    Suppression,
    csv_values,
    from_record,
)
from fcaudit.stripe.ids import AUTHORIZATION_OBJECT
from tests.conftest import SCHEMA

WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _full(**changes: object) -> Finding:
    """A finding with every attribute the record carries set to something other than its
    default."""
    finding = Finding(
        id="fcauth_1",
        object=AUTHORIZATION_OBJECT,
        category=Category.RELINK_REQUIRED,
        status="inactive",
        recommendation="Ask the customer to relink.",
        cause="access_expired",
        action="relink_required",
        expected_deactivation_date=WHEN,
        days_until_deactivation=-2,
        institution_name="Bank",
        account_holder_type="customer",
        account_holder="cus_1",
        authorization="fcauth_1",
        last4="1234",
        display_name="Checking",
        livemode=False,
        detail="inactive since",
        accounts=("fca_1", "fca_2"),
        signals=(Signal(SignalCode.PREDICTED_DEACTIVATION, "soon", WHEN),),
        expected_deactivation_source="rule:boa",
        event_type="financial_connections.account.deactivated",
        event_created=WHEN,
        event_id="evt_1",
        pending_webhooks=2,
        undelivered=True,
        dashboard_url="https://dashboard.stripe.com/test/customers/cus_1",
        change=Change.WORSE,
        suppressed=Suppression("fcauth_1", "known", date(2027, 1, 1)),
        stripe_account="acct_1",
        since=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        since_source="event",
        days_in_category=18,
        pending=False,
    )
    return dataclasses.replace(finding, **changes)  # type: ignore[arg-type]


def test_every_finding_attribute_is_in_the_record_or_left_out_on_purpose() -> None:
    written = {m for f in FIELDS for m in re.findall(r"\bf\.(\w+)", f.dump)}
    for field in dataclasses.fields(Finding):
        assert field.name in written or field.name in NOT_IN_RECORD, field.name


def test_the_record_has_the_schemas_fields_in_order() -> None:
    keys = list(_full().to_record())
    assert keys == [f.key for f in FIELDS]
    assert set(keys) == set(SCHEMA["$defs"]["finding"]["properties"])


def test_a_record_reads_back_as_the_finding_that_wrote_it() -> None:
    # change and suppressed describe the run that wrote the report, not the object.
    finding = _full()
    back = from_record(finding.to_record())
    assert back == dataclasses.replace(finding, change=None, suppressed=None)
    assert from_record(_full(object="financial_connections.account", accounts=()).to_record())


def test_csv_columns_and_values_follow_the_declaration() -> None:
    # The documented CSV columns (README "Formats"), after group_key.
    assert CSV_COLUMNS == (
        "id", "object", "category", "status", "cause", "action",
        "expected_deactivation_date", "days_until_deactivation",
        "expected_deactivation_source", "institution_name", "account_holder_type",
        "account_holder", "authorization", "accounts", "last4", "display_name", "livemode",
        "signals", "detail", "recommendation", "event_type", "event_created",
        "dashboard_url", "change", "suppressed", "suppressed_until", "event_id",
        "pending_webhooks", "undelivered", "since", "since_source", "days_in_category",
        "pending",
    )  # fmt: skip
    cells = dict(zip(CSV_COLUMNS, csv_values(_full()), strict=True))
    assert cells["accounts"] == "fca_1;fca_2"
    assert cells["signals"] == "predicted_deactivation"
    assert cells["expected_deactivation_date"] == "2026-12-01T12:00:00Z"
    assert cells["suppressed"] == "known"
    assert cells["suppressed_until"] == "2027-01-01"
    assert (cells["event_id"], cells["pending_webhooks"], cells["undelivered"]) == (
        "evt_1",
        2,
        True,
    )
    assert (cells["since"], cells["since_source"], cells["days_in_category"]) == (
        "2026-11-02T08:00:00Z",
        "event",
        18,
    )
    assert cells["pending"] is False
    account = csv_values(_full(object="financial_connections.account", suppressed=None))
    assert dict(zip(CSV_COLUMNS, account, strict=True))["accounts"] is None


def test_a_finding_comes_back_from_a_spill_to_disk_whole_and_with_the_same_members() -> None:
    import pickle

    finding = _full(raw={"id": "fcauth_1", "nested": [1, {"a": None}]}, suppressed=Suppression(
        "fcauth_1", "known", date(2027, 1, 1), frozenset({"relink_required"})))  # fmt: skip
    back = pickle.loads(pickle.dumps(finding, pickle.HIGHEST_PROTOCOL))
    assert back == finding and back.raw == finding.raw
    assert back.category is Category.RELINK_REQUIRED and back.change is Change.WORSE
    assert back.signals[0].code is SignalCode.PREDICTED_DEACTIVATION
    assert back.suppressed == finding.suppressed
    # A member is pickled as its name, looked up when read (not a call with its value).
    assert b"RELINK_REQUIRED" in pickle.dumps(Category.RELINK_REQUIRED)
