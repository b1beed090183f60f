"""Incremental runs from a state store (`fcaudit scan --state FILE`).

A full run discovers every account as a plain scan does and records the inventory. The next
run reads only the FC events since the store's cursor, fetches each object an event names
(once), lists the accounts of holders that linked new ones
(`financial_connections.account.created`), and reclassifies the whole stored inventory as of
now: time-based categories such as `expiring` move without a request. A full run happens
instead when there is no state, the cursor is older than Stripe keeps events (30 days),
`--full` is given, or `--reconcile-every` has passed since the last full run; it reconciles
the store (objects no longer listed are dropped, and reported as gone).

The previous run is the baseline (`change`, `resolved`), unless `--baseline` names another.
The store is written only after a complete run, in one transaction: an incomplete or
interrupted run never advances the cursor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fcaudit.classify import DEFAULT_STALE_AFTER, NotClassifiable, classify
from fcaudit.history import DATING_EVENTS, Since
from fcaudit.model.ages import record_of_since
from fcaudit.model.findings import iso
from fcaudit.model.report import ScanResult, Scope, ScopeError, ScopeType, plural
from fcaudit.model.saved import Prior, SavedReport
from fcaudit.options import DEFAULT_RECONCILE
from fcaudit.sources import journal
from fcaudit.sources.base import Emit, Observed, SourceOutcome, budget_error
from fcaudit.sources.listing import account_filter
from fcaudit.sources.state import Change, Header, Identity, StateStore
from fcaudit.sources.stored import StoredRow, holder_of
from fcaudit.spill import DiskMap, SortedSpill
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.facts import EVENT_RETENTION_DAYS, FC_EVENT_TYPES
from fcaudit.stripe.failures import BudgetSpent, Cancelled, RequestFailed
from fcaudit.stripe.ids import ACCOUNT_OBJECT, AUTHORIZATION_OBJECT, is_stripe_id, kind_of
from fcaudit.stripe.redact import key_mode

if TYPE_CHECKING:
    from fcaudit.runner import Plan
    from fcaudit.sources.base import Source
    from fcaudit.stripe.gateway import StripeGateway

TREND_DAYS = 30  # the HTML report's chart of broken accounts per day
# Events can become visible a little after their `created` time: the next run reads again
# from this far before the start of this one (re-reading an event only re-fetches its object).
MARGIN_SECONDS = 300


@dataclass(frozen=True)
class StateOptions:
    """`--state FILE`, `--full`, `--reconcile-every` and `--state-wait`: how an incremental
    run uses its store."""

    path: str
    full: bool = False
    reconcile_every: timedelta = DEFAULT_RECONCILE
    wait: timedelta = timedelta(0)  # how long to wait for another run holding the store
    min_age: timedelta | None = None  # --min-age: newly broken counts only once this old


def decide(header: Header | None, now: datetime, options: StateOptions) -> str | None:
    """Why this run must be a full one, or None for an incremental run."""
    if header is None or header.cursor is None or header.last_full_run is None:
        return "no state yet"
    if options.full:
        return "--full"
    oldest = now.timestamp() - EVENT_RETENTION_DAYS * 86400 + MARGIN_SECONDS
    if header.cursor < oldest:
        return f"the events cursor is older than the {EVENT_RETENTION_DAYS} days Stripe keeps"
    if now - header.last_full_run >= options.reconcile_every:
        return f"the last full run ({iso(header.last_full_run)}) is older than --reconcile-every"
    return None


def _kind(obj: Mapping[str, Any]) -> str | None:
    """An FC account's or authorization's `object`, from the field or else the id's prefix."""
    oid, kind = obj.get("id"), obj.get("object")
    if kind is None and is_stripe_id(oid):
        by_prefix = kind_of(str(oid))
        # The prefix alone (`fca_`) is no id: is_stripe_id wants something after it.
        if by_prefix is not None and is_stripe_id(oid, by_prefix.prefix):
            kind = by_prefix.object
    return kind if kind in (ACCOUNT_OBJECT, AUTHORIZATION_OBJECT) else None


class Recording:
    """A source that keeps what the store needs of every account and authorization it
    emits (a full run): on disk, sorted by id, until the store is written. In id order the
    store's commit appends to its index's right edge instead of touching a random page for
    each of a million rows (time per account stays flat as the fleet grows)."""

    def __init__(self, source: Source) -> None:
        self._source = source
        # By id: the store's commit inserts in index order (fast at a million rows).
        self.seen: SortedSpill[StoredRow] = SortedSpill(item_bytes=1500)

    def run(self, emit: Emit) -> SourceOutcome:
        """Run the wrapped full scan, keeping what the store needs of every object it emits."""

        def record(item: Observed) -> None:
            if _kind(item.obj) is not None:
                row = StoredRow.of(item.obj)
                self.seen.add(row.id, row, size=len(row.body) + 300)
            emit(item)

        return self._source.run(record)

    def __getattr__(self, name: str) -> Any:  # stripe_version, mode, stats, progress counters
        return getattr(self._source, name)


@dataclass
class IncrementalSource:
    """The stored inventory, refreshed by the events since the cursor."""

    gateway: StripeGateway
    store: StateStore
    cursor: int
    last_full_run: datetime
    stripe_version: str | None = None
    mode: str | None = None
    fresh: dict[str, dict[str, Any]] = field(default_factory=dict)  # fetched now, by id
    gone: set[str] = field(default_factory=set)  # named by events, and no longer there
    events: int = 0
    # The latest event that dates a change of each object named (created, event id): what
    # `since` says for a category that changed (fcaudit.history.Since).
    dated: dict[str, tuple[int, str]] = field(default_factory=dict)

    def stats(self) -> Mapping[str, Any]:
        """The gateway's request counters and the run's duration, for the report's `stats`."""
        return self.gateway.stats.snapshot()

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        """A stored or fetched object that cannot be classified: an errors[] entry naming it."""
        oid = str(item.obj.get("id") or "(no id)")
        return ScopeError(Scope(ScopeType.ACCOUNT, oid), str(error))

    def run(self, emit: Emit) -> SourceOutcome:
        """Read the events since the cursor, refresh what they name, then emit the whole stored
        inventory."""
        outcome = SourceOutcome()
        try:
            named, holders = self._read_events(outcome)
            for oid in sorted(named):
                self._fetch(oid, outcome)
            for holder in sorted(holders):
                self._list_holder(holder, outcome)
        except Cancelled:
            if not self.gateway.budget_spent:
                outcome.interrupted = True
                return outcome
            # --max-requests: the events and objects not read yet are an errors[] entry; the
            # run is incomplete, so the store is not updated.
            limit = self.gateway.settings.max_requests
            rest = "the events since the last run and the objects they name"
            outcome.errors.append(budget_error(limit, [], Scope(ScopeType.EVENTS), rest))
            return outcome
        for obj in self._inventory():
            emit(Observed(obj, f"state {obj.get('id')}", self.stripe_version))
        outcome.scope = {
            "discovery": {
                "requested": "state",
                "mode": "incremental",
                "reason": f"events since {iso(datetime.fromtimestamp(self.cursor, tz=UTC))}",
                "last_full_run": iso(self.last_full_run),
                "events": self.events,
                "fetched": len(self.fresh),
            }
        }
        return outcome

    def _read_events(self, outcome: SourceOutcome) -> tuple[set[str], set[str]]:
        """The objects the events name, and the holders that linked new accounts."""
        named: set[str] = set()
        holders: set[str] = set()
        try:
            for event in self.gateway.iter_events(FC_EVENT_TYPES, created_gte=self.cursor):
                self.events += 1
                data = event.get("data") if isinstance(event, Mapping) else None
                obj = data.get("object") if isinstance(data, Mapping) else None
                if not isinstance(obj, Mapping) or _kind(obj) is None:
                    continue
                oid = obj.get("id")
                if isinstance(oid, str):
                    named.add(oid)
                    self._date(oid, event)
                holder = holder_of(obj)
                if event.get("type") == "financial_connections.account.created" and holder:
                    holders.add(holder)
        except RequestFailed as err:
            outcome.errors.append(
                ScopeError(
                    Scope(ScopeType.EVENTS), f"listing events: {err.message}", err.request_id
                )
            )
        return named, holders

    def _date(self, oid: str, event: Mapping[str, Any]) -> None:
        created, eid = event.get("created"), event.get("id")
        if event.get("type") not in DATING_EVENTS or not isinstance(eid, str):
            return
        if not isinstance(created, int) or isinstance(created, bool):
            return
        known = self.dated.get(oid)
        if known is None or (created, eid) > known:
            self.dated[oid] = (created, eid)

    def _fetch(self, oid: str, outcome: SourceOutcome) -> None:
        fetch: Callable[[str], tuple[dict[str, Any], str | None]]
        if kind_of(oid) is id_kinds.AUTHORIZATION:
            fetch, kind = self.gateway.fetch_authorization, ScopeType.AUTHORIZATION
        else:
            fetch, kind = self.gateway.fetch_account, ScopeType.ACCOUNT
        try:
            obj, _ = fetch(oid)
        except RequestFailed as err:
            if err.http_status == 404:
                self.gone.add(oid)  # deleted at Stripe: reported as gone
                return
            outcome.errors.append(ScopeError(Scope(kind, oid), err.message, err.request_id))
            return
        self.fresh[oid] = obj

    def _list_holder(self, holder: str, outcome: SourceOutcome) -> None:
        by_prefix = kind_of(holder)
        connected = by_prefix is id_kinds.CONNECTED_ACCOUNT
        kind = ScopeType.ACCOUNT_HOLDER if connected else ScopeType.CUSTOMER
        scope = Scope(kind, holder)
        try:
            for page in self.gateway.iter_account_pages(account_filter(scope)):
                for obj in page:
                    if isinstance(obj, dict) and is_stripe_id(
                        obj.get("id"), id_kinds.ACCOUNT.prefix
                    ):
                        self.fresh.setdefault(str(obj["id"]), obj)
        except RequestFailed as err:
            outcome.errors.append(ScopeError(scope, err.message, err.request_id))

    def _inventory(self) -> Iterator[Mapping[str, Any]]:
        """Every stored object (refreshed where fetched now), then the new ones."""
        fresh = dict(self.fresh)
        for obj in self.store.objects():
            oid = str(obj.get("id"))
            if oid in self.gone:
                continue
            yield fresh.pop(oid, obj)
        yield from fresh.values()


def young_dating(
    gateway: StripeGateway, now: datetime, plan: Plan
) -> DiskMap[tuple[int, str, str, str | None]]:
    """A young store (its first run, or the first since an upgrade gave it history) dates what
    it finds from the events Stripe keeps (30 days): per object, the event where its latest
    streak of one category began, and the category before (created, event id, category,
    before). A streak that began before the window is not dated, unless the event starting
    it is itself the change (deactivated or disconnected: the account was active before)."""
    oldest = int(now.timestamp()) - EVENT_RETENTION_DAYS * 86400 + MARGIN_SECONDS
    # id -> [created, event id, category, before (None: not known yet), type, closed]: on disk
    # beyond 10,000 objects (a million-account fleet's events name hundreds of thousands).
    streaks: DiskMap[list[Any]] = DiskMap()
    try:
        for event in _newest_events(gateway, oldest):
            data = event.get("data") if isinstance(event, Mapping) else None
            obj = data.get("object") if isinstance(data, Mapping) else None
            created, eid, kind = event.get("created"), event.get("id"), event.get("type")
            if not isinstance(obj, Mapping) or type(created) is not int or _kind(obj) is None:
                continue
            if kind not in DATING_EVENTS or created > now.timestamp():
                continue
            try:
                when = datetime.fromtimestamp(created, tz=UTC)
                category = str(classify(obj, now=when, rules=plan.rules).category)
            except NotClassifiable:
                continue
            oid = str(obj.get("id"))
            streak = streaks.get(oid)
            if streak is None:
                streaks[oid] = [created, str(eid), category, None, kind, False]
            elif not streak[5]:
                if category == streak[2]:
                    streak[0], streak[1], streak[4] = created, str(eid), kind  # began earlier
                else:
                    streak[3], streak[5] = category, True  # what it was before: dated
                streaks[oid] = streak  # written back: a DiskMap on disk holds copies
    except RequestFailed:
        pass  # not dated: since stays the first run's time, a lower bound
    except BudgetSpent:
        pass  # --max-requests: what was read dates what it can (newest first, so exactly)
    dated: DiskMap[tuple[int, str, str, str | None]] = DiskMap()
    try:
        for oid, (created, eid, category, before, kind, closed) in streaks.items():
            if closed:
                dated[oid] = (created, eid, category, before)
            elif kind in CHANGE_EVENTS:
                dated[oid] = (created, eid, category, "active")
    finally:
        streaks.close()
    return dated


def _newest_events(gateway: StripeGateway, oldest: int) -> Iterator[Any]:
    """The FC events since `oldest`, newest first, at most YOUNG_PAGES pages: a young store's
    dating is bounded (what is older stays a lower bound)."""
    pages = gateway.iter_event_pages(FC_EVENT_TYPES, created_gte=oldest)
    for page in itertools.islice(pages, YOUNG_PAGES):
        yield from page


# A young store reads at most this many pages of events (10,000 events) to date what it finds.
YOUNG_PAGES = 100
# Events that are a change from an active account by themselves.
CHANGE_EVENTS = frozenset(
    {
        "financial_connections.account.deactivated",
        "financial_connections.account.disconnected",
    }
)


def state_baseline(store: StateStore, header: Header, plan: Plan) -> SavedReport:
    """The previous run as a baseline: the stored objects classified as of that run."""
    when = header.last_run or header.last_full_run or datetime.now(UTC)

    def classified() -> Iterator[tuple[str, Prior]]:
        for obj, category, since, source in store.objects_with_since():
            try:
                found = classify(obj, now=when, horizon_days=plan.horizon_days, rules=plan.rules)
            except NotClassifiable:
                continue
            # The stored since dates the category the previous run recorded (exactly, unless
            # that was a first sight): what a repair's time_to_repair counts from.
            exact = None
            if category == str(found.category) and source in ("event", "run"):
                exact = record_of_since(since)
            yield found.id, Prior(found.object, found.category, found.deadline, exact)

    # Only what the comparison reads, and on disk: a store of a million accounts must not be
    # held as a million findings, or as a dict of them.
    priors: DiskMap[Prior] = DiskMap()
    priors.update(classified())
    envelope = {
        "generated_at": iso(when),
        "scope": dict(plan.scope),
        "mode": header.identity.mode,
        "complete": True,
    }
    return SavedReport(envelope=envelope, findings=(), priors=priors)


class StateRun:
    """One scan with --state: decide full or incremental, run, then record it."""

    def __init__(self, gateway: StripeGateway, options: StateOptions, now: datetime) -> None:
        self.gateway = gateway
        self.options = options
        self.now = now
        # The store first: a path that can't be used is known before any request to Stripe.
        self.store = StateStore(options.path, wait=options.wait.total_seconds())
        self._staged = False
        self.message: str | None = None
        try:
            account = gateway.settings.stripe_account or gateway.own_account_id()
            self.identity = Identity(key_mode(gateway.settings.api_key), account or "(own account)")
            self.store.check_identity(self.identity)
        except BaseException:
            self.store.close()
            raise
        self.header = self.store.header()
        self.full_because = decide(self.header, now, options)
        self._journal_seq: int | None = None
        self._recording: Recording | None = None
        self._incremental: IncrementalSource | None = None
        self._since: Since | None = None
        self._stale_after = DEFAULT_STALE_AFTER
        self._trend_days = 0  # an HTML report charts broken accounts over 30 days
        self._young: DiskMap[tuple[int, str, str, str | None]] | None = None

    def full_before_history(self) -> bool:
        """A young store: its first run, or its first since an upgrade gave it history."""
        return self.header is None or self.store.history_started() is None

    def since_stage(self) -> Since:
        """The pipeline's history stage (fcaudit.history.Since) for this run."""
        inc = self._incremental
        self._since = Since(
            self.store,
            self.now,
            full=self.full_because is not None,
            dating=(lambda oid: inc.dated.get(oid)) if inc is not None else (lambda oid: None),
            young=self._young.get if self._young is not None else (lambda oid: None),
            min_age=self.options.min_age,
            stale_after=self._stale_after,
            trend_days=self._trend_days,
        )
        return self._since

    def prepare(self, scanner: Source, plan: Plan) -> tuple[Source, Plan]:
        """The source to run and the plan (with the previous run as its baseline)."""
        if plan.baseline is None:
            # The previous run is the baseline; before the first, nothing was known, so
            # everything that needs attention is new (--fail-on-change new alerts on it).
            previous = (
                state_baseline(self.store, self.header, plan)
                if self.header is not None
                else SavedReport(
                    envelope={"scope": dict(plan.scope), "complete": True},
                    findings=(),
                    priors=DiskMap(),
                )
            )
            plan = dataclasses.replace(plan, baseline=(f"--state {self.options.path}", previous))
        self._stale_after = plan.stale_after
        if any(str(spec.fmt) == "html" for spec in plan.sinks):
            self._trend_days = TREND_DAYS
        plan = dataclasses.replace(plan, history=self.since_stage)
        if self.full_before_history():
            self._young = young_dating(self.gateway, self.now, plan)
        if self.full_because is not None:
            self._recording = Recording(scanner)
            return self._recording, plan
        assert self.header is not None and self.header.cursor is not None
        assert self.header.last_full_run is not None
        self._incremental = IncrementalSource(
            self.gateway,
            self.store,
            self.header.cursor,
            self.header.last_full_run,
            stripe_version=self.gateway.settings.stripe_version,
            mode=self.identity.mode,
        )
        return self._incremental, plan

    def stage(self, result: ScanResult) -> None:
        """Write a complete run into the store's working copy (the Pipeline calls this after
        the reports are written, before they replace earlier ones); an incomplete run is
        not recorded."""
        if not result.complete:
            self.message = f"--state {self.options.path}: not updated (the run was incomplete)."
            return
        cursor = max(int(self.now.timestamp()) - MARGIN_SECONDS, self._old_cursor())
        if self._recording is not None:
            dropped = self.store.commit_run(
                identity=self.identity,
                seen=self._recording.seen,
                cursor=cursor,
                when=self.now,
                full=True,
                changes=self._changes(),
                refreshes=self._refreshes(),
            )
            what = f"full run ({self.full_because}); {plural(len(self._recording.seen), 'object')}"
            what += f", {dropped} gone" if dropped else ""
        else:
            assert self._incremental is not None
            inc = self._incremental
            self.store.commit_run(
                identity=self.identity,
                seen=[StoredRow.of(obj) for obj in inc.fresh.values()],
                cursor=cursor,
                when=self.now,
                full=False,
                gone=inc.gone,
                changes=self._changes(),
                refreshes=self._refreshes(),
            )
            what = (
                f"incremental run; {plural(inc.events, 'event')}, "
                f"{plural(len(inc.fresh), 'object')} fetched"
            )
        what += self._merge_journal()
        self.store.ready()  # what can fail fails now, before a report replaces another
        self._staged = True
        self.message = f"--state {self.options.path}: {what}."

    def _merge_journal(self) -> str:
        """Copy what `fcaudit listen` journaled into this run's store (sources/journal.py); a
        journal that cannot be read now is merged by a later run, never lost."""
        try:
            merged, self._journal_seq = journal.merge_into(self.store.connection(), self.store.file)
        except sqlite3.Error as err:
            self._journal_seq = None
            return f"; the listen journal was not merged ({err}), it will be next time"
        return f"; {plural(merged, 'event')} from listen merged" if merged else ""

    def _changes(self) -> Iterator[Change]:
        """What the history stage found changed (read once, by the commit)."""
        if self._since is not None:
            yield from self._since.changes

    def _refreshes(self) -> Iterator[tuple[str, str]]:
        """The refresh records that changed (read once, by the commit)."""
        if self._since is not None:
            yield from self._since.refreshes

    def publish(self) -> None:
        """Replace the store with the staged run (keeping the one before as FILE.prev)."""
        if self._staged:
            self.store.publish()
            if self._journal_seq is not None:
                # Only now that the store holding them is published; a failure here leaves
                # them to a later prune (a scan never merges an event twice).
                with contextlib.suppress(sqlite3.Error, OSError):
                    journal.prune(self.store.file, self._journal_seq, self.now)
        self.store.close()

    def discard(self) -> None:
        """Leave the store as it was; release it."""
        self._staged = False
        self.store.close()
        if self._young is not None:
            self._young.close()

    def _old_cursor(self) -> int:
        return self.header.cursor if self.header and self.header.cursor else 0
