"""Where `fcaudit webhooks` gets its facts: the event destinations, and whose FC accounts
these are, with GET requests only.

Every secret is dropped as an object arrives: an endpoint's `secret` is documented as
returned only at creation (https://docs.stripe.com/api/webhook_endpoints/object) and a v2
destination's `webhook_endpoint.signing_secret` only when asked for, but either is treated as
if it were there anyway. URLs are kept as their host unless --show-urls.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from fcaudit.errors import ApiError, AuthError, UsageError
from fcaudit.model.webhooks import Audience, Destination, Facts, audience_of
from fcaudit.stripe.facts import FC_EVENT_TYPES
from fcaudit.stripe.failures import RequestFailed
from fcaudit.text import safe

if TYPE_CHECKING:
    from fcaudit.stripe.gateway import StripeGateway

WEBHOOK_ENDPOINTS = "/v1/webhook_endpoints"
EVENT_DESTINATIONS = "/v2/core/event_destinations"
SECRET_KEYS = frozenset({"secret", "signing_secret"})
MAX_EVENTS_LISTED = 1000  # enabled_events kept per destination
MAX_V2_PAGES = 1000


def without_secrets(value: Any, depth: int = 0) -> Any:
    """`value` with every `secret` / `signing_secret` key removed, at any depth."""
    if depth > 20:
        return None
    if isinstance(value, Mapping):
        return {k: without_secrets(v, depth + 1) for k, v in value.items() if k not in SECRET_KEYS}
    if isinstance(value, list):
        return [without_secrets(v, depth + 1) for v in value]
    return value


def shown_url(url: Any, *, show_urls: bool) -> str | None:
    """The host (and port) of a URL, or the whole URL with --show-urls; never its user:pass."""
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a URL)"
    if show_urls:
        netloc = f"{host}{port}"
        return safe(parts._replace(netloc=netloc).geturl(), limit=300)
    return safe(host + port, limit=200) or "(no host)"


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(safe(v, limit=200) for v in value[:MAX_EVENTS_LISTED] if isinstance(v, str))


def _text(value: Any) -> str | None:
    return safe(value, limit=100) if isinstance(value, str) and value else None


def v1_destination(obj: Mapping[str, Any], *, show_urls: bool) -> Destination | None:
    """A webhook endpoint (v1: always snapshot events; its audience is not documented)."""
    oid = obj.get("id")
    if not isinstance(oid, str):
        return None
    return Destination(
        id=safe(oid, limit=100),
        kind="webhook_endpoint",
        status=_text(obj.get("status")) or "unknown",
        enabled_events=_strings(obj.get("enabled_events")),
        payload="snapshot",
        api_version=_text(obj.get("api_version")),
        audience=Audience.UNKNOWN,
        url=shown_url(obj.get("url"), show_urls=show_urls),
        application=_text(obj.get("application")),
    )


def v2_destination(obj: Mapping[str, Any], *, show_urls: bool) -> Destination | None:
    """An event destination (v2): its payload kind, snapshot version and `events_from`."""
    oid = obj.get("id")
    if not isinstance(oid, str):
        return None
    endpoint = obj.get("webhook_endpoint")
    url = endpoint.get("url") if isinstance(endpoint, Mapping) else None
    payload = obj.get("event_payload")
    return Destination(
        id=safe(oid, limit=100),
        kind="event_destination",
        status=_text(obj.get("status")) or "unknown",
        enabled_events=_strings(obj.get("enabled_events")),
        payload=payload if payload in ("snapshot", "thin") else "snapshot",
        api_version=_text(obj.get("snapshot_api_version")),
        audience=audience_of(obj.get("events_from")),
        url=shown_url(url, show_urls=show_urls)
        or (f"({_text(obj.get('type'))})" if obj.get("type") else None),
    )


def read_destinations(
    gateway: StripeGateway, *, show_urls: bool, notes: list[str]
) -> list[Destination]:
    """Every v1 endpoint (every page), then every v2 destination the key and version may
    read; a refusal of the v2 list is a note."""
    found: list[Destination] = []
    try:
        for page in gateway.iter_pages(WEBHOOK_ENDPOINTS, {}, endpoint=f"GET {WEBHOOK_ENDPOINTS}"):
            for obj in page:
                if isinstance(obj, Mapping):
                    d = v1_destination(without_secrets(obj), show_urls=show_urls)
                    if d is not None:
                        found.append(d)
    except RequestFailed as err:
        raise ApiError(f"GET {WEBHOOK_ENDPOINTS} failed: {err.message}") from None
    try:
        for obj in _v2_pages(gateway):
            d = v2_destination(without_secrets(obj), show_urls=show_urls)
            if d is not None:
                found.append(d)
    except (RequestFailed, AuthError, UsageError) as err:
        message = err.message if isinstance(err, RequestFailed) else str(err)
        notes.append(
            f"GET {EVENT_DESTINATIONS} was refused ({safe(message, limit=200)}): v2 event "
            "destinations (thin events) are not in this report"
        )
    return found


def _v2_pages(gateway: StripeGateway) -> Iterator[Mapping[str, Any]]:
    """The v2 list: `next_page_url` carries the next page's `page` token."""
    params: dict[str, Any] = {"limit": 20}
    for _ in range(MAX_V2_PAGES):
        body = gateway.get(EVENT_DESTINATIONS, params, endpoint=f"GET {EVENT_DESTINATIONS}")
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise RequestFailed(f"GET {EVENT_DESTINATIONS} returned something that is not a list")
        yield from (d for d in data if isinstance(d, Mapping))
        following = body.get("next_page_url")
        if not isinstance(following, str) or not following:
            return
        token = parse_qs(urlsplit(following).query).get("page")
        if not token or token[0] == params.get("page"):
            return
        params = {"limit": 20, "page": token[0]}


def read_facts(gateway: StripeGateway, notes: list[str]) -> Facts:
    """The account's default API version (its latest event's `api_version`: events are
    rendered at the default current when they were created, https://docs.stripe.com/api/
    events/object) and whose FC accounts these are (the account list on this account)."""
    default: str | None = None
    try:
        body = gateway.get("/v1/events", {"limit": 1}, endpoint="GET /v1/events")
        data = body.get("data") if isinstance(body, Mapping) else None
        if isinstance(data, list) and data and isinstance(data[0], Mapping):
            default = _text(data[0].get("api_version"))
    except RequestFailed as err:
        notes.append(f"the latest event could not be read ({safe(err.message, limit=200)})")
    owners: set[Audience] = set()
    try:
        body = gateway.get(
            "/v1/financial_connections/accounts",
            {"limit": 1},
            endpoint="GET /v1/financial_connections/accounts",
        )
        data = body.get("data") if isinstance(body, Mapping) else None
        if isinstance(data, list) and data:
            owners.add(Audience.SELF)
    except RequestFailed:
        pass
    if not owners:
        try:
            events = gateway.get(
                "/v1/events",
                {"limit": 1, "types[]": list(FC_EVENT_TYPES[:20])},
                endpoint="GET /v1/events",
            )
            if isinstance(events, Mapping) and events.get("data"):
                owners.add(Audience.SELF)
        except RequestFailed:
            pass
    return Facts(default, frozenset(owners))


def owners_from_store(path: str, own_account: str | None) -> frozenset[Audience]:
    """Whose FC accounts a `--state` store holds: the platform's when it was written for the
    account the key reads, a connected account's when for another (`--stripe-account`).
    Nothing when it is empty or unreadable. Read only, never locked: a scan may hold it."""
    import sqlite3
    from urllib.parse import quote

    try:
        db = sqlite3.connect(f"file:{quote(os.path.realpath(path))}?mode=ro", uri=True, timeout=1)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'account'").fetchone()
            count = db.execute("SELECT count(*) FROM objects").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return frozenset()
    if row is None or not count:
        return frozenset()
    account = str(row[0])
    own = account.startswith("(") or (own_account is not None and account == own_account)
    return frozenset({Audience.SELF if own else Audience.CONNECTED})
