"""Stages: between classification and the sinks, each sees every finding and the end of the
run, and may hold, drop or add findings (the Stage protocol below). The runner always ends
with Tally."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from fcaudit.classify import relink_advice_for
from fcaudit.model.ages import time_to_repair
from fcaudit.model.findings import SEVERITY, Category, Change, Finding, iso
from fcaudit.model.report import Group, GroupBy, ScanResult, group_key
from fcaudit.model.saved import BaselineInfo, Prior, discovery_mode, exact_since
from fcaudit.policy import Policy
from fcaudit.spill import DiskMap, PairCount, SortedSpill
from fcaudit.stripe.ids import ACCOUNT_OBJECT
from fcaudit.suppress import Entry


class Stage(Protocol):
    """Between classification and the sinks: sees each finding, then the end of the run.

    A finding belongs to the run that classified it, and stages complete it in place (its
    change, suppression): no sink has seen it yet, and a copy of each finding per stage cost
    as much as classifying it."""

    def finding(self, finding: Finding) -> Iterable[Finding]:
        """See one finding; return what passes on (it, nothing while held, or more)."""

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        """The run is over: return the findings still held, in order."""


class Tally:
    """The summary counters (by category, object type, institution, signal, change), and
    the findings that match the exit policy."""

    def __init__(self, result: ScanResult, policy: Policy) -> None:
        self._result = result
        self._policy = policy

    def finding(self, finding: Finding) -> Iterable[Finding]:
        """Count the finding, and whether it matches the exit policy."""
        self._result.count(finding)
        if self._policy.matches(finding):
            self._result.matched += 1
        return (finding,)

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        """Nothing is held."""
        return ()


def _event_order(f: Finding) -> tuple[float, str]:
    when = f.event_created.timestamp() if f.event_created is not None else float("-inf")
    return (when, f.event_id or "")


class LatestSnapshot:
    """Event streams: report each object once, as its latest event shows it (by `created`,
    ties by event id). Objects that did not come from an event pass straight through."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], Finding] = {}

    def finding(self, finding: Finding) -> Iterable[Finding]:
        """Hold an event snapshot until the run ends; pass anything else on."""
        if finding.event_type is None and finding.event_created is None:
            return (finding,)
        key = (finding.object, finding.id)
        held = self._latest.get(key)
        if held is None or _event_order(finding) >= _event_order(held):
            self._latest[key] = finding
        return ()

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        """The latest snapshot of each object, in event order."""
        return sorted(self._latest.values(), key=_event_order)


class RelinkCount:
    """relink_required accounts name the authorization to relink and how many of the scanned
    accounts that one relink repairs, which is known only once every account has been seen:
    they are held until the end of the run (NDJSON writes them last). Held in a spill, in the
    order they came: beyond a few hundred, on disk (a tenth of a million-account fleet would
    not fit in memory)."""

    def __init__(self) -> None:
        self._held: SortedSpill[Finding] = SortedSpill(item_bytes=3000)
        # Distinct accounts per authorization (fcaudit events reports an account once per
        # event).
        self._accounts = PairCount()

    def finding(self, finding: Finding) -> Iterable[Finding]:
        """Hold relink_required accounts until every account of their authorization is known."""
        if (
            finding.category is Category.RELINK_REQUIRED
            and finding.object == ACCOUNT_OBJECT
            and finding.authorization
        ):
            self._accounts.add(finding.authorization, finding.id)
            self._held.add(0, finding)  # one key: the order they came
            return ()
        return (finding,)

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        """The held findings, their advice naming how many accounts one relink repairs."""
        held = iter(self._held)
        try:
            # A few hundred at a time: their authorizations' counts in one lookup.
            while chunk := list(itertools.islice(held, 512)):
                counts = self._accounts.counts(f.authorization or "" for f in chunk)
                for f in chunk:
                    # Nothing else holds it (a sink sees it only now): completed in place.
                    f.recommendation = relink_advice_for(f, counts.get(f.authorization or "", 0))
                    yield f
        finally:
            self._held.close()
            self._accounts.close()


class _Acc:
    """What a group has seen so far (its rows come one group at a time, in the order they
    came)."""

    __slots__ = ("accounts", "auth_ids", "deadline", "ids", "relink", "since", "worst")

    def __init__(self) -> None:
        self.worst = Category.ACTIVE
        self.deadline: datetime | None = None
        self.since: datetime | None = None  # the oldest since of what is not active
        self.accounts = 0
        self.ids: list[tuple[tuple[int, float, float, str], str]] = []
        self.auth_ids: dict[str, None] = {}
        self.relink: Counter[str] = Counter()

    def add(self, row: _Row) -> None:
        """One finding of the group."""
        _, sort_key, oid, suppressed, category, deadline, is_account, auth = row[:8]
        self.ids.append((sort_key, oid))
        if suppressed:
            return  # set aside: listed with the group, but it sets no priority
        if SEVERITY[category] < SEVERITY[self.worst]:
            self.worst = category
        later = self.deadline is not None and deadline is not None and deadline >= self.deadline
        if category is not Category.ACTIVE and deadline is not None and not later:
            self.deadline = deadline
        since = row[11]
        older = self.since is None or (since is not None and since < self.since)
        if category is not Category.ACTIVE and since is not None and older:
            self.since = since
        if is_account:
            self.accounts += 1
            if category is Category.RELINK_REQUIRED and auth:
                self.relink[auth] += 1
        if auth:
            self.auth_ids[auth] = None


# What grouping keeps of a finding: key, sort key, id, suppressed, category, deadline, is an
# account, authorization; then holder type, Dashboard link and Stripe account (of the first);
# then since (--state).
_Row = tuple[
    str,
    tuple[int, float, float, str],
    str,
    bool,
    Category,
    "datetime | None",
    bool,
    "str | None",
    "str | None",
    "str | None",
    "str | None",
    "datetime | None",
]


class Grouping:
    """Collects findings under their group (customer, authorization or institution) for the
    worklist: worst category, earliest deadline, accounts, and the authorizations whose one
    relink repairs several accounts. Only groups with a finding that is not active are kept,
    most urgent first, then by deadline.

    Flat memory: what each finding adds to its group is spilled to disk by group key, and at
    the end the groups are built one at a time and spilled again in the worklist's order
    (`result.groups` reads them back). Only the largest group's finding ids are in memory."""

    def __init__(self, by: GroupBy) -> None:
        self._by = by
        self._rows: SortedSpill[_Row] = SortedSpill(item_bytes=800)

    def finding(self, finding: Finding) -> Iterable[Finding]:
        """Add what the finding says about its group."""
        key = group_key(finding, self._by)
        if key is None:
            return (finding,)
        is_account = finding.object == ACCOUNT_OBJECT
        row: _Row = (
            key,
            finding.sort_key(),
            finding.id,
            finding.suppressed is not None,
            finding.category,
            finding.deadline,
            is_account,
            finding.authorization if is_account else finding.id,
            finding.account_holder_type,
            finding.dashboard_url,
            finding.stripe_account,
            finding.since,
        )
        self._rows.add(key, row)
        return (finding,)

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        """Build the run's groups (the worklist), most urgent first."""
        result.group_by = self._by
        groups: SortedSpill[Group] = SortedSpill(item_bytes=1000)
        customer = self._by is GroupBy.CUSTOMER
        try:
            for key, rows in itertools.groupby(self._rows, key=lambda row: row[0]):
                acc, first = _Acc(), None
                for row in rows:
                    first = first or row
                    acc.add(row)
                if acc.worst is Category.ACTIVE or first is None:
                    continue
                group = Group(
                    key=key,
                    by=self._by,
                    holder_type=first[8] if customer else None,
                    worst=acc.worst,
                    deadline=acc.deadline,
                    accounts=acc.accounts,
                    finding_ids=tuple(i for _, i in sorted(acc.ids)),  # as findings[] sorts
                    authorizations=tuple(acc.auth_ids),
                    relink_authorizations=tuple(sorted(a for a, n in acc.relink.items() if n > 1)),
                    dashboard_url=first[9] if customer else None,
                    contact=result.contacts.get(key) if result.contact else None,
                    stripe_account=first[10] if customer else None,
                    since=acc.since,
                )
                ids = len(group.finding_ids) + len(group.authorizations)
                groups.add(group.sort_key(), group, size=600 + 100 * ids)
        finally:
            self._rows.close()
        result.groups = groups
        return ()


def compare(old: Finding | Prior | None, new: Finding) -> Change:
    """How `new` compares with the same object in the baseline."""
    if old is None or old.category is Category.ACTIVE:
        return Change.SAME if old is not None and new.category is Category.ACTIVE else Change.NEW
    if new.category is Category.ACTIVE:
        return Change.BETTER  # fixed; also listed in resolved[]
    if SEVERITY[new.category] != SEVERITY[old.category]:
        return Change.WORSE if SEVERITY[new.category] < SEVERITY[old.category] else Change.BETTER
    before, now = old.deadline, new.deadline
    if before is None or now is None:
        return Change.SAME if before is now else (Change.WORSE if now else Change.BETTER)
    if now.date() == before.date():
        return Change.SAME
    return Change.WORSE if now.date() < before.date() else Change.BETTER


class BaselineDiff:
    """--baseline / fcaudit diff: each finding gets `change`; at the end, baseline findings
    that are now active or gone are `resolved`. "Gone" is only said when this run is complete
    and covers the baseline's scope: otherwise an object not seen may simply not be scanned."""

    def __init__(self, baseline: BaselineInfo, now: datetime) -> None:
        self._info = baseline
        self._old = baseline.report.prior_findings()
        self._at = now  # the run's time: when a repair without a dated `since` was seen
        # Only what resolved[] needs: the category now of what needed attention before, and
        # since when. Both on disk: a --state store's previous run may hold a million objects.
        self._now: DiskMap[tuple[Category, datetime | None]] = DiskMap()

    def finding(self, finding: Finding) -> Iterable[Finding]:
        """Mark the finding new, worse, same or better than in the baseline."""
        old = self._old.get(finding.id)
        if old is not None and old.category is not Category.ACTIVE:
            self._now[finding.id] = (finding.category, exact_since(finding))
        finding.change = compare(old, finding)
        return (finding,)

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        """Record what the baseline had that this run no longer reports (resolved[])."""
        mode_before = discovery_mode(self._info.report.envelope.get("scope") or {})
        mode_now = discovery_mode(result.scope_learned)
        other_mode = mode_before is not None and mode_now is not None and mode_before != mode_now
        comparable = self._info.comparable and not other_mode
        gone_known = result.complete and comparable
        resolved = []
        for oid, old in self._old.items():  # in id order
            if old.category is Category.ACTIVE:
                continue
            seen = self._now.get(oid)
            now, since = seen if seen is not None else (None, None)
            if now is Category.ACTIVE or (now is None and gone_known):
                repaired = since or self._at
                resolved.append(
                    {
                        "id": oid,
                        "object": old.object,
                        "old_category": str(old.category),
                        "new_category": str(now) if now is not None else "gone",
                        # 1.2: since when it was broken (when known exactly), when it was
                        # seen repaired, and the seconds between.
                        "broken_since": iso(old.since) if old.since is not None else None,
                        "repaired_at": iso(repaired),
                        "time_to_repair": time_to_repair(old.since, repaired),
                    }
                )
        result.resolved = resolved
        warnings = list(self._info.warnings)
        if other_mode:
            warnings.append(
                f"the baseline found its accounts with --discovery {mode_before}, this run "
                f"with {mode_now}"
            )
        if not gone_known:
            warnings.append(
                "objects missing from this run are not listed as gone: "
                + ("the run is incomplete" if not result.complete else "the scopes differ")
            )
        result.baseline = {**self._info.record(), "comparable": comparable, "warnings": warnings}
        return ()


class Suppress:
    """--ignore: set aside what an operator already handles (fcaudit/suppress.py)."""

    def __init__(self, entries: Sequence[Entry], today: date) -> None:
        self._live = [e for e in entries if not e.expired(today)]
        self._expired = [e for e in entries if e.expired(today)]
        self._matched: set[int] = set()

    def finding(self, finding: Finding) -> Iterable[Finding]:
        """Mark the finding suppressed when an --ignore entry covers it."""
        for i, entry in enumerate(self._live):
            if entry.applies_to(finding):
                self._matched.add(i)
                finding.suppressed = entry.suppression
                return (finding,)
        return (finding,)

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        """Record the expired and the unused --ignore entries in the result."""
        result.expired_suppressions = [e.to_record() for e in self._expired]
        result.unmatched_suppressions = [
            e.to_record() for i, e in enumerate(self._live) if i not in self._matched
        ]
        return ()
