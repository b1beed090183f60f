"""Issue #10 in JSON: groups, the summary's result, Dashboard links, --contact, -o extensions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from fcaudit.errors import ExitCode
from fcaudit.model.dashboard import dashboard_url
from tests.conftest import API, report_of, run
from tests.factories import AS_OF, account, expiring, inactive
from tests.stripe_fake import ACCOUNTS, add_accounts, add_pages


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


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--contact", "-f", "ndjson"], "--format ndjson does not carry"),
        (["--contact", "-f", "prometheus"], "--format prometheus does not carry"),
        (["--contact", "-f", "json", "--group-by", "none"], "--group-by none"),
    ],
)
def test_contact_needs_a_format_with_groups(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "x"
    result = run("scan", *args, "-o", str(out))
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1 and needle in result.stderr
    assert not out.exists()


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


@pytest.mark.parametrize(
    ("name", "fmt"), [("r.json", "json"), ("r.ndjson", "ndjson"), ("r.JSON", "json")]
)
def test_output_extension_picks_the_format(tmp_path: Path, name: str, fmt: str) -> None:
    out = tmp_path / name
    line = json.dumps(account("fca_1")) + "\n"
    result = run("classify", "-", "-o", str(out), input=line, key=None)
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    assert text.startswith("{\n") if fmt == "json" else text.startswith('{"id":"fca_1"')


def test_output_extension_and_format_must_agree(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = run("classify", "-", "-f", "json", "-o", str(out), input="{}", key=None)
    assert result.exit_code == ExitCode.USAGE and ".csv extension" in result.stderr
    assert not out.exists()


def test_csv_with_contact_has_contact_columns(stripe_api: responses.RequestsMock) -> None:
    import csv
    import io

    fleet(stripe_api)
    result = run("scan", "-f", "csv", "--contact", *AS_OF, "--discovery", "customers")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    by_id = {r["id"]: r for r in rows}
    assert by_id["fca_a1"]["contact_name"] == "Ada <b>L</b>"
    assert by_id["fca_a1"]["contact_email"] == "ada@example.com"
    assert by_id["fca_c1"]["contact_email"] == ""  # cus_c needs nothing: no group, no contact
