"""The sandbox's event destinations: GET /v1/webhook_endpoints and GET /v2/core/event_destinations.

A fixed, small set that `fcaudit webhooks --sandbox` audits: an enabled endpoint at a preview
version receiving every FC snapshot type, a disabled legacy endpoint at a GA version (a
destination_disabled finding), and a thin event destination for the thin FC types. Never a
secret (Stripe returns an endpoint's `secret` only at creation). The v2 list is answered
without the /v1 fault injection and key check of the rest of the sandbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fcaudit.stripe.facts import PREVIEW_VERSION

if TYPE_CHECKING:
    from fcaudit.sandbox.api import Request

CREATED = 1_767_225_600  # 2026-01-01

WEBHOOK_ENDPOINTS: tuple[dict[str, Any], ...] = (
    {
        "id": "we_sandbox_main",
        "object": "webhook_endpoint",
        "api_version": PREVIEW_VERSION,
        "application": None,
        "created": CREATED,
        "description": "bank link alerts",
        "enabled_events": [
            "financial_connections.account.*",
            "financial_connections.authorization.*",
        ],
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": "https://hooks.example.com/stripe/fc",
    },
    {
        "id": "we_sandbox_legacy",
        "object": "webhook_endpoint",
        "api_version": "2026-06-24.dahlia",
        "application": None,
        "created": CREATED - 86_400 * 200,
        "description": "old handler",
        "enabled_events": ["financial_connections.account.deactivated"],
        "livemode": False,
        "metadata": {},
        "status": "disabled",
        "url": "https://legacy.example.com/webhook",
    },
)

EVENT_DESTINATIONS: tuple[dict[str, Any], ...] = (
    {
        "id": "ed_test_sandbox_thin",
        "object": "v2.core.event_destination",
        "created": "2026-01-01T00:00:00.000Z",
        "description": "thin refresh events",
        "enabled_events": ["v1.financial_connections.account.*"],
        "event_payload": "thin",
        "events_from": ["@self"],
        "livemode": False,
        "metadata": {},
        "name": "fc-thin",
        "snapshot_api_version": None,
        "status": "enabled",
        "status_details": None,
        "type": "webhook_endpoint",
        "updated": "2026-01-01T00:00:00.000Z",
        "webhook_endpoint": {"signing_secret": None, "url": "https://hooks.example.com/thin"},
    },
)


def list_webhook_endpoints(req: Request) -> dict[str, Any]:
    """GET /v1/webhook_endpoints: a list object, cursor-paginated (`limit`, `starting_after`)."""
    limit = max(1, min(100, int(req.params.get("limit", "10") or 10)))
    ids = [e["id"] for e in WEBHOOK_ENDPOINTS]
    after = req.params.get("starting_after")
    start = ids.index(after) + 1 if after in ids else 0
    data = [dict(e) for e in WEBHOOK_ENDPOINTS[start : start + limit]]
    return {
        "object": "list",
        "data": data,
        "has_more": start + limit < len(ids),
        "url": "/v1/webhook_endpoints",
    }


def list_event_destinations(req: Request) -> dict[str, Any]:
    """GET /v2/core/event_destinations: v2's list shape (one page)."""
    return {
        "data": [dict(d) for d in EVENT_DESTINATIONS],
        "next_page_url": None,
        "previous_page_url": None,
    }
