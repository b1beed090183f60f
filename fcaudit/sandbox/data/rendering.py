"""JSON rendering: customers, connected accounts, FC accounts, authorizations and sessions as
the API (in a preview or a GA version) or an event payload shows them."""

from __future__ import annotations

import hashlib
from typing import Any, Final

from fcaudit.sandbox.data.constants import ALNUM, CUSTOMER_ACCOUNT
from fcaudit.sandbox.data.names import INST_NAMES, KINDS
from fcaudit.sandbox.data.records import (
    AccountSpec,
    AuthorizationSpec,
    ConnectedSpec,
    CustomerSpec,
    clone,
)


def session_object(
    session_id: str, holder_type: str, holder_id: str, account_ids: list[str]
) -> dict[str, Any]:
    """A ``financial_connections.session`` as an event carries it (accounts by id only)."""
    return {
        "id": session_id,
        "object": "financial_connections.session",
        "account_holder": _holder(holder_type, holder_id),
        "accounts": {
            "object": "list",
            "data": [],
            "has_more": bool(account_ids),
            "url": f"/v1/financial_connections/sessions/{session_id}/accounts",
        },
        "livemode": False,
        "permissions": ["balances", "payment_method"],
        "prefetch": [],
        "return_url": None,
    }


def institution_id(name: str) -> str:
    """A stable ``fcinst_…`` id for an institution name (independent of the seed)."""
    digest = hashlib.sha256(name.encode()).digest()
    return "fcinst_" + "".join(ALNUM[b % 62] for b in digest[:14])


_INST_IDS: Final = tuple(institution_id(n) for n in INST_NAMES)


def _holder(holder_type: str, holder_id: str) -> dict[str, Any]:
    if holder_type == "customer":
        return {"type": "customer", "customer": holder_id}
    if holder_type == CUSTOMER_ACCOUNT:
        # Accounts v2: the customer is an Account (acct_...) with the customer configuration.
        return {"type": "customer", "customer": None, "customer_account": holder_id}
    return {"type": "account", "account": holder_id}


def render_account(
    spec: AccountSpec,
    *,
    preview: bool = True,
    status: str | None = None,
    details: dict[str, Any] | bool | None = False,
) -> dict[str, Any]:
    """The account as the API returns it; ``preview`` adds the preview-only fields.

    ``status``/``details`` override the current state (for event snapshots); ``details=False``
    means "use the spec's".
    """
    _names, category, subcategory, permissions, pm_types = KINDS[spec.kind]
    sd = spec.details if details is False else details
    obj: dict[str, Any] = {
        "id": spec.id,
        "object": "financial_connections.account",
        "account_holder": _holder(spec.holder_type, spec.holder_id),
        "account_numbers": [clone(n) for n in spec.numbers],
    }
    if preview:
        obj["authorization"] = spec.authorization
    obj.update(
        {
            "balance": None,
            "balance_refresh": clone(spec.refresh.get("balance_refresh")),
            "category": category,
            "created": spec.created,
            "display_name": spec.display_name,
        }
    )
    if preview:
        obj["inferred_balances_refresh"] = clone(spec.refresh.get("inferred_balances_refresh"))
        obj["institution"] = _INST_IDS[spec.institution]
    obj.update(
        {
            "institution_name": INST_NAMES[spec.institution],
            "last4": spec.last4,
            "livemode": False,
            "ownership": None,
            "ownership_refresh": clone(spec.refresh.get("ownership_refresh")),
            "permissions": list(permissions),
            "status": status if status is not None else spec.status,
        }
    )
    if isinstance(sd, dict):
        if preview:
            obj["status_details"] = clone(sd)
        else:
            # GA versions only know the `active` sub-hash (reference doc §0.1).
            obj["status_details"] = {k: clone(v) for k, v in sd.items() if k == "active"}
    obj.update(
        {
            "subcategory": subcategory,
            "subscriptions": [],
            "supported_payment_method_types": list(pm_types),
            "transaction_refresh": clone(spec.refresh.get("transaction_refresh")),
        }
    )
    return obj


def render_authorization(spec: AuthorizationSpec, *, preview: bool = True) -> dict[str, Any]:
    """The authorization as the API (or a GA event payload) shows it."""
    obj: dict[str, Any] = {"id": spec.id, "object": "financial_connections.authorization"}
    if preview:
        obj["account_holder"] = _holder(spec.holder_type, spec.holder_id)
        obj["institution"] = _INST_IDS[spec.institution]
    obj.update(
        {
            "institution_name": INST_NAMES[spec.institution],
            "livemode": False,
            "status": spec.status,
        }
    )
    if spec.details is not None:
        obj["status_details"] = clone(spec.details)
    return obj


def render_connected_account(spec: ConnectedSpec) -> dict[str, Any]:
    """The connected account as ``GET /v1/accounts`` lists it."""
    return {
        "id": spec.id,
        "object": "account",
        "business_profile": {"name": spec.name, "url": None},
        "business_type": "company",
        "charges_enabled": True,
        "country": "US",
        "created": spec.created,
        "default_currency": "usd",
        "details_submitted": True,
        "email": None,
        "metadata": {},
        "payouts_enabled": True,
        "type": "custom",
    }


def render_customer(spec: CustomerSpec) -> dict[str, Any]:
    """The customer as the API (or a ``customer.created`` event) shows it."""
    return {
        "id": spec.id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": spec.created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": spec.email,
        "invoice_prefix": spec.id[4:12].upper(),
        "livemode": False,
        "metadata": {},
        "name": spec.name,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
