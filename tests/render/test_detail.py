"""The detail view of `fcaudit account` / `fcaudit authorization`: every status field, as JSON
spells it."""

from __future__ import annotations

import responses

from fcaudit.render.detail import status_signals
from tests.conftest import API, run
from tests.factories import account, inactive, ts
from tests.stripe_fake import ACCOUNTS


def test_status_signals_list_every_status_field_as_json_spells_it() -> None:
    obj = account(status="inactive", status_details=inactive())
    obj["balance_refresh"] = {"status": "failed", "last_attempted_at": ts(-1), "next": None}
    signals = dict(status_signals(obj))
    assert signals["status"] == "inactive"
    assert signals["status_details.inactive.cause"] == "access_expired"
    assert signals["balance_refresh.status"] == "failed"
    assert signals["balance_refresh.next"] == "null"
    assert signals["livemode"] == "false"
    assert signals["authorization"] == "fcauth_1"
    # The ISO time is shown beside the Unix one.
    assert signals["balance_refresh.last_attempted_at"] == f"{ts(-1)} (2026-11-25T12:00:00Z)"


def test_account_detail_view_shows_status_signals(stripe_api: responses.RequestsMock) -> None:
    obj = account(status="inactive", status_details=inactive("account_closed", "none"))
    obj["balance_refresh"] = {"status": "failed", "last_attempted_at": 1764000000}
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=obj)
    out = run("account", "fca_1", "-f", "table").stdout
    for text in (
        "inactive_unrepairable",
        "status_details.inactive.cause",
        "account_closed",
        "balance_refresh.status",
        "failed",
    ):
        assert text in out
