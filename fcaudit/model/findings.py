"""What fcaudit says about one object: its category, signals, advice and event, as a record.

No I/O. The record a report writes of a finding is declared once, in `FIELDS`: the order a
report writes its fields (the contract schema/report.schema.json describes), and for each, as
small Python expressions, how it is written from a finding (`f`), read back from a record
(`r`), and flattened into CSV cells at their place among the CSV columns. `to_record`,
`from_record` and `csv_values` are generated from the table when the module is imported, as
`dataclasses` generates `__init__`: straight-line code, as fast as the hand-written dict
literal it replaced (offline classify writes 100,000 records in two seconds; a loop over the
table per record would add a twentieth to that). Adding a field to the record is a Finding
attribute and one entry in `FIELDS`; a test checks that every attribute is declared or
deliberately left out (`NOT_IN_RECORD`).
"""

from __future__ import annotations

import dataclasses
import linecache
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NewType, SupportsIndex, TypeVar

from fcaudit.stripe.ids import AUTHORIZATION_OBJECT

SCHEMA_VERSION = "1.2"
# Reports fcaudit can read back (a baseline, a diff): the same major version.
READABLE_SCHEMA_MAJOR = "1"


ObjectId = NewType("ObjectId", str)


# A run of a million accounts spills findings to disk (fcaudit/spill.py) and reads them back:
# pickling is on that path. By default an enum member pickles as a call, `Category(value)`,
# and a slotted dataclass through its fields() one by one, which made a held finding's trip
# to disk and back cost as much as classifying it. These pickle a member as the name it has
# in its module and a finding as its class and field values in order.


class Contract(StrEnum):
    """A StrEnum whose members pickle by name (a lookup, not a call)."""

    def __reduce_ex__(self, protocol: SupportsIndex) -> str:  # type: ignore[override]
        return f"{type(self).__qualname__}.{self._name_}"


Slotted = TypeVar("Slotted")


def pickled_by_fields(cls: type[Slotted]) -> type[Slotted]:
    """Pickle a dataclass's instances as the class and its field values, in order (which its
    __init__ takes back): one C-level attrgetter instead of a Python loop over fields()."""
    values = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))  # type: ignore[arg-type]

    def __reduce__(self: Slotted) -> tuple[type[Slotted], tuple[Any, ...]]:
        return (cls, values(self))

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


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


class Category(Contract):
    """Classification categories, most urgent first. The strings are part of the JSON contract."""

    RELINK_REQUIRED = "relink_required"
    INACTIVE_UNREPAIRABLE = "inactive_unrepairable"
    INACTIVE_UNKNOWN = "inactive_unknown"
    ACCOUNT_NUMBER_UNUSABLE = "account_number_unusable"
    EXPIRING = "expiring"
    DISCONNECTED = "disconnected"
    UNKNOWN = "unknown"
    ACTIVE = "active"


# What "broken" means for trends, age metrics and the summary's `broken` counts: the link
# gives no data until someone acts (a relink, a new account). `expiring` still works; a
# `disconnected` account was let go on purpose; `unknown` is not known to be broken.
BROKEN = frozenset(
    {
        Category.RELINK_REQUIRED,
        Category.INACTIVE_UNREPAIRABLE,
        Category.INACTIVE_UNKNOWN,
        Category.ACCOUNT_NUMBER_UNUSABLE,
    }
)
# The age buckets of the summary's `by_age` and the Prometheus export: findings at least
# this many days in their category.
AGE_BUCKETS = (1, 7, 30, 90)

# Lower is more urgent: broken now, then about to break. Tables and findings[] sort by it.
SEVERITY: dict[Category, int] = {c: i for i, c in enumerate(Category)}


class SignalCode(Contract):
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
    REFRESH_STALE = "refresh_stale"  # a subscribed refresh last succeeded long ago
    REFRESH_FAILING = "refresh_failing"  # --state: its last refreshes all failed


class EventFlag(Contract):
    """What `--fail-on` may name besides categories and signals: a property of the event a
    finding came from (fcaudit events). The strings are part of the contract."""

    UNDELIVERED = "undelivered"  # a webhook endpoint has not acknowledged it within --grace


class Change(Contract):
    """How a finding compares with the baseline report. Part of the contract."""

    NEW = "new"  # absent from the baseline, or active there
    WORSE = "worse"  # a more urgent category, or the same one with an earlier deadline
    SAME = "same"
    BETTER = "better"  # less urgent (a finding that became active is also in resolved[])


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding is set aside (an --ignore entry), and until when."""

    id: str
    reason: str
    until: date | None = None
    categories: frozenset[str] | None = None

    def to_record(self) -> dict[str, Any]:
        """The suppression as the report writes it on a finding."""
        return {"reason": self.reason, "until": self.until.isoformat() if self.until else None}


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Signal:
    """One thing worth knowing about an object besides its category, with a date when it has one."""

    code: SignalCode
    detail: str
    date: datetime | None = None

    def to_record(self) -> dict[str, Any]:
        """The signal as the report's `signals[]` entry."""
        return {
            "code": str(self.code),
            "detail": self.detail,
            "date": iso(self.date) if self.date is not None else None,
        }


# Not frozen: a frozen dataclass sets each of its 30-odd fields through object.__setattr__,
# which made building findings a fifth of an offline classify. A finding is completed in
# place while it belongs to the run that made it (classify, then the stages: see
# stages.Stage); once a sink has it, treat it as immutable.
@pickled_by_fields
@dataclass(slots=True, eq=True)
class Finding:
    """One classified object. Its JSON record is declared once, in `FIELDS` below."""

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
    # --state: since when it is in its category, and how that is known (event: an event's
    # time; run: the run that first saw the change; first_seen: in it when the store first
    # saw it, so `since` is a lower bound). None without history.
    since: datetime | None = None
    since_source: str | None = None
    days_in_category: int | None = None
    # --min-age: newly broken, not broken for that long yet (listed, not counted for --fail-on).
    pending: bool | None = None
    # The subscribed refreshes (kind, status, last_attempted_at): what --state tracks.
    refreshes: tuple[tuple[str, str | None, int | None], ...] = field(
        default=(), compare=False, repr=False
    )
    # The object as fetched, kept only for detail views; never serialized.
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def severity(self) -> int:
        """The category's urgency: lower is more urgent (tables and findings[] sort by it)."""
        return SEVERITY[self.category]

    def sort_key(self) -> tuple[int, float, float, str]:
        """Severity first, then soonest expected deactivation, then the longest in its
        category (--state), then id: deterministic."""
        when = (
            self.expected_deactivation_date.timestamp()
            if self.expected_deactivation_date is not None
            else float("inf")
        )
        age = self.since.timestamp() if self.since is not None else float("inf")
        return (self.severity, when, age, self.id)

    def to_record(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict: its record, as `FIELDS` declares it."""
        return _to_record(self)

    @property
    def deadline(self) -> datetime | None:
        """The soonest date something breaks: the expected deactivation (which already
        includes an account number's expiry), else the earliest dated signal."""
        if self.expected_deactivation_date is not None:
            return self.expected_deactivation_date
        dates = [s.date for s in self.signals if s.code is SignalCode.ACCOUNT_NUMBER_EXPIRING]
        return min((d for d in dates if d is not None), default=None)


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
        """The reference of an Event object, keeping only well-formed values."""
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


# -- the record: THE declaration of a finding's fields ----------------------------------------


@dataclass(frozen=True)
class Cell:
    """One CSV column a field flattens into: its name, its place, and its value from `f`."""

    name: str
    place: int  # position among the CSV columns after `group_key` (0-based)
    value: str


@dataclass(frozen=True)
class Field:
    """One field of a finding's JSON record.

    `dump` writes it from the finding `f`; `load` reads it back from the record `r` as
    (Finding attribute, expression) pairs, empty when the field describes the run that wrote
    the report rather than the object (`change`, `suppressed`); `cells` are its CSV columns."""

    key: str
    dump: str
    load: tuple[tuple[str, str], ...]
    cells: tuple[Cell, ...] = ()


def plain(key: str, place: int | None, *, load: str | None = None) -> Field:
    """A field written as the Finding attribute of the same name, read back with `r.get`."""
    cells = (Cell(key, place, f"f.{key}"),) if place is not None else ()
    return Field(key, f"f.{key}", ((key, load or f"r.get({key!r})"),), cells)


def _when(attr: str) -> str:
    return f"iso(f.{attr}) if f.{attr} is not None else None"


_AUTHORIZATION_ONLY = "f.object == AUTHORIZATION_OBJECT"

FIELDS: tuple[Field, ...] = (
    plain("id", 0, load='str(r["id"])'),
    plain("object", 1, load='str(r["object"])'),
    Field(
        "category",
        "f.category",  # a str enum: written as its value, without a str() copy
        (("category", 'Category(r["category"])'),),
        (Cell("category", 2, "str(f.category)"),),
    ),
    plain("status", 3),
    plain("cause", 4),
    plain("action", 5),
    Field(
        "expected_deactivation_date",
        _when("expected_deactivation_date"),
        (("expected_deactivation_date", 'when(r.get("expected_deactivation_date"))'),),
        (Cell("expected_deactivation_date", 6, _when("expected_deactivation_date")),),
    ),
    plain("days_until_deactivation", 7),
    plain("institution_name", 9),
    Field(
        "account_holder",
        '{"type": f.account_holder_type, "id": f.account_holder}'
        " if f.account_holder_type or f.account_holder else None",
        (
            ("account_holder_type", 'holder(r).get("type")'),
            ("account_holder", 'holder(r).get("id")'),
        ),
        (
            Cell("account_holder_type", 10, "f.account_holder_type"),
            Cell("account_holder", 11, "f.account_holder"),
        ),
    ),
    plain("authorization", 12),
    plain("last4", 14),
    plain("display_name", 15),
    plain("livemode", 16),
    Field(
        "accounts",
        f"list(f.accounts) if {_AUTHORIZATION_ONLY} else None",
        (("accounts", 'tuple(r["accounts"]) if isinstance(r.get("accounts"), list) else ()'),),
        (Cell("accounts", 13, f"join(f.accounts) if {_AUTHORIZATION_ONLY} else None"),),
    ),
    plain("detail", 18),
    plain("recommendation", 19, load='str(r.get("recommendation") or "")'),
    Field(
        "signals",
        "[s.to_record() for s in f.signals] if f.signals else []",
        (("signals", 'tuple(read_signal(s) for s in r.get("signals") or ())'),),
        (Cell("signals", 17, "join(str(s.code) for s in f.signals)"),),
    ),
    plain("expected_deactivation_source", 8),
    plain("event_type", 20),
    Field(
        "event_created",
        _when("event_created"),
        (("event_created", 'when(r.get("event_created"))'),),
        (Cell("event_created", 21, _when("event_created")),),
    ),
    # CSV: the last columns (added after the others, so positional readers keep theirs).
    plain("event_id", 26),
    plain("pending_webhooks", 27),
    plain("undelivered", 28),
    plain("dashboard_url", 22),
    Field("change", "f.change", (), (Cell("change", 23, "f.change"),)),
    Field(
        "suppressed",
        "f.suppressed.to_record() if f.suppressed is not None else None",
        (),
        (
            Cell("suppressed", 24, "f.suppressed.reason if f.suppressed is not None else None"),
            Cell(
                "suppressed_until",
                25,
                "f.suppressed.until.isoformat() if f.suppressed and f.suppressed.until else None",
            ),
        ),
    ),
    plain("stripe_account", None),
    Field(
        "since",
        _when("since"),
        (("since", 'when(r.get("since"))'),),
        (Cell("since", 29, _when("since")),),
    ),
    plain("since_source", 30),
    plain("days_in_category", 31),
    plain("pending", 32),
)

# Finding attributes that are not part of the record, and why.
NOT_IN_RECORD = {
    "raw": "the object as fetched, kept for detail views only",
    "refreshes": "what --state tracks of the subscribed refreshes; signals say what it means",
}


def when(value: Any) -> datetime | None:
    """An ISO 8601 time read back from a record, or None."""
    return parse_iso(value) if isinstance(value, str) else None


def holder(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """A record's account_holder object, or an empty one."""
    return record.get("account_holder") or {}


def read_signal(record: Mapping[str, Any]) -> Signal:
    """A signal read back from a record's `signals[]`."""
    return Signal(
        SignalCode(record["code"]), str(record.get("detail") or ""), when(record.get("date"))
    )


def join(values: Iterable[str]) -> str:
    """A multi-valued CSV cell: each value once, in order, joined with `;`."""
    return ";".join(dict.fromkeys(values))


def _compile(name: str, source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {
        "AUTHORIZATION_OBJECT": AUTHORIZATION_OBJECT,
        "Category": Category,
        "Finding": Finding,
        "iso": iso,
        "when": when,
        "holder": holder,
        "read_signal": read_signal,
        "join": join,
    }
    filename = f"<fcaudit.model.findings {name}>"
    # Registered with linecache, so a traceback through the generated code shows its lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


_ATTRIBUTES = {f.name for f in dataclasses.fields(Finding)}
for _field in FIELDS:  # the generated code may only name the Finding's own attributes
    if not _field.key.isidentifier() or not {a for a, _ in _field.load} <= _ATTRIBUTES:
        raise AssertionError(f"FIELDS: {_field.key!r} is not a Finding field")

_CELLS = sorted((c for f in FIELDS for c in f.cells), key=lambda c: c.place)
if [c.place for c in _CELLS] != list(range(len(_CELLS))):
    raise AssertionError("the CSV places of FIELDS must be 0, 1, 2, ... each once")

CSV_COLUMNS: tuple[str, ...] = tuple(c.name for c in _CELLS)
_LOADED = [pair for f in FIELDS for pair in f.load]

# The finding as a JSON-ready dict (Finding.to_record): the record every format but CSV writes.
_to_record: Callable[[Finding], dict[str, Any]] = _compile(
    "to_record",
    "def to_record(f):\n    return {\n"
    + "".join(f"        {f.key!r}: {f.dump},\n" for f in FIELDS)
    + "    }\n",
)
# A finding read back from a report's `findings[]` (the inverse of `to_record`); raises
# ValueError (or KeyError / TypeError / AttributeError) when the record is not a finding.
from_record: Callable[[Mapping[str, Any]], Finding] = _compile(
    "from_record",
    "def from_record(r):\n    return Finding(\n"
    + "".join(f"        {attr}={expr},\n" for attr, expr in _LOADED)
    + "    )\n",
)
# The finding's values in CSV_COLUMNS order, before the CSV renderer makes them cells.
csv_values: Callable[[Finding], tuple[object, ...]] = _compile(
    "csv_values",
    "def csv_values(f):\n    return (\n"
    + "".join(f"        {c.value},\n" for c in _CELLS)
    + "    )\n",
)
