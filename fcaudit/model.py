"""The data of a run: findings, categories, scopes, the run's outcome and the report envelope.

No I/O and no imports beyond the standard library: renderers, stages and the report loader
depend on this module alone. `Finding.to_record()` / `from_record()` and
`ReportMeta.envelope()` are the only places the JSON contract's shape is defined
(schema/report.schema.json describes it).
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NamedTuple, NewType

from fcaudit.errors import InputError

SCHEMA_VERSION = "1.1"
# Reports fcaudit can read back (a baseline, a diff): the same major version.
READABLE_SCHEMA_MAJOR = "1"

ACCOUNT_OBJECT = "financial_connections.account"
AUTHORIZATION_OBJECT = "financial_connections.authorization"

ObjectId = NewType("ObjectId", str)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, to the second: the one timestamp format of every output."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # Formatted by hand: isoformat() with a time zone costs twice as much, for every date of
    # every finding written.
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031 - the fastest of the three
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )


def parse_iso(text: str) -> datetime:
    """The inverse of `iso()` (any ISO 8601 time; naive means UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Category(StrEnum):
    """Classification categories, most urgent first. The strings are part of the JSON contract."""

    RELINK_REQUIRED = "relink_required"
    INACTIVE_UNREPAIRABLE = "inactive_unrepairable"
    INACTIVE_UNKNOWN = "inactive_unknown"
    ACCOUNT_NUMBER_UNUSABLE = "account_number_unusable"
    EXPIRING = "expiring"
    DISCONNECTED = "disconnected"
    UNKNOWN = "unknown"
    ACTIVE = "active"


# Lower is more urgent: broken now, then about to break. Tables and findings[] sort by it.
SEVERITY: dict[Category, int] = {c: i for i, c in enumerate(Category)}


class SignalCode(StrEnum):
    """Everything else worth knowing about an object; the strings are part of the contract.
    Signals never change the category (the category says what to do first)."""

    ACCOUNT_NUMBER_EXPIRING = "account_number_expiring"
    ACCOUNT_NUMBER_UNUSABLE = "account_number_unusable"
    ACCOUNT_NUMBER_PENDING = "account_number_pending"
    BALANCE_REFRESH_FAILED = "balance_refresh_failed"
    OWNERSHIP_REFRESH_FAILED = "ownership_refresh_failed"
    TRANSACTION_REFRESH_FAILED = "transaction_refresh_failed"
    INFERRED_BALANCES_REFRESH_FAILED = "inferred_balances_refresh_failed"
    PREDICTED_DEACTIVATION = "predicted_deactivation"
    PREDICTED_DATE_PASSED = "predicted_date_passed"


class EventFlag(StrEnum):
    """What `--fail-on` may name besides categories and signals: a property of the event a
    finding came from (fcaudit events). The strings are part of the contract."""

    UNDELIVERED = "undelivered"  # a webhook endpoint has not acknowledged it within --grace


class Change(StrEnum):
    """How a finding compares with the baseline report. Part of the contract."""

    NEW = "new"  # absent from the baseline, or active there
    WORSE = "worse"  # a more urgent category, or the same one with an earlier deadline
    SAME = "same"
    BETTER = "better"  # less urgent (a finding that became active is also in resolved[])


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding is set aside (an --ignore entry), and until when."""

    id: str
    reason: str
    until: date | None = None
    categories: frozenset[str] | None = None

    def to_record(self) -> dict[str, Any]:
        return {"reason": self.reason, "until": self.until.isoformat() if self.until else None}


@dataclass(frozen=True, slots=True)
class Signal:
    code: SignalCode
    detail: str
    date: datetime | None = None

    def to_record(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "detail": self.detail,
            "date": iso(self.date) if self.date is not None else None,
        }


# Not frozen: a frozen dataclass sets each of its 30-odd fields through object.__setattr__,
# which made building findings a fifth of an offline classify. A finding is completed in
# place while it belongs to the run that made it (classify, then the stages: see
# runner.Stage); once a sink has it, treat it as immutable.
@dataclass(slots=True, eq=True)
class Finding:
    """One classified object. `to_record()` is the only place its JSON shape is defined."""

    id: str
    object: str
    category: Category
    status: str | None
    recommendation: str
    cause: str | None = None
    action: str | None = None
    expected_deactivation_date: datetime | None = None
    days_until_deactivation: int | None = None
    institution_name: str | None = None
    account_holder_type: str | None = None
    account_holder: str | None = None
    authorization: str | None = None
    last4: str | None = None
    display_name: str | None = None
    livemode: bool | None = None
    detail: str | None = None
    # For authorizations: the scanned accounts this authorization covers.
    accounts: tuple[str, ...] = field(default=())
    signals: tuple[Signal, ...] = field(default=())
    # Where expected_deactivation_date came from: "stripe", "rule:<id>", or None.
    expected_deactivation_source: str | None = None
    # For a snapshot taken from an Event (classify of event streams).
    event_type: str | None = None
    event_created: datetime | None = None
    # The event's id (also orders snapshots of equal `created`).
    event_id: str | None = field(default=None, compare=False, repr=False)
    # fcaudit events: the event's pending_webhooks, and whether that makes it undelivered
    # (a webhook endpoint has not acknowledged it within --grace); None when not judged.
    pending_webhooks: int | None = None
    undelivered: bool | None = None
    # The Stripe Dashboard page of the holder (where a hosted relink is started).
    dashboard_url: str | None = None
    # Compared with a baseline report (--baseline, fcaudit diff): new/worse/same/better.
    change: Change | None = None
    # Set aside by an --ignore entry: it stays in the report, out of the exit decision.
    suppressed: Suppression | None = None
    # The connected account it was read from (the Stripe-Account header); None: the platform.
    stripe_account: str | None = None
    # The object as fetched, kept only for detail views; never serialized.
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def severity(self) -> int:
        return SEVERITY[self.category]

    def sort_key(self) -> tuple[int, float, str]:
        """Severity first, then soonest expected deactivation, then id: deterministic."""
        when = (
            self.expected_deactivation_date.timestamp()
            if self.expected_deactivation_date is not None
            else float("inf")
        )
        return (self.severity, when, self.id)

    def to_record(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict; the shape is schema/report.schema.json."""
        edd = self.expected_deactivation_date
        # The enums are str: they are written as their values, without a str() copy.
        return {
            "id": self.id,
            "object": self.object,
            "category": self.category,
            "status": self.status,
            "cause": self.cause,
            "action": self.action,
            "expected_deactivation_date": iso(edd) if edd is not None else None,
            "days_until_deactivation": self.days_until_deactivation,
            "institution_name": self.institution_name,
            "account_holder": (
                {"type": self.account_holder_type, "id": self.account_holder}
                if self.account_holder_type or self.account_holder
                else None
            ),
            "authorization": self.authorization,
            "last4": self.last4,
            "display_name": self.display_name,
            "livemode": self.livemode,
            "accounts": list(self.accounts) if self.object == AUTHORIZATION_OBJECT else None,
            "detail": self.detail,
            "recommendation": self.recommendation,
            "signals": [s.to_record() for s in self.signals] if self.signals else [],
            "expected_deactivation_source": self.expected_deactivation_source,
            "event_type": self.event_type,
            "event_created": iso(self.event_created) if self.event_created else None,
            "event_id": self.event_id,
            "pending_webhooks": self.pending_webhooks,
            "undelivered": self.undelivered,
            "dashboard_url": self.dashboard_url,
            "change": self.change,
            "suppressed": self.suppressed.to_record() if self.suppressed is not None else None,
            "stripe_account": self.stripe_account,
        }

    @property
    def deadline(self) -> datetime | None:
        """The soonest date something breaks: the expected deactivation (which already
        includes an account number's expiry), else the earliest dated signal."""
        if self.expected_deactivation_date is not None:
            return self.expected_deactivation_date
        dates = [s.date for s in self.signals if s.code is SignalCode.ACCOUNT_NUMBER_EXPIRING]
        return min((d for d in dates if d is not None), default=None)


def from_record(record: Mapping[str, Any]) -> Finding:
    """A finding read back from a report's `findings[]` (the inverse of `to_record`).

    Raises `ValueError` (or `KeyError` / `TypeError`) when the record is not a finding.
    """
    holder = record.get("account_holder") or {}
    edd = record.get("expected_deactivation_date")
    accounts = record.get("accounts")
    created = record.get("event_created")
    return Finding(
        id=str(record["id"]),
        object=str(record["object"]),
        category=Category(record["category"]),
        status=record.get("status"),
        recommendation=str(record.get("recommendation") or ""),
        cause=record.get("cause"),
        action=record.get("action"),
        expected_deactivation_date=parse_iso(edd) if isinstance(edd, str) else None,
        days_until_deactivation=record.get("days_until_deactivation"),
        institution_name=record.get("institution_name"),
        account_holder_type=holder.get("type"),
        account_holder=holder.get("id"),
        authorization=record.get("authorization"),
        last4=record.get("last4"),
        display_name=record.get("display_name"),
        livemode=record.get("livemode"),
        detail=record.get("detail"),
        accounts=tuple(accounts) if isinstance(accounts, list) else (),
        signals=tuple(_signal(s) for s in record.get("signals") or ()),
        expected_deactivation_source=record.get("expected_deactivation_source"),
        event_type=record.get("event_type"),
        event_created=parse_iso(created) if isinstance(created, str) else None,
        event_id=record.get("event_id"),
        pending_webhooks=record.get("pending_webhooks"),
        undelivered=record.get("undelivered"),
        dashboard_url=record.get("dashboard_url"),
        stripe_account=record.get("stripe_account"),
    )  # change and suppressed describe the run that wrote the report, not the finding


def _signal(record: Mapping[str, Any]) -> Signal:
    when = record.get("date")
    return Signal(
        SignalCode(record["code"]),
        str(record.get("detail") or ""),
        parse_iso(when) if isinstance(when, str) else None,
    )


@dataclass(frozen=True, slots=True)
class EventRef:
    """The Event an object's snapshot came from (classify of event streams, fcaudit events).

    `undelivered` is set by the events source, which knows the grace period."""

    id: str | None
    type: str | None
    created: datetime | None
    pending_webhooks: int | None = None
    undelivered: bool | None = None

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> EventRef:
        created = event.get("created")
        when = None
        if isinstance(created, int) and not isinstance(created, bool):
            try:
                when = datetime.fromtimestamp(created, tz=UTC)
            except (OverflowError, OSError, ValueError):
                when = None
        eid, etype = event.get("id"), event.get("type")
        pending = event.get("pending_webhooks")
        return cls(
            eid if isinstance(eid, str) else None,
            etype if isinstance(etype, str) else None,
            when,
            pending if type(pending) is int and pending >= 0 else None,
        )


# -- the Stripe Dashboard --------------------------------------------------------------------

DASHBOARD = "https://dashboard.stripe.com"
_LINK_ID = re.compile(r"[a-z]{2,8}_[A-Za-z0-9]{1,255}")


_LINK_ID_MAX = 8 + 1 + 255  # the longest id _LINK_ID accepts


def dashboard_url(
    holder_type: str | None,
    holder: str | None,
    livemode: bool | None,
    stripe_account: str | None,
) -> str | None:
    """The Dashboard page of an account holder (`_dashboard_url`); ids longer than any Stripe
    id are refused before the cache, which so keeps only short strings."""
    if not holder or len(holder) > _LINK_ID_MAX:
        return None
    if stripe_account is not None and len(stripe_account) > _LINK_ID_MAX:
        return None
    return _dashboard_url(holder_type, holder, livemode, stripe_account)


@functools.lru_cache(maxsize=4096)  # a customer's accounts share one page
def _dashboard_url(
    holder_type: str | None,
    holder: str,
    livemode: bool | None,
    stripe_account: str | None,
) -> str | None:
    """The Dashboard page of an account holder, where a hosted relink is started.

    Patterns (the Dashboard's own, not part of Stripe's API reference): a customer is
    /customers/<id> (Accounts v2 customers too: /customers/<acct_id>), a connected account
    /connect/accounts/<id>; test-mode objects add /test, and a connected account's own objects
    (--stripe-account) are prefixed with /<acct_id>."""
    # Only an id of Stripe's shape goes into a link (the holder comes from the network).
    if not _LINK_ID.fullmatch(holder):
        return None
    if stripe_account is not None and not _LINK_ID.fullmatch(stripe_account):
        return None
    prefix = DASHBOARD + (f"/{stripe_account}" if stripe_account else "")
    prefix += "" if livemode else "/test"
    if holder_type == "account" or (holder_type is None and holder.startswith("acct_")):
        return f"{prefix}/connect/accounts/{holder}"
    return f"{prefix}/customers/{holder}"


# -- grouping -----------------------------------------------------------------------------


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

    def sort_key(self) -> tuple[int, float, str]:
        when = self.deadline.timestamp() if self.deadline is not None else float("inf")
        return (SEVERITY[self.worst], when, self.key)

    def to_record(self) -> dict[str, Any]:
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
        }
        if self.contact is not None:
            record["contact"] = {"name": self.contact.name, "email": self.contact.email}
        return record


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
        record: dict[str, Any] = {"type": str(self.type), "id": self.id}
        if self.stripe_account is not None:
            record["stripe_account"] = self.stripe_account
        return record

    def label(self) -> str:
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

    def to_record(self) -> dict[str, Any]:
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
    holders_affected: set[str] = field(default_factory=set)

    def to_record(self, stripe_account: str | None) -> dict[str, Any]:
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
    by_object: dict[str, Counter[Category]] = field(default_factory=dict)
    holders_affected: set[str] = field(default_factory=set)  # with a non-active finding
    group_by: GroupBy = GroupBy.CUSTOMER
    groups: list[Group] = field(default_factory=list)  # set by the grouping stage
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

    @property
    def complete(self) -> bool:
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
        holder = finding.account_holder
        if holder:
            tally.holders_affected.add(holder)
        if not suppressed:
            self.by_institution[finding.institution_name or "(unknown)"] += 1
            if holder:
                self.holders_affected.add(holder)

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
    """What was looked at (`2 accounts, 1 authorization`) and the non-zero counts by category,
    most urgent first: the pieces of the one summary sentence (`summary_text`)."""
    parts = [plural(result.accounts, "account")]
    if result.authorizations:
        parts.append(plural(result.authorizations, "authorization"))
    return ", ".join(parts), [(c, result.counts[c]) for c in Category if result.counts.get(c)]


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
            },
            "baseline": result.baseline,
            "resolved": result.resolved,
            "group_by": str(result.group_by),
            "contains_contact_details": result.contact,
            "groups": [g.to_record() for g in result.groups] if groups is None else groups,
            "errors": [e.to_record() for e in result.errors],
            "stats": dict(self.stats),
        }


class Prior(NamedTuple):
    """What a baseline comparison needs of an object: small, for stores of 100,000."""

    object: str
    category: Category
    deadline: datetime | None


@dataclass(frozen=True)
class SavedReport:
    """A report read back from disk: its envelope (as written) and its findings; or, for the
    previous run of a state store, only what a comparison needs of each object (`priors`)."""

    envelope: Mapping[str, Any]
    findings: tuple[Finding, ...]
    priors: Mapping[str, Prior] | None = None

    def prior_findings(self) -> Mapping[str, Prior]:
        """By id: each object's type, category and deadline."""
        if self.priors is not None:
            return self.priors
        return {f.id: Prior(f.object, f.category, f.deadline) for f in self.findings}

    @property
    def complete(self) -> bool:
        return bool(self.envelope.get("complete"))


@dataclass(frozen=True)
class BaselineInfo:
    """The report a run is compared with, and whether the comparison is like for like."""

    source: str
    report: SavedReport
    comparable: bool  # same scope, Stripe account and mode: missing objects are gone
    warnings: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        env = self.report.envelope
        return {
            "source": self.source,
            "generated_at": env.get("generated_at"),
            "scope": env.get("scope"),
            "mode": env.get("mode"),
            "complete": self.report.complete,
            "comparable": self.comparable,
            "warnings": list(self.warnings),
        }


def baseline_info(
    report: SavedReport, source: str, *, scope: Mapping[str, Any], mode: str | None
) -> BaselineInfo:
    """Compare a baseline's envelope with this run's scope and mode; say what differs."""
    env = report.envelope
    warnings = []
    old_scope = env.get("scope") or {}
    # `discovery` says how a run found its accounts (with request ids), learned during the
    # run: BaselineDiff compares the modes once this run's is known.
    old_scope = {k: v for k, v in old_scope.items() if k != "discovery"}
    scope = {k: v for k, v in scope.items() if k != "discovery"}
    if old_scope.get("stripe_account") != scope.get("stripe_account"):
        warnings.append(
            f"the baseline is from Stripe account {old_scope.get('stripe_account') or '(own)'}, "
            f"this run reads {scope.get('stripe_account') or '(own)'}"
        )
    elif dict(old_scope) != dict(scope):
        warnings.append(f"the baseline covers another scope ({old_scope.get('type')})")
    if mode is not None and env.get("mode") not in (None, mode):
        warnings.append(f"the baseline is from {env.get('mode')} mode, this run is {mode} mode")
    if not report.complete:
        warnings.append("the baseline report was incomplete")
    return BaselineInfo(source, report, comparable=not warnings, warnings=tuple(warnings))


def discovery_mode(scope: Mapping[str, Any]) -> str | None:
    """The discovery mode a report's scope records (`accounts`, `customers`, `mixed`), if any:
    the unfiltered list covers every holder type, the fan-out customers' accounts only."""
    discovery = scope.get("discovery")
    mode = discovery.get("mode") if isinstance(discovery, Mapping) else None
    return mode if isinstance(mode, str) else None


def load_report(text: str, name: str) -> SavedReport:
    """Parse an fcaudit JSON report; `InputError` (exit 2) names what is wrong with it."""
    tip = "Tip: give a report written by 'fcaudit ... --format json'."
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as err:
        raise InputError(f"{name} is not JSON ({err}). {tip}") from None
    if not (isinstance(doc, dict) and isinstance(doc.get("tool"), dict)):
        raise InputError(f"{name} is not an fcaudit report. {tip}")
    if doc["tool"].get("name") != "fcaudit":
        raise InputError(f"{name} is not an fcaudit report. {tip}")
    version = str(doc.get("schema_version", ""))
    if version.split(".")[0] != READABLE_SCHEMA_MAJOR:
        raise InputError(
            f"{name} has schema_version {version!r}; this fcaudit reads {READABLE_SCHEMA_MAJOR}.x."
            " Tip: write the report again with this version of fcaudit."
        )
    records = doc.get("findings")
    if not isinstance(records, list):
        raise InputError(f"{name} has no findings[] (was it written as NDJSON?). {tip}")
    findings = []
    for i, record in enumerate(records):
        try:
            findings.append(from_record(record))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(f"{name}: findings[{i}] is not a finding. {tip}") from None
    return SavedReport(envelope=doc, findings=tuple(findings))
