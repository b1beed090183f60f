"""The worklist: findings grouped by customer, authorization or institution, the summary's
result, contact details for each group, and suppressed findings left out of every format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import responses

from tests.conftest import API, report_of, run
from tests.factories import AS_OF, account, expiring, inactive, ndjson
from tests.stripe_fake import add_accounts, add_pages


def fleet(rsps: responses.RequestsMock) -> None:
    customers: list[dict[str, Any]] = [
        {"id": "cus_a", "object": "customer", "name": "Ada <b>L</b>", "email": "ada@example.com"},
        {"id": "cus_b", "object": "customer", "name": None, "email": "b@example.com"},
        {"id": "cus_c", "object": "customer", "name": "Cy", "email": None},
    ]
    add_pages(rsps, "/v1/customers", customers)
    add_accounts(
        rsps,
        "cus_a",
        [
            account(
                "fca_a1",
                customer="cus_a",
                status="inactive",
                status_details=inactive(),
                authorization="fcauth_a",
            ),
            account(
                "fca_a2",
                customer="cus_a",
                status="inactive",
                status_details=inactive(),
                authorization="fcauth_a",
            ),
            account(
                "fca_a3", customer="cus_a", status_details=expiring(4), authorization="fcauth_x"
            ),
        ],
    )
    add_accounts(rsps, "cus_b", [account("fca_b1", customer="cus_b", status_details=expiring(9))])
    add_accounts(rsps, "cus_c", [account("fca_c1", customer="cus_c")])


def report(*args: str) -> dict[str, Any]:
    result = run("scan", "-f", "json", *AS_OF, *args)
    assert result.exit_code in (0, 1), result.stderr
    return report_of(result)


def test_groups_by_customer(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    doc = report("--discovery", "customers")
    assert doc["group_by"] == "customer"
    groups = doc["groups"]
    assert [g["key"] for g in groups] == ["cus_a", "cus_b"]  # cus_c is all active: left out
    a = groups[0]
    assert a["worst_category"] == "relink_required"
    assert a["accounts"] == 3
    assert a["deadline"] == "2026-11-30T12:00:00Z"
    assert a["finding_ids"] == ["fca_a1", "fca_a2", "fca_a3"]
    assert a["relink_authorizations"] == ["fcauth_a"]  # one relink repairs both
    assert a["dashboard_url"] == "https://dashboard.stripe.com/test/customers/cus_a"
    assert "contact" not in a and doc["contains_contact_details"] is False
    summary = doc["summary"]
    assert summary["customers_affected"] == 2
    assert summary["by_object"]["account"]["relink_required"] == 2
    assert summary["by_object"]["authorization"]["relink_required"] == 0
    assert summary["result"] == {"exit_code": 1, "matched": 4}


def test_groups_by_authorization_and_institution(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    keys = [
        g["key"]
        for g in report("--discovery", "customers", "--group-by", "authorization")["groups"]
    ]
    assert keys == ["fcauth_a", "fcauth_x", "fcauth_1"]
    stripe_api.calls.reset()
    by_bank = report("--discovery", "customers", "--group-by", "institution")["groups"]
    assert [(g["key"], g["accounts"]) for g in by_bank] == [("Bank of America", 5)]
    assert report("--discovery", "customers", "--group-by", "none")["groups"] == []


def test_contact_details_from_the_customer_list(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    doc = report("--discovery", "customers", "--contact")
    assert doc["contains_contact_details"] is True
    contacts = {g["key"]: g["contact"] for g in doc["groups"]}
    assert contacts == {
        "cus_a": {"name": "Ada <b>L</b>", "email": "ada@example.com"},
        "cus_b": {"name": None, "email": "b@example.com"},
    }
    assert not [c for c in stripe_api.calls if "/v1/customers/" in str(c.request.url)]


def test_contact_details_for_named_customers_are_retrieved_once(
    stripe_api: responses.RequestsMock,
) -> None:
    add_accounts(
        stripe_api, "cus_a", [account("fca_1", customer="cus_a", status_details=expiring(3))]
    )
    add_accounts(stripe_api, "cus_z", [])
    stripe_api.get(
        f"{API}/v1/customers/cus_a",
        json={"id": "cus_a", "object": "customer", "name": "Ada", "email": "ada@example.com"},
    )
    doc = report("--customer", "cus_a", "--customer", "cus_z", "--contact")
    assert doc["groups"][0]["contact"] == {"name": "Ada", "email": "ada@example.com"}
    gets = [str(c.request.url) for c in stripe_api.calls if "/v1/customers/" in str(c.request.url)]
    assert gets == [f"{API}/v1/customers/cus_a"]  # once, and none for a customer without accounts
    assert all(c.request.method == "GET" for c in stripe_api.calls)


IGNORE = '[[ignore]]\nid = "cus_1"\nreason = "handled in ticket 9"\n'


def test_suppressed_findings_leave_every_worklist_format(tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.toml"
    ignore.write_text(IGNORE)
    objects = [
        account("fca_mine", customer="cus_1", status="inactive", status_details=inactive()),
        account("fca_other", customer="cus_2", status="inactive", status_details=inactive()),
    ]
    args = ("--ignore", str(ignore), *AS_OF)
    md = run("classify", "-", "-f", "markdown", *args, input=ndjson(objects), key=None).stdout
    assert "fca_other" in md and "fca_mine" not in md
    prom = run("classify", "-", "-f", "prometheus", *args, input=ndjson(objects), key=None).stdout
    common = 'stripe_account="unknown",mode="test"'
    assert f'fcaudit_findings{{{common},object="account",category="relink_required"}} 1' in prom
    assert f"fcaudit_suppressed_findings{{{common}}} 1" in prom
    assert f"fcaudit_customers_affected{{{common}}} 1" in prom
    table = run("classify", "-", "-f", "table", *args, input=ndjson(objects), key=None).stdout
    assert table.splitlines()[0].startswith(
        "1 customer to contact, 1 finding needs attention: 1 relink_required"
    )
    shown = run(
        "classify", "-", "-f", "table", "--show-suppressed", *args, input=ndjson(objects), key=None
    ).stdout
    row = next(line for line in shown.splitlines() if "fca_mine" in line)
    assert row.split()[0] == "supp"
