"""Stripe-shaped objects for tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
AS_OF = ("--as-of", "2026-11-26T12:00:00Z")  # NOW, as the command line gives it
DAY = 86400


def ndjson(objects: list[dict[str, Any]]) -> str:
    """Objects as NDJSON, one per line."""
    return "".join(json.dumps(o) + "\n" for o in objects)


def ts(days: float) -> int:
    """Unix time `days` from NOW."""
    return int(NOW.timestamp() + days * DAY)


def account(
    id: str = "fca_1",
    *,
    status: str = "active",
    status_details: Any = None,
    customer: str | None = "cus_1",
    authorization: str | None = "fcauth_1",
    institution: str = "Bank of America",
    display_name: str = "Checking",
    last4: str = "6789",
    omit_status_details: bool = False,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": id,
        "object": "financial_connections.account",
        "account_holder": {"type": "customer", "customer": customer} if customer else None,
        "balance": None,
        "category": "cash",
        "created": ts(-300),
        "display_name": display_name,
        "institution_name": institution,
        "last4": last4,
        "livemode": False,
        "permissions": ["payment_method"],
        "status": status,
        "status_details": status_details if status_details is not None else {},
        "subcategory": "checking",
        "supported_payment_method_types": ["us_bank_account"],
    }
    if authorization:
        obj["authorization"] = authorization
    if omit_status_details:
        del obj["status_details"]
    return obj


def inactive(
    cause: str | None = "access_expired", action: str | None = "relink_required"
) -> dict[str, Any]:
    return {"inactive": {"cause": cause, "action": action}}


def expiring(
    days: float, cause: str = "access_expired", action: str = "relink_required"
) -> dict[str, Any]:
    return {"active": {"expected_deactivation_date": ts(days), "cause": cause, "action": action}}


def authorization(
    id: str = "fcauth_1", *, status: str = "active", status_details: Any = None
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "financial_connections.authorization",
        "account_holder": {"type": "customer", "customer": "cus_1"},
        "institution_name": "Bank of America",
        "livemode": False,
        "status": status,
        "status_details": status_details if status_details is not None else {},
    }


def page(data: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
