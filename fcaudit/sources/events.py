"""`fcaudit events`: the events source, and the parsing of its flags.

The source pages `GET /v1/events` (the FC event types, `created[gte]`, optionally Stripe's
`delivery_success=false`) through the gateway's event reader and emits one `Observed` per
event, carrying its `EventRef` (type, created, id, pending_webhooks, and whether it is
undelivered: a webhook endpoint has not acknowledged it within the grace period). Events
about other objects are skipped and counted. With `verify`, each object the events name is
then retrieved once, through the scan's worker pool, and emitted as it is now (no event).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from fcaudit.classify import NotClassifiable
from fcaudit.errors import UsageError
from fcaudit.model.findings import EventRef, iso, parse_iso
from fcaudit.model.report import Scope, ScopeError, ScopeType
from fcaudit.options import DEFAULT_CONCURRENCY, DURATION, parse_duration
from fcaudit.sources.base import Emit, Observed, SourceOutcome, budget_error
from fcaudit.sources.files import FC_OBJECTS
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.facts import (
    EVENT_RETENTION_DAYS,
    FC_EVENT_TYPES,
    FC_THIN_EVENT_TYPES,
    MAX_EVENT_TYPES,
)
from fcaudit.stripe.failures import Cancelled, RequestFailed, tip
from fcaudit.stripe.gateway import Page, StripeGateway
from fcaudit.stripe.ids import ACCOUNT_OBJECT, is_stripe_id
from fcaudit.stripe.redact import clean, key_mode
from fcaudit.text import safe

# `--type` may name these (a `*` wildcard is matched against them); any other exact
# financial_connections.* name is passed on as given (Stripe adds types over time).
KNOWN_TYPES = (
    *FC_EVENT_TYPES,
    "financial_connections.session.updated",
    *FC_THIN_EVENT_TYPES,
)
_EVENT_TYPE = re.compile(r"(v1\.)?financial_connections\.[a-z0-9_]+\.[a-z0-9_]+")


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: a duration back from `now`, or a date (midnight UTC) or ISO 8601 time; at
    most 30 days back, since Stripe lists the events of the last 30 days only
    (https://docs.stripe.com/api/events/list)."""
    value = text.strip()
    if DURATION.match(value.lower()):
        since = now - parse_duration(value, "--since")
    else:
        try:
            since = parse_iso(value)
        except ValueError:
            raise UsageError(
                f"--since {safe(text)!r} is neither a duration nor a date. Tip: 7d, 36h, "
                "2026-11-01 or 2026-11-01T09:00:00Z."
            ) from None
    oldest = now - timedelta(days=EVENT_RETENTION_DAYS)
    if since < oldest:
        raise UsageError(
            f"--since {safe(text)} reaches back before {iso(oldest)}: Stripe keeps events for "
            f"{EVENT_RETENTION_DAYS} days only. Tip: --since {EVENT_RETENTION_DAYS}d at most "
            "(older history: fcaudit scan shows the current state)."
        )
    if since > now:
        raise UsageError(f"--since {safe(text)} is after now ({iso(now)}). Tip: e.g. --since 7d.")
    return since


def select_types(values: Sequence[str]) -> tuple[str, ...]:
    """`--type` values (repeatable, or comma lists): exact names, or `*` patterns matched
    against the known FC types; none given: every FC account and authorization type."""
    words = [w.strip() for v in values for w in v.split(",") if w.strip()]
    if not words:
        return FC_EVENT_TYPES
    chosen: list[str] = []
    for word in words:
        if "*" in word:
            pattern = re.compile(".*".join(re.escape(p) for p in word.split("*")))
            matched = [t for t in KNOWN_TYPES if pattern.fullmatch(t)]
            if not matched:
                raise UsageError(
                    f"--type {safe(word)!r} matches no Financial Connections event type. Tip: "
                    "e.g. 'financial_connections.account.*'."
                )
            chosen += matched
        elif word in KNOWN_TYPES or _EVENT_TYPE.fullmatch(word):
            chosen.append(word)
        else:
            raise UsageError(
                f"--type {safe(word)!r} is not a Financial Connections event type. Tip: e.g. "
                "financial_connections.account.deactivated, or 'financial_connections.account.*'."
            )
    unique = tuple(dict.fromkeys(chosen))
    if len(unique) > MAX_EVENT_TYPES:
        raise UsageError(
            f"--type names {len(unique)} event types; Stripe filters by at most "
            f"{MAX_EVENT_TYPES} at a time. Tip: run fcaudit events once per group of types."
        )
    return unique


@dataclass(frozen=True)
class EventQuery:
    """What `fcaudit events` asks for."""

    types: tuple[str, ...]
    since: datetime
    now: datetime  # --as-of: the age of an event (for --grace) is counted from here
    grace: timedelta
    undelivered_only: bool = False
    verify: bool = False
    verify_authorizations: bool = True  # a GA version has no Authorization endpoint

    def undelivered(self, ref: EventRef) -> bool | None:
        """A webhook endpoint has not acknowledged the event (pending_webhooks > 0), and it
        is at least `grace` old: Stripe's own retries did not deliver it. None: the event
        does not say."""
        if ref.pending_webhooks is None or ref.created is None:
            return None
        return ref.pending_webhooks > 0 and self.now - ref.created >= self.grace


class EventSource:
    """A source: the events of a period, then (with verify) the current state of each
    object they name."""

    def __init__(
        self, gateway: StripeGateway, query: EventQuery, *, concurrency: int = DEFAULT_CONCURRENCY
    ):
        self.gateway = gateway
        self.query = query
        self.stripe_version: str | None = gateway.settings.stripe_version
        self.mode: str | None = key_mode(gateway.settings.api_key)
        self._concurrency = concurrency
        self._named: dict[tuple[str, str], None] = {}  # (object, id), in order of appearance
        self._seen: set[str] = set()  # event ids: one listed twice is reported once
        self._duration = 0.0

    def stats(self) -> Mapping[str, Any]:
        """The gateway's request counters and the run's duration, for the report's `stats`."""
        return {**self.gateway.stats.snapshot(), "duration_seconds": round(self._duration, 3)}

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        """An event whose object cannot be classified: an errors[] entry naming the event."""
        oid = item.obj.get("id")
        return ScopeError(
            Scope(ScopeType.ACCOUNT, oid if is_stripe_id(oid) else None),
            f"{item.where}: {clean(error, self.gateway.settings.api_key)}",
            item.request_id,
        )

    def run(self, emit: Emit) -> SourceOutcome:
        """List the events of the window (and, with --verify, retrieve what they name) and emit each
        snapshot."""
        outcome = SourceOutcome()
        started = self.gateway.clock()
        try:
            self._list(emit, outcome)
            if self.query.verify:
                self._verify(emit, outcome)
        except (KeyboardInterrupt, Cancelled):
            self.gateway.cancelled.set()
            if self.gateway.budget_spent:  # --max-requests: an incomplete run, not a stop
                limit = self.gateway.settings.max_requests
                rest = "the rest of the event listing (and, with --verify, the objects it names)"
                outcome.errors.append(budget_error(limit, [], Scope(ScopeType.EVENTS), rest))
            else:
                outcome.interrupted = True  # what was emitted is still written
        finally:
            self._duration = self.gateway.clock() - started
        return outcome

    # -- the listing --------------------------------------------------------------------------

    def _list(self, emit: Emit, outcome: SourceOutcome) -> None:
        q = self.query
        pages = self.gateway.iter_event_pages(
            q.types,
            created_gte=int(q.since.timestamp()),
            delivery_success=False if q.undelivered_only else None,
        )
        try:
            for number, page in enumerate(pages, start=1):
                for position, event in enumerate(page, start=1):
                    self._event(emit, outcome, event, f"page {number}, item {position}", page)
        except RequestFailed as err:  # also PaginationError: the pages before it are kept
            outcome.errors.append(
                ScopeError(
                    Scope(ScopeType.EVENTS),
                    f"listing events: {err.message}",
                    err.request_id,
                    err.http_status,
                    err.code,
                    err.attempts,
                    tip(err),
                )
            )

    def _event(
        self, emit: Emit, outcome: SourceOutcome, event: Any, where: str, page: Page
    ) -> None:
        eid = event.get("id") if isinstance(event, dict) else None
        data = event.get("data") if isinstance(event, dict) else None
        obj = data.get("object") if isinstance(data, dict) else None
        problem = None
        if not isinstance(event, dict):
            problem = "not an event"
        elif not is_stripe_id(eid, id_kinds.EVENT.prefix) or event.get("object") != "event":
            problem = "an event without a valid id"
        elif not isinstance(obj, dict):
            problem = f"event {eid} without data.object"
        if problem is not None:
            outcome.errors.append(
                ScopeError(
                    Scope(ScopeType.EVENTS),
                    f"listing events: {where} is {problem}; skipped",
                    page.request_id,
                )
            )
            return
        assert isinstance(eid, str) and isinstance(obj, dict)
        if eid in self._seen:
            return  # listed twice by a misbehaving server: reported once
        self._seen.add(eid)
        kind = obj.get("object")
        if kind not in FC_OBJECTS:
            outcome.events_skipped += 1  # financial_connections.session.updated, ...
            return
        ref = EventRef.of(event)
        undelivered = self.query.undelivered(ref)
        if self.query.undelivered_only and not undelivered:
            return  # pending, but younger than --grace: Stripe may still deliver it
        version = event.get("api_version")
        emit(
            Observed(
                obj,
                f"event {eid}",
                version if isinstance(version, str) else None,  # its data.object's version
                request_id=page.request_id,
                event=replace(ref, undelivered=undelivered),
            )
        )
        oid = obj.get("id")
        if is_stripe_id(oid, id_kinds.BY_OBJECT[str(kind)].prefix):
            self._named[(str(kind), str(oid))] = None

    # -- --verify -----------------------------------------------------------------------------

    def _verify(self, emit: Emit, outcome: SourceOutcome) -> None:
        """Each object the events named, retrieved once as it is now: the scan's pool,
        retries, rate budget and errors[] (a failed retrieval is that object's entry)."""
        from fcaudit.sources.scan import Scanner

        scopes = [
            Scope(ScopeType.ACCOUNT if kind == ACCOUNT_OBJECT else ScopeType.AUTHORIZATION, oid)
            for kind, oid in self._named
            if kind == ACCOUNT_OBJECT or self.query.verify_authorizations
        ]
        if not scopes:
            return
        found = Scanner(self.gateway, scopes, concurrency=self._concurrency).run(emit)
        outcome.errors.extend(found.errors)
        outcome.interrupted = outcome.interrupted or found.interrupted
