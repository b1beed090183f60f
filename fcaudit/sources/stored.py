"""What a --state store keeps of an object (fcaudit/sources/state.py writes it): the fields
classification and the report read, the holder it is indexed by, and the row made of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

# The fields classification and the report read; the rest of an object is not kept.
KEPT_FIELDS = (
    "id",
    "object",
    "status",
    "status_details",
    "account_holder",
    "authorization",
    "institution",
    "institution_name",
    "last4",
    "display_name",
    "livemode",
    "account_numbers",
    "balance_refresh",
    "ownership_refresh",
    "transaction_refresh",
    "inferred_balances_refresh",
    "subscriptions",  # which refreshes refresh_stale and refresh_failing watch
    "created",
)


def kept(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the store keeps of an object."""
    return {k: obj[k] for k in KEPT_FIELDS if k in obj}


def holder_of(obj: Mapping[str, Any]) -> str | None:
    """The id of an account's holder (a customer, an Accounts v2 customer account, or a
    connected account), or None: what the store indexes."""
    holder = obj.get("account_holder")
    if not isinstance(holder, Mapping):
        return None
    for key in ("customer", "customer_account", "account"):
        value = holder.get(key)
        if isinstance(value, Mapping):
            value = value.get("id")
        if isinstance(value, str) and value:
            return value
    return None


class StoredRow(NamedTuple):
    """An object as the store's `objects` table holds it. A full run makes it when it sees the
    object and spills it until the commit: a short string is cheaper to hold, sort and pickle
    than the object's nested dicts, so more fit in each sorted run of the spill."""

    id: str
    kind: str  # the object's `object`
    holder: str | None
    body: str  # JSON of kept(obj)

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> StoredRow:
        return cls(
            str(obj.get("id")), str(obj.get("object")), holder_of(obj), json.dumps(kept(obj))
        )
