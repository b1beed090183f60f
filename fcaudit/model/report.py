"""The outcome of a run: groups, scopes, errors, the tally, the summary and the report envelope.

No I/O. `ReportMeta.envelope()` is the only place the report's JSON envelope is defined.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from fcaudit.model.findings import (
    AGE_BUCKETS,
    BROKEN,
    SCHEMA_VERSION,
    SEVERITY,
    Category,
    Change,
    Finding,
    SignalCode,
    iso,
)
from fcaudit.stripe.ids import AUTHORIZATION_OBJECT

if TYPE_CHECKING:
    from fcaudit.model.trend import TrendDay
    from fcaudit.spill import Distinct, Replayable


def _distinct() -> Distinct:
    """A distinct count (imported when a run starts: `--help` never loads SQLite)."""
    from fcaudit.spill import Distinct

    return Distinct()


class GroupBy(StrEnum):
    """What `--group-by` collects findings under (the table defaults to customer)."""

    CUSTOMER = "customer"
    AUTHORIZATION = "authorization"
    INSTITUTION = "institution"
    NONE = "none"


NO_HOLDER = "(no holder)"
NO_AUTHORIZATION = "(no authorization)"
NO_INSTITUTION = "(unknown institution)"


def group_key(finding: Finding, by: GroupBy) -> str | None:
    """The group a finding belongs to; None with --group-by none."""
    if by is GroupBy.CUSTOMER:
        return finding.account_holder or NO_HOLDER
    if by is GroupBy.AUTHORIZATION:
        if finding.object == AUTHORIZATION_OBJECT:
            return finding.id
        return finding.authorization or NO_AUTHORIZATION
    if by is GroupBy.INSTITUTION:
        return finding.institution_name or NO_INSTITUTION
    return None


@dataclass(frozen=True)
class Contact:
    """A customer's name and email (--contact only: personal data)."""

    name: str | None
    email: str | None


@dataclass(frozen=True)
class Group:
    """The findings under one key, for a worklist: whom to contact, about what, by when."""

    key: str
    by: GroupBy
    holder_type: str | None  # customer / account, when grouped by customer
    worst: Category
    deadline: datetime | None  # the soonest expected deactivation or number expiry
    accounts: int
    finding_ids: tuple[str, ...]
    authorizations: tuple[str, ...]
    # Authorizations whose one relink repairs several of this group's accounts.
    relink_authorizations: tuple[str, ...]
    dashboard_url: str | None = None
    contact: Contact | None = None
    stripe_account: str | None = None  # the connected account the holder belongs to
    since: datetime | None = None  # --state: the oldest since of what is not active

    def sort_key(self) -> tuple[int, float, float, str]:
        """Most urgent group first, then soonest deadline, then the longest broken (--state),
        then by key: the worklist's order."""
        when = self.deadline.timestamp() if self.deadline is not None else float("inf")
        age = self.since.timestamp() if self.since is not None else float("inf")
        return (SEVERITY[self.worst], when, age, self.key)

    def to_record(self) -> dict[str, Any]:
        """The group as the report's `groups[]` entry."""
        record: dict[str, Any] = {
            "key": self.key,
            "by": str(self.by),
            "holder_type": self.holder_type,
            "worst_category": str(self.worst),
            "deadline": iso(self.deadline) if self.deadline is not None else None,
            "accounts": self.accounts,
            "finding_ids": list(self.finding_ids),
            "authorizations": list(self.authorizations),
            "relink_authorizations": list(self.relink_authorizations),
            "dashboard_url": self.dashboard_url,
            "stripe_account": self.stripe_account,
            "since": iso(self.since) if self.since is not None else None,
        }
        if self.contact is not None:
            record["contact"] = {"name": self.contact.name, "email": self.contact.email}
        return record


if TYPE_CHECKING:
    # The worklist's groups in order: a list, or a spill on disk read back in order.
    Groups = Replayable[Group]


# -- scopes and the run's outcome ---------------------------------------------------------


class ScopeType(StrEnum):
    """One vocabulary for what a run covers: the report's `scope.type` (plural) and each unit
    of work that can fail on its own (singular, in `errors[].scope.type`)."""

    CUSTOMER = "customer"
    CUSTOMER_ACCOUNT = "customer_account"  # Accounts v2: a customer represented by an Account
    ACCOUNT_HOLDER = "account_holder"
    SESSION = "session"
    ACCOUNT = "account"
    AUTHORIZATION = "authorization"
    CONNECTED_ACCOUNT = "connected_account"  # --connected-accounts: one connected account
    EVENTS = "events"  # fcaudit events: the event listing (its report scope is built apart)

    @property
    def plural(self) -> str:
        """The scope type's plural noun, for progress and summaries."""
        return f"{self.value}s"


ALL_CUSTOMERS = "all_customers"  # the report's scope.type when no scope flag was given


def scope_record(kind: ScopeType | None, ids: Sequence[str] | None, **extra: Any) -> dict[str, Any]:
    """The report's `scope`: `{"type": "customers", "ids": [...]}` for a list of customers,
    `{"type": "all_customers", "ids": null}` for the whole account, plus extra keys."""
    record: dict[str, Any] = {"type": kind.plural if kind else ALL_CUSTOMERS, "ids": ids}
    record.update({k: v for k, v in extra.items() if v is not None})
    return record


@dataclass(frozen=True)
class Scope:
    """One unit of work that can fail on its own: a customer, a connected account, ...

    `stripe_account`: the connected account it is read under (--connected-accounts); the
    record carries it only when set."""

    type: ScopeType
    id: str | None = None
    stripe_account: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The scope as an errors[] entry writes it."""
        record: dict[str, Any] = {"type": str(self.type), "id": self.id}
        if self.stripe_account is not None:
            record["stripe_account"] = self.stripe_account
        return record

    def label(self) -> str:
        """The scope in words for messages (`customer cus_1`, `connected account acct_1`)."""
        text = f"{self.type} {self.id}" if self.id else str(self.type)
        if self.stripe_account is not None and self.stripe_account != self.id:
            text += f" of {self.stripe_account}"
        return text


@dataclass(frozen=True)
class ScopeError:
    """A scope whose requests failed for good; reported in errors[]."""

    scope: Scope
    message: str
    request_id: str | None = None
    http_status: int | None = None
    code: str | None = None
    attempts: int = 1
    # What to do, for the line on stderr (not in errors[], whose `message` is what failed).
    tip: str | None = field(default=None, compare=False)

    def to_record(self) -> dict[str, Any]:
        """The failure as the report's `errors[]` entry."""
        return {
            "scope": self.scope.to_record(),
            "message": self.message,
            "request_id": self.request_id,
            "http_status": self.http_status,
            "code": self.code,
            "attempts": self.attempts,
        }


@dataclass
class AccountTally:
    """One Stripe account's share of the summary (--connected-accounts)."""

    accounts: int = 0
    authorizations: int = 0
    counts: Counter[Category] = field(default_factory=Counter)
    holders_affected: Distinct = field(default_factory=lambda: _distinct())

    def to_record(self, stripe_account: str | None) -> dict[str, Any]:
        """The counts as the report's `summary` writes them."""
        return {
            "stripe_account": stripe_account,
            "accounts": self.accounts,
            "authorizations": self.authorizations,
            "customers_affected": len(self.holders_affected),
            "by_category": {str(c): self.counts.get(c, 0) for c in Category},
        }


@dataclass
class ScanResult:
    """What a run found, filled in as it goes: counts (by the tally stage), errors (by the
    source), and sections that stages add to the report."""

    errors: list[ScopeError] = field(default_factory=list)
    interrupted: bool = False
    counts: Counter[Category] = field(default_factory=Counter)
    by_institution: Counter[str] = field(default_factory=Counter)
    by_signal: Counter[SignalCode] = field(default_factory=Counter)
    accounts: int = 0
    authorizations: int = 0
    events_skipped: int = 0  # events whose object is not an FC account or authorization
    undelivered: int = 0  # findings from events a webhook endpoint has not acknowledged
    # Findings that are an event's snapshot (`fcaudit events`, classify of events), and the
    # objects those events are about: what the summary sentence counts for them.
    events: int = 0
    event_objects: set[str] = field(default_factory=set)
    by_object: dict[str, Counter[Category]] = field(default_factory=dict)
    holders_affected: Distinct = field(default_factory=lambda: _distinct())  # not active
    group_by: GroupBy = GroupBy.CUSTOMER
    # Set by the grouping stage: a list, or a spill on disk read back in order.
    groups: Groups = field(default_factory=list)
    matched: int = 0  # findings matching --fail-on (categories or signals)
    exit_code: int | None = None  # the run's exit code, once decided
    contact: bool = False  # groups carry customers' names and emails
    contacts: dict[str, Contact] = field(default_factory=dict)  # by customer id
    by_change: Counter[Change] = field(default_factory=Counter)
    suppressed: int = 0
    resolved: list[dict[str, Any]] = field(default_factory=list)  # baseline findings now fixed
    baseline: dict[str, Any] | None = None  # what the comparison was made against
    expired_suppressions: list[dict[str, Any]] = field(default_factory=list)
    unmatched_suppressions: list[dict[str, Any]] = field(default_factory=list)
    # --connected-accounts: the connected accounts the run read (None: one Stripe account),
    # and every Stripe account's share of the counts (None: the platform).
    stripe_accounts: list[str] | None = None
    # What the source learned about its scope (SourceOutcome.scope: `discovery`).
    scope_learned: dict[str, Any] = field(default_factory=dict)
    by_stripe_account: dict[str | None, AccountTally] = field(default_factory=dict)
    # Whether each Stripe account's customers are counted apart (summary.by_stripe_account,
    # --connected-accounts only): a second distinct count of a million customers otherwise.
    per_stripe_account: bool = True
    # Health over time (--state): where `since` comes from, the oldest `since` of each
    # category, findings per age bucket, and the two levels of what is broken.
    history: dict[str, Any] | None = None
    oldest_since: dict[Category, datetime] = field(default_factory=dict)
    by_age: Counter[tuple[Category, int]] = field(default_factory=Counter)
    broken_accounts: int = 0
    broken_without_authorization: int = 0
    broken_authorizations: Distinct = field(default_factory=lambda: _distinct())
    pending: int = 0  # --min-age: newly broken findings not counted yet
    trend: list[TrendDay] | None = None  # --state, for an HTML report: the last 30 days

    @property
    def complete(self) -> bool:
        """True when every scope was read and the run was not interrupted."""
        return not self.errors and not self.interrupted

    def count(self, finding: Finding) -> None:
        """Add one finding to the summary counters (by category, object, institution)."""
        # Once per finding: the common case (no signal, change, suppression or event) takes
        # the fewest steps.
        category = finding.category
        authorization = finding.object == AUTHORIZATION_OBJECT
        self.counts[category] += 1
        if authorization:
            self.authorizations += 1
        else:
            self.accounts += 1
        kind = "authorization" if authorization else "account"
        by_kind = self.by_object.get(kind)
        if by_kind is None:
            by_kind = self.by_object[kind] = Counter()
        by_kind[category] += 1
        suppressed = finding.suppressed is not None
        if suppressed:
            self.suppressed += 1
        if finding.signals:
            for code in {s.code for s in finding.signals}:
                self.by_signal[code] += 1
        if finding.change is not None:
            self.by_change[finding.change] += 1
        if finding.undelivered:
            self.undelivered += 1
        if finding.event_id is not None:
            self.events += 1
            self.event_objects.add(finding.id)
        tally = self.by_stripe_account.get(finding.stripe_account)
        if tally is None:
            tally = self.by_stripe_account[finding.stripe_account] = AccountTally()
        tally.counts[category] += 1
        if authorization:
            tally.authorizations += 1
        else:
            tally.accounts += 1
        if category is Category.ACTIVE:
            return
        if finding.pending:
            self.pending += 1
        if category in BROKEN:
            if authorization:
                self.broken_authorizations.add(finding.id)
            else:
                self.broken_accounts += 1
                if finding.authorization:
                    self.broken_authorizations.add(finding.authorization)
                else:
                    self.broken_without_authorization += 1
        since = finding.since
        if since is not None:
            oldest = self.oldest_since.get(category)
            if oldest is None or since < oldest:
                self.oldest_since[category] = since
            days = finding.days_in_category or 0
            for bucket in AGE_BUCKETS:
                if days >= bucket:
                    self.by_age[category, bucket] += 1
        holder = finding.account_holder
        if holder and self.per_stripe_account:
            tally.holders_affected.add(holder)
        if not suppressed:
            self.by_institution[finding.institution_name or "(unknown)"] += 1
            if holder:
                self.holders_affected.add(holder)

    def history_record(self, as_of: datetime) -> dict[str, Any]:
        """The report's `history`: where `since` comes from, or why it is null."""
        from fcaudit.model.ages import NO_STATE

        record = self.history or {"available": False, "reason": NO_STATE, "started": None}
        oldest = {
            str(c): int((as_of - self.oldest_since[c]).total_seconds())
            for c in Category
            if c in self.oldest_since
        }
        by_age = {
            str(c): {f"{b}d": self.by_age.get((c, b), 0) for b in AGE_BUCKETS}
            for c in Category
            if c is not Category.ACTIVE
        }
        return {**record, "oldest_age_seconds": oldest, "by_age": by_age}

    def broken_record(self) -> dict[str, int]:
        """`summary.broken`: broken accounts, and the authorizations (credentials: one relink
        each) they and the broken authorizations come to."""
        return {
            "accounts": self.broken_accounts,
            "authorizations": len(self.broken_authorizations),
            "accounts_without_authorization": self.broken_without_authorization,
        }

    def stripe_account_summary(self) -> list[dict[str, Any]] | None:
        """`summary.by_stripe_account`: the platform, then each connected account read, in
        the order listed (those with no finding too); None without --connected-accounts."""
        if self.stripe_accounts is None:
            return None
        order: list[str | None] = [None, *self.stripe_accounts]
        return [self.by_stripe_account.get(a, AccountTally()).to_record(a) for a in order]


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 account`, `2 accounts`: counts in prose, never a bracketed plural."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def summary_parts(result: ScanResult) -> tuple[str, list[tuple[Category, int]]]:
    """What was looked at (`2 accounts, 1 authorization`; for event snapshots `30 events about
    28 objects`) and the non-zero counts by category, most urgent first: the pieces of the one
    summary sentence (`summary_text`)."""
    counts = [(c, result.counts[c]) for c in Category if result.counts.get(c)]
    if result.events:
        head = (
            f"{plural(result.events, 'event')} about {plural(len(result.event_objects), 'object')}"
        )
        now = result.accounts + result.authorizations - result.events  # --verify's
        return head + (f", and {plural(now, 'object')} as they are now" if now else ""), counts
    parts = [plural(result.accounts, "account")]
    if result.authorizations:
        parts.append(plural(result.authorizations, "authorization"))
    return ", ".join(parts), counts


def broken_text(result: ScanResult) -> str | None:
    """`Broken: 3 accounts under 2 authorizations (one relink each)`: the summary's two
    levels, or None when nothing is broken."""
    accounts, auths = result.broken_accounts, len(result.broken_authorizations)
    if not accounts and not auths:
        return None
    text = f"Broken: {plural(accounts, 'account')} under {plural(auths, 'authorization')}"
    text += " (one relink each)"
    if result.broken_without_authorization:
        text += f"; {result.broken_without_authorization} of the accounts name no authorization"
    return text


def summary_text(result: ScanResult) -> str:
    """`2 accounts, 1 authorization: 1 relink_required, 2 active`: the one summary sentence,
    shared by the table and the stderr line."""
    head, counts = summary_parts(result)
    return head + (": " + ", ".join(f"{n} {c}" for c, n in counts) if counts else "")


# -- the report envelope ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportMeta:
    """Everything a report says about the run besides its findings."""

    command: str
    generated_at: datetime
    as_of: datetime
    horizon_days: int
    fail_on: Sequence[str]
    scope: Mapping[str, Any]
    tool_version: str
    stripe_version: str | None = None
    mode: str | None = None  # live | test | None (offline)
    stats: Mapping[str, Any] = field(default_factory=dict)

    def envelope(self, result: ScanResult, *, groups: Any = None) -> dict[str, Any]:
        """The report document minus findings[]; `groups`, when given, stands in for the
        groups[] array (a renderer that writes the groups one by one)."""
        by_category = {str(c): result.counts.get(c, 0) for c in Category}
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "fcaudit", "version": self.tool_version},
            "command": self.command,
            "generated_at": iso(self.generated_at),
            "as_of": iso(self.as_of),
            "expiring_within_days": self.horizon_days,
            "stripe_version": self.stripe_version,
            "mode": self.mode,
            "scope": dict(self.scope),
            "fail_on": [str(c) for c in self.fail_on],
            "complete": result.complete,
            "summary": {
                "accounts": result.accounts,
                "authorizations": result.authorizations,
                "by_category": by_category,
                "by_institution": dict(sorted(result.by_institution.items())),
                # Findings with each signal (a finding counts once per code).
                "by_signal": {str(c): result.by_signal.get(c, 0) for c in SignalCode},
                "events_skipped": result.events_skipped,
                # fcaudit events: findings from events not acknowledged within --grace.
                "undelivered": result.undelivered,
                # Holders (customers or connected accounts) with a finding that is not active.
                "customers_affected": len(result.holders_affected),
                "by_object": {
                    kind: {
                        str(c): result.by_object.get(kind, Counter()).get(c, 0) for c in Category
                    }
                    for kind in ("account", "authorization")
                },
                "result": {"exit_code": result.exit_code, "matched": result.matched},
                # --baseline: findings by change; null without a baseline.
                "by_change": (
                    {str(c): result.by_change.get(c, 0) for c in Change}
                    if result.baseline is not None
                    else None
                ),
                "suppressed": result.suppressed,
                "expired_suppressions": result.expired_suppressions,
                "unmatched_suppressions": result.unmatched_suppressions,
                # --connected-accounts: counts per Stripe account (null: one account).
                "by_stripe_account": result.stripe_account_summary(),
                # 1.2: what is broken, at two levels (accounts, and their credentials).
                "broken": result.broken_record(),
                # 1.2: --min-age: newly broken findings listed as pending, not counted yet.
                "pending": result.pending,
            },
            "history": result.history_record(self.as_of),
            "baseline": result.baseline,
            "resolved": result.resolved,
            "group_by": str(result.group_by),
            "contains_contact_details": result.contact,
            "groups": [g.to_record() for g in result.groups] if groups is None else groups,
            "errors": [e.to_record() for e in result.errors],
            "stats": dict(self.stats),
        }
