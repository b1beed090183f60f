"""Webhook deliveries: which events a webhook endpoint has not acknowledged, as the truth's
``pending_webhooks`` and ``undelivered`` state them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from fcaudit.sandbox.data.constants import DAY
from fcaudit.stripe.facts import EVENT_RETENTION_DAYS

if TYPE_CHECKING:
    from fcaudit.sandbox.data.dataset import Dataset


# An event with pending_webhooks > 0 at least this long before ``now`` counts as undelivered
# in the truth: fcaudit events' default --grace (Stripe retries for up to three days, so a
# younger one may still arrive: https://docs.stripe.com/webhooks/process-undelivered-events).
UNDELIVERED_AFTER_SECONDS: Final = 3600
FC_OBJECT_TYPES: Final = frozenset(
    {"financial_connections.account", "financial_connections.authorization"}
)


def delivery_truth(ds: Dataset) -> dict[str, Any]:
    """The events about FC accounts and authorizations (the ones ``fcaudit events`` lists)
    that a webhook endpoint has not acknowledged, among those the API still lists (the last
    30 days): ``pending_webhooks`` {event id: count > 0}, and ``undelivered``, the sorted ids
    of those at least :data:`UNDELIVERED_AFTER_SECONDS` old at ``now``."""
    retained_after = ds.now_ts - EVENT_RETENTION_DAYS * DAY
    pending: dict[str, int] = {}
    undelivered: list[str] = []
    for event in ds.events:
        count = event.get("pending_webhooks")
        created = int(event["created"])
        if not (isinstance(count, int) and count > 0) or created <= retained_after:
            continue
        if event["data"]["object"].get("object") not in FC_OBJECT_TYPES:
            continue
        pending[str(event["id"])] = count
        if created <= ds.now_ts - UNDELIVERED_AFTER_SECONDS:
            undelivered.append(str(event["id"]))
    return {"pending_webhooks": pending, "undelivered": sorted(undelivered)}
