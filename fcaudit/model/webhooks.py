"""`fcaudit webhooks`: whether the integration can hear the FC events it relies on. Pure.

Destinations are v1 webhook endpoints (GET /v1/webhook_endpoints) and v2 event destinations
(GET /v2/core/event_destinations), read by sources/webhooks.py into `Destination`s. For every
FC event type fcaudit knows (snapshot and thin), the enabled destinations that receive it;
then four findings, each naming the destination and what to change:

- not_subscribed: an FC type that no enabled destination receives.
- destination_disabled: a destination that lists FC types but is disabled.
- payload_lacks_status_details: a snapshot destination rendering events at a GA version (its
  own, or the account's default when it has none): the accounts in its events carry no
  `status_details.inactive` (the seed's warning; https://docs.stripe.com/financial-connections/
  inactive-accounts, https://docs.stripe.com/financial-connections/relink-an-account).
- wrong_audience: the FC accounts belong to the platform but every destination that receives
  an FC type takes only connected accounts' events, or the reverse. Only a v2 destination
  documents its audience (`events_from`); a v1 endpoint object does not (`connect` is given at
  creation and never returned), so fcaudit says it cannot know rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fcaudit.model.report import plural
from fcaudit.stripe.facts import FC_EVENT_TYPES, FC_THIN_EVENT_TYPES, is_preview

SCHEMA_VERSION = "1.0"


class Code(StrEnum):
    """The findings of `fcaudit webhooks`; the strings are part of the contract."""

    NOT_SUBSCRIBED = "not_subscribed"
    DESTINATION_DISABLED = "destination_disabled"
    PAYLOAD_LACKS_STATUS_DETAILS = "payload_lacks_status_details"
    WRONG_AUDIENCE = "wrong_audience"


class Audience(StrEnum):
    """Whose events a destination receives."""

    SELF = "self"  # the account that owns it (the platform)
    CONNECTED = "connected"  # the platform's connected accounts
    BOTH = "both"
    UNKNOWN = "unknown"  # a v1 endpoint: its object does not say


@dataclass(frozen=True)
class Destination:
    """One destination as the audit needs it (no secret: sources/webhooks.py drops it)."""

    id: str
    kind: str  # webhook_endpoint (v1) | event_destination (v2)
    status: str  # enabled | disabled | ...
    enabled_events: tuple[str, ...]
    payload: str  # snapshot | thin
    api_version: str | None  # the version snapshot events are rendered at; None: the default
    audience: Audience
    url: str | None  # the host, or the whole URL with --show-urls
    application: str | None = None

    @property
    def enabled(self) -> bool:
        """Stripe sends events to it."""
        return self.status == "enabled"

    def receives(self, event_type: str) -> bool:
        """The type is listed, matched by a `prefix.*` wildcard, or `*` is listed (and the
        payload kind fits: a thin type goes to thin destinations only)."""
        thin = event_type in FC_THIN_EVENT_TYPES
        if thin != (self.payload == "thin"):
            return False
        for pattern in self.enabled_events:
            if pattern in ("*", event_type):
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False

    def to_record(self) -> dict[str, Any]:
        """The destination as the report writes it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "url": self.url,
            "payload": self.payload,
            "api_version": self.api_version,
            "audience": str(self.audience),
            "application": self.application,
            "fc_event_types": [t for t in ALL_FC_TYPES if self.receives(t)],
        }


ALL_FC_TYPES: tuple[str, ...] = (*FC_EVENT_TYPES, *FC_THIN_EVENT_TYPES)


@dataclass(frozen=True)
class WebhookFinding:
    """One problem, with the destination it is about (None: no destination) and the fix."""

    code: Code
    destination: str | None
    detail: str
    fix: str
    event_types: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """The finding as the report writes it (one NDJSON line)."""
        return {
            "code": str(self.code),
            "destination": self.destination,
            "event_types": list(self.event_types),
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Facts:
    """What the audit knows beyond the destinations."""

    default_version: str | None  # the account's default API version (from its latest event)
    owners: frozenset[Audience]  # whose FC accounts: SELF, CONNECTED; empty = unknown
    notes: tuple[str, ...] = ()


@dataclass
class Audit:
    """The audit's result: destinations, coverage, findings and notes."""

    destinations: list[Destination]
    coverage: dict[str, list[str]]
    findings: list[WebhookFinding]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts by finding code (every code, zeros included)."""
        counts = {str(c): 0 for c in Code}
        for f in self.findings:
            counts[str(f.code)] += 1
        return counts

    def summary_line(self) -> str:
        """One line: the destinations and the findings by code."""
        enabled = sum(d.enabled for d in self.destinations)
        covered = sum(bool(v) for v in self.coverage.values())
        parts = [f"{n} {code}" for code, n in self.summary().items() if n]
        found = ", ".join(parts) if parts else "no findings"
        return (
            f"{len(self.destinations)} destinations ({enabled} enabled); "
            f"{covered} of {len(self.coverage)} FC event types received; {found}"
        )


def audit(destinations: Sequence[Destination], facts: Facts) -> Audit:
    """The four findings for these destinations."""
    enabled = [d for d in destinations if d.enabled]
    coverage = {t: [d.id for d in enabled if d.receives(t)] for t in ALL_FC_TYPES}
    findings: list[WebhookFinding] = []
    notes = list(facts.notes)
    missing = [t for t, ids in coverage.items() if not ids]
    for event_type in missing:
        thin = event_type in FC_THIN_EVENT_TYPES
        findings.append(
            WebhookFinding(
                Code.NOT_SUBSCRIBED,
                None,
                f"no enabled destination receives {event_type}",
                (
                    "add it to a thin event destination's enabled_events (or create one with "
                    "event_payload=thin)"
                    if thin
                    else "add it (or financial_connections.account.* / .authorization.*) to an "
                    "enabled destination's enabled_events, or create a webhook endpoint for it"
                ),
                (event_type,),
            )
        )
    for d in destinations:
        fc = tuple(t for t in ALL_FC_TYPES if d.receives(t))
        if not d.enabled and fc:
            findings.append(
                WebhookFinding(
                    Code.DESTINATION_DISABLED,
                    d.id,
                    f"{d.kind} {d.id} lists {plural(len(fc), 'FC event type')} but is {d.status}",
                    "enable it in the Dashboard (Developers > Webhooks), or delete it if "
                    "another destination replaces it",
                    fc,
                )
            )
    findings.extend(_versions(enabled, facts, notes))
    findings.extend(_audience(enabled, facts, notes))
    return Audit(list(destinations), coverage, findings, notes)


def _versions(
    enabled: Iterable[Destination], facts: Facts, notes: list[str]
) -> Iterator[WebhookFinding]:
    for d in enabled:
        snapshot_fc = tuple(t for t in FC_EVENT_TYPES if d.receives(t))
        if d.payload != "snapshot" or not snapshot_fc:
            continue
        version = d.api_version or facts.default_version
        whose = "its api_version" if d.api_version else "the account's default API version"
        if version is None:
            notes.append(
                f"{d.id} has no api_version of its own and the account's default is not known "
                "(no recent event to read it from): whether its FC events carry "
                "status_details.inactive cannot be told"
            )
            continue
        if is_preview(version):
            continue
        yield WebhookFinding(
            Code.PAYLOAD_LACKS_STATUS_DETAILS,
            d.id,
            f"{d.kind} {d.id} renders its events at {whose} {version}, not a preview "
            "version: inactive accounts in its events have no status_details.inactive (no "
            "cause, no action)",
            "create a destination at the newest preview version (e.g. 2026-09-30.preview) for "
            "the FC event types, then disable this one for them (an endpoint's api_version "
            "cannot be changed after it is created)",
            snapshot_fc,
        )


def _audience(
    enabled: Sequence[Destination], facts: Facts, notes: list[str]
) -> Iterator[WebhookFinding]:
    receiving = [d for d in enabled if any(d.receives(t) for t in ALL_FC_TYPES)]
    if not receiving:
        return
    if not facts.owners:
        notes.append(
            "whose FC accounts these are (the platform's or connected accounts') is not known: "
            "wrong_audience was not checked"
        )
        return
    unknown = [d.id for d in receiving if d.audience is Audience.UNKNOWN]
    hears = {a for d in receiving for a in _covers(d.audience)}
    for owner in sorted(facts.owners):
        if owner in hears:
            continue
        if unknown:
            notes.append(
                f"the FC accounts belong to {_whose(owner)}; whether {', '.join(unknown)} "
                "receives their events cannot be known (a v1 webhook endpoint does not say "
                "whether it was created with connect=true)"
            )
            continue
        for d in receiving:
            yield WebhookFinding(
                Code.WRONG_AUDIENCE,
                d.id,
                f"the FC accounts belong to {_whose(owner)}, and {d.id} receives only "
                f"{_whose(_other(owner))}' events (events_from)",
                f"add {'self' if owner is Audience.SELF else 'other_accounts'} to events_from, "
                "or create a destination for those events",
                tuple(t for t in ALL_FC_TYPES if d.receives(t)),
            )


def _covers(audience: Audience) -> tuple[Audience, ...]:
    if audience is Audience.BOTH:
        return (Audience.SELF, Audience.CONNECTED)
    return (audience,)


def _other(owner: Audience) -> Audience:
    return Audience.CONNECTED if owner is Audience.SELF else Audience.SELF


def _whose(owner: Audience) -> str:
    return "the platform" if owner is Audience.SELF else "connected accounts"


def audience_of(events_from: Any) -> Audience:
    """A v2 destination's audience from `events_from` (`@self`/`self`, `other_accounts`/
    `@accounts`; https://docs.stripe.com/api/v2/core/event-destinations/object). Stripe's
    default is the owning account."""
    values = {str(v).lstrip("@") for v in events_from} if isinstance(events_from, list) else set()
    self_ = bool(values & {"self"}) or not values
    others = bool(values & {"other_accounts", "accounts"})
    if self_ and others:
        return Audience.BOTH
    return Audience.CONNECTED if others else Audience.SELF
