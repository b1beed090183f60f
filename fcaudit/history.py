"""Health over time: since when each finding is in its category (`since`, `days_in_category`),
the changes a --state run records, and how long a repair took.

The `Since` stage runs first in a --state run: it compares each finding's category with the
one the store holds. The same category keeps the stored `since`; another one is a change,
dated by the latest event that named the object in this run (its `created`), else by the
run's own time; an object the store never classified (the first run, or a store of an older
format) is `first_seen`, and its `since` is only a lower bound. Changes are spilled to disk
and written by the store's commit in one pass (`StateStore.commit_run`), so memory stays flat
and only what changed is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fcaudit.classify import DEFAULT_STALE_AFTER, stale_signal
from fcaudit.model.ages import days_between, record_of_since
from fcaudit.model.findings import (
    BROKEN,
    Category,
    Finding,
    Signal,
    SignalCode,
    iso,
    parse_iso,
)
from fcaudit.model.trend import trend
from fcaudit.stripe.ids import ACCOUNT_OBJECT, AUTHORIZATION_OBJECT

if TYPE_CHECKING:
    from fcaudit.model.report import ScanResult
    from fcaudit.sources.state import Change, StateStore
    from fcaudit.spill import SortedSpill

# refresh_failing: this many failed attempts of a subscribed refresh in a row (--state).
FAILING_AFTER = 3

# Events that say when an object's status changed; a refresh event does not date a change.
DATING_EVENTS = frozenset(
    {
        "financial_connections.account.created",
        "financial_connections.account.deactivated",
        "financial_connections.account.disconnected",
        "financial_connections.account.reactivated",
        "financial_connections.account.account_numbers_updated",
        "financial_connections.account.expected_deactivation_date_updated",
        "financial_connections.account.upcoming_account_number_expiry",
        "financial_connections.account.upcoming_deactivation",
        "financial_connections.authorization.expected_deactivation_date_updated",
        "financial_connections.authorization.upcoming_deactivation",
    }
)


class Since:
    """The --state run's first stage: `since`, `days_in_category` and `since_source` on each
    finding, and the changes the store's commit writes (`changes`)."""

    def __init__(
        self,
        store: StateStore,
        now: datetime,
        *,
        full: bool,
        dating: Callable[[str], tuple[int, str] | None] = lambda oid: None,
        young: Callable[[str], tuple[int, str, str, str | None] | None] = lambda oid: None,
        min_age: timedelta | None = None,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        trend_days: int = 0,
    ) -> None:
        from fcaudit.spill import SortedSpill

        self._store = store
        self._now = now
        self._run = "run:full" if full else "run:incremental"
        self._dating = dating  # the latest dating event of an object read by this run
        self._young = young  # a young store: when the events say its category began
        self._first = store.header() is None
        self._min_age = min_age
        self._stale_after = stale_after
        self._trend_days = trend_days
        # Both by id: the store's commit then updates its rows in index order. In the order a
        # full run lists them (by holder), a million updates would each land on another page
        # of a store far larger than SQLite's cache.
        self.refreshes: SortedSpill[tuple[str, str]] = SortedSpill(item_bytes=250)
        self.changes: SortedSpill[Change] = SortedSpill(item_bytes=350)
        started = record_of_since(store.history_started())
        self.started = iso(started or now)

    def finding(self, finding: Finding) -> Iterable[Finding]:
        """Date the finding's category from the store; spill what changed."""
        if finding.object not in (ACCOUNT_OBJECT, AUTHORIZATION_OBJECT):
            return (finding,)
        stored = self._store.category_of(finding.id)
        category = str(finding.category)
        if stored is not None and stored[0] == category and stored[1]:
            finding.since = parse_iso(stored[1])
            finding.since_source = stored[2] or "run"
        else:
            self._change(finding, stored)
        if finding.refreshes:
            self._refreshes(finding, stored[3] if stored is not None else None)
        if finding.since is not None:
            finding.days_in_category = days_between(finding.since, self._now)
        if self._min_age is not None:
            # Newly broken (a change this store saw, not a first sight) and not for long yet:
            # listed, but not counted for --fail-on / --fail-on-change (policy.Policy).
            finding.pending = (
                finding.category in BROKEN
                and finding.since_source in ("event", "run")
                and finding.since is not None
                and self._now - finding.since < self._min_age
            )
        return (finding,)

    def _change(self, finding: Finding, stored: tuple[str | None, ...] | None) -> None:
        from fcaudit.sources.state import Change, Transition

        before = stored[0] if stored is not None else None
        first_seen = before is None and (self._first or stored is not None)
        at, source, how = self._now, self._run, "run"
        young = self._young(finding.id) if first_seen else None
        if young is not None and young[2] == str(finding.category):
            # Dated by the events of the last 30 days: the change into this category.
            created, event_id, _, before = young
            at = min(datetime.fromtimestamp(created, tz=UTC), self._now)
            source, how, first_seen = f"event:{event_id}", "event", False
        elif first_seen:
            how = "first_seen"
        else:
            dated = self._dating(finding.id)
            if dated is not None:
                created, event_id = dated
                when = datetime.fromtimestamp(created, tz=UTC)
                floor = parse_iso(stored[1]) if stored is not None and stored[1] else None
                if when <= self._now and (floor is None or when >= floor):
                    at, source, how = when, f"event:{event_id}", "event"
        finding.since, finding.since_source = at, how
        transition = None
        if not (first_seen and finding.category is Category.ACTIVE):
            transition = Transition(
                finding.id,
                finding.object,
                finding.account_holder,
                before,
                str(finding.category),
                at,
                source,
            )
        change = Change(finding.id, str(finding.category), iso(at), how, transition)
        self.changes.add(finding.id, change)

    def _refreshes(self, finding: Finding, stored: str | None) -> None:
        """Count each subscribed refresh's failures in a row and keep its last success (an
        attempt is counted once: by its last_attempted_at); signal refresh_failing after
        FAILING_AFTER failures in a row, and refresh_stale when the last success the store
        saw is older than --stale-after although the account is active."""
        try:
            known = json.loads(stored) if stored else {}
        except ValueError:
            known = {}
        known = known if isinstance(known, dict) else {}
        now = dict(known)
        for field, status, at in finding.refreshes:
            entry = known.get(field)
            was: dict[str, Any] = entry if isinstance(entry, dict) else {}
            ok, fails, seen = was.get("ok"), was.get("fails") or 0, was.get("seen")
            if at is not None and at != seen:
                if status == "succeeded":
                    ok, fails = at, 0
                elif status == "failed":
                    fails += 1
                seen = at
            now[field] = {"ok": ok, "fails": fails, "seen": seen}
        if now != known:
            self.refreshes.add(finding.id, (json.dumps(now, sort_keys=True), finding.id))
        signals = list(finding.signals)
        failing = sorted(f for f, r in now.items() if (r.get("fails") or 0) >= FAILING_AFTER)
        if failing:
            names = ", ".join(failing)
            signals.append(
                Signal(
                    SignalCode.REFRESH_FAILING,
                    f"the last {FAILING_AFTER} or more {names} attempts failed (--state)",
                )
            )
        limit = self._now.timestamp() - self._stale_after.total_seconds()
        stale = [(r["ok"], f) for f, r in now.items() if isinstance(r.get("ok"), int)]
        stale = [(ok, f) for ok, f in stale if ok < limit]
        has_stale = any(s.code is SignalCode.REFRESH_STALE for s in signals)
        if stale and not has_stale and finding.status == "active":
            signals.append(stale_signal(stale, " (--state)"))
        finding.signals = tuple(signals)

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        """Say where the run's history comes from."""
        result.history = {"available": True, "reason": None, "started": self.started}
        if self._trend_days:  # an HTML report draws broken accounts per day
            started = parse_iso(self.started)
            changes = self._store.account_changes()
            result.trend = trend(changes, as_of=self._now, days=self._trend_days, started=started)
        return ()
