"""What a scan makes of a listing: discovery modes, list filters, elements and their holders.

Pure functions over the plain dicts the gateway hands out; the scan and its discovery share
them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from fcaudit.model.report import Contact, Scope, ScopeType
from fcaudit.stripe.failures import RequestFailed
from fcaudit.stripe.ids import is_stripe_id


class Discovery(StrEnum):
    """How a scan with no scope flag finds a Stripe account's FC accounts (`--discovery`)."""

    AUTO = "auto"  # the unfiltered list; the fan-out only if Stripe refuses it (400)
    ACCOUNTS = "accounts"  # GET /v1/financial_connections/accounts, no filter: 1 per 100
    CUSTOMERS = "customers"  # every customer, then each one's accounts: 1 per customer


ALL_CONNECTED: Literal["all"] = "all"  # --connected-accounts all: page GET /v1/accounts


# NOTE: an unverified assumption. Stripe documents no refusal of the unfiltered account list
# (neither its wording nor that it happens: ../shared/reference/stripe-fc-api.md §4 and open
# question 1). A 400 whose `param` or message names one of the list's filters is taken to be
# that refusal; any other 400 (a Stripe-Version Stripe does not know, a parameter it refuses)
# is about the request itself, and a fan-out after it would only bury Stripe's words.
_FILTERS = re.compile(r"account_holder|\bsession\b")


def refused_unfiltered(err: RequestFailed) -> bool:
    """Stripe refusing the unfiltered account list for want of a filter: a 400 whose `param`
    or message names `account_holder` or `session`. Anything else (another 400, 401/403, 429,
    5xx, a network error) keeps its usual meaning."""
    if err.http_status != 400:
        return False
    return bool(_FILTERS.search(err.param or "") or _FILTERS.search(err.message))


def account_filter(scope: Scope) -> dict[str, Any]:
    """The list filter for a scope (https://docs.stripe.com/api/financial_connections/accounts/list)."""
    if scope.type is ScopeType.CUSTOMER:
        return {"account_holder": {"customer": scope.id}}
    if scope.type is ScopeType.ACCOUNT_HOLDER:
        return {"account_holder": {"account": scope.id}}
    if scope.type is ScopeType.CUSTOMER_ACCOUNT:
        return {"account_holder": {"customer_account": scope.id}}
    if scope.type is ScopeType.SESSION:
        return {"session": scope.id}
    raise ValueError(f"scope {scope.type} has no account filter")


def id_of(value: Any) -> str | None:
    """An id that may have been expanded into an object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def holder_label(account: Mapping[str, Any]) -> str:
    """The account's holder as one comparable string (`customer cus_1`, `account acct_1`)."""
    holder = account.get("account_holder")
    if not isinstance(holder, Mapping):
        return "none"
    kind = holder.get("type")
    value = holder.get(kind) if isinstance(kind, str) else None
    return f"{kind} {id_of(value) or '?'}"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a value"


def invalid_element(item: Any, noun: str, prefix: str = "") -> str | None:
    """None for an element of a listing with an id of Stripe's shape (starting `prefix`);
    otherwise what the element is instead, for its errors[] entry."""
    if isinstance(item, dict) and is_stripe_id(item.get("id"), prefix):
        return None
    article = "an" if noun[0] in "aeiou" else "a"
    if not isinstance(item, dict):
        return f"{_kind(item)}, not {article} {noun}"
    return f"{article} {noun} without a valid id"


def contact_of(customer: Mapping[str, Any]) -> Contact:
    """A customer's name and email as Stripe gives them (untrusted text, escaped on display)."""
    name, email = customer.get("name"), customer.get("email")
    return Contact(
        name if isinstance(name, str) and name else None,
        email if isinstance(email, str) and email else None,
    )


def conflict(first: str, other: str) -> str:
    """How a finding notes an account listed under two holders."""
    return f"a conflicting holder: {other} (first listed with {first})"
