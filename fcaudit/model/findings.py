"""What fcaudit says about one object: its category, signals, advice and event, as a record.

No I/O. `Finding.to_record()` / `from_record()` are the only places a finding's JSON shape is
defined (schema/report.schema.json describes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NewType

from fcaudit.stripe.ids import AUTHORIZATION_OBJECT

SCHEMA_VERSION = "1.1"
# Reports fcaudit can read back (a baseline, a diff): the same major version.
READABLE_SCHEMA_MAJOR = "1"


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
