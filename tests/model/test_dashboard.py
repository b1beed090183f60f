"""Links into the Stripe Dashboard: built per holder, mode and connected account, and carried
by every finding."""

from __future__ import annotations

import json

import pytest
import responses

from fcaudit.model.dashboard import dashboard_url
from tests.conftest import run
from tests.factories import AS_OF, account, expiring
from tests.stripe_fake import ACCOUNTS, add_pages


@pytest.mark.parametrize(
    ("holder_type", "holder", "livemode", "stripe_account", "url"),
    [
        ("customer", "cus_1", True, None, "https://dashboard.stripe.com/customers/cus_1"),
        ("customer", "cus_1", False, None, "https://dashboard.stripe.com/test/customers/cus_1"),
        ("account", "acct_9", True, None, "https://dashboard.stripe.com/connect/accounts/acct_9"),
        (
            "customer",
            "cus_1",
            True,
            "acct_p",
            "https://dashboard.stripe.com/acct_p/customers/cus_1",
        ),
        (
            "customer",
            "cus_1",
            False,
            "acct_p",
            "https://dashboard.stripe.com/acct_p/test/customers/cus_1",
        ),
        ("customer", None, True, None, None),
    ],
)
def test_dashboard_urls(
    holder_type: str,
    holder: str | None,
    livemode: bool,
    stripe_account: str | None,
    url: str | None,
) -> None:
    assert (
        dashboard_url(holder_type, holder, livemode=livemode, stripe_account=stripe_account) == url
    )


def test_findings_carry_the_dashboard_url_of_their_holder(
    stripe_api: responses.RequestsMock,
) -> None:
    held = account("fca_1", customer=None, status_details=expiring(3))
    held["account_holder"] = {"type": "account", "account": "acct_h"}
    add_pages(stripe_api, ACCOUNTS, [held], query={"account_holder[account]": "acct_h"})
    result = run("scan", "--account-holder", "acct_h", "-f", "ndjson", *AS_OF)
    line = json.loads(result.stdout)
    assert line["dashboard_url"] == "https://dashboard.stripe.com/test/connect/accounts/acct_h"
