"""Register Stripe list/retrieve responses on a `responses` mock, with exact query matching."""

from __future__ import annotations

from typing import Any

import responses
from responses import matchers

from tests.conftest import API
from tests.factories import page

ACCOUNTS = "/v1/financial_connections/accounts"


def add_pages(
    rsps: responses.RequestsMock,
    path: str,
    items: list[dict[str, Any]],
    *,
    query: dict[str, str] | None = None,
    per_page: int = 100,
) -> int:
    """Serve `items` as Stripe would at limit=100 (or `per_page`); return the page count."""
    chunks = [items[i : i + per_page] for i in range(0, len(items), per_page)] or [[]]
    after: str | None = None
    for n, chunk in enumerate(chunks):
        params = {**(query or {}), "limit": "100"}
        if after:
            params["starting_after"] = after
        rsps.get(
            API + path,
            json=page(chunk, path, has_more=n < len(chunks) - 1),
            match=[matchers.query_param_matcher(params)],
            headers={"Request-Id": f"req_{path.strip('/').replace('/', '_')}_{n}"},
        )
        after = chunk[-1]["id"] if chunk else None
    return len(chunks)


def add_customers(rsps: responses.RequestsMock, ids: list[str], per_page: int = 100) -> int:
    return add_pages(
        rsps, "/v1/customers", [{"id": i, "object": "customer"} for i in ids], per_page=per_page
    )


def add_accounts(
    rsps: responses.RequestsMock, customer: str, accounts: list[dict[str, Any]], per_page: int = 100
) -> int:
    return add_pages(
        rsps, ACCOUNTS, accounts, query={"account_holder[customer]": customer}, per_page=per_page
    )


def add_error(
    rsps: responses.RequestsMock,
    path: str,
    status: int,
    *,
    code: str = "resource_missing",
    type: str = "invalid_request_error",
    message: str = "No such thing",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> None:
    match = [matchers.query_param_matcher(query, strict_match=False)] if query else []
    rsps.get(
        API + path,
        status=status,
        json={"error": {"type": type, "code": code, "message": message}},
        headers={"Request-Id": f"req_err_{status}", **(headers or {})},
        match=match,
    )
