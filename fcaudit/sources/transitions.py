"""The history tables of a --state store (fcaudit-state/2) and THE function that appends to
them: `record_transition`. The store itself is fcaudit/sources/state.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from fcaudit.model.findings import iso

# fcaudit-state/2: each object's category and since when it is in it, and every change.
_HISTORY = """
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    holder TEXT,
    category_from TEXT,
    category_to TEXT NOT NULL,
    at TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_id ON transitions (id, at);
CREATE INDEX IF NOT EXISTS transitions_holder ON transitions (holder);
"""
_OBJECT_HISTORY_COLUMNS = (
    ("category", "TEXT"),  # as the last run classified it; NULL before fcaudit-state/2
    ("since", "TEXT"),  # when it entered that category (UTC, ISO 8601)
    ("since_source", "TEXT"),  # event | run | first_seen (`since` is then a lower bound)
    # The subscribed refreshes as runs saw them (JSON: by field, the last success, the
    # failures in a row, the last attempt counted): refresh_stale and refresh_failing.
    ("refreshes", "TEXT"),
)
TRANSITION = (
    "INSERT INTO transitions (id, kind, holder, category_from, category_to, at, source)"
    " VALUES (?,?,?,?,?,?,?)"
)


@dataclass(frozen=True)
class Transition:
    """One category change of an account or authorization, as the store records it.

    `category_from` is None when the store first saw the object; `category_to` is a category
    or "gone" (no longer listed, or deleted at Stripe). `at` is when it happened as far as
    the writer knows (an event's `created`, else the run's time); `source` says what showed
    it: `event:evt_...` (an event a run read), `run:full` / `run:incremental` (a run's own
    classification), or what another writer names (`webhook:evt_...`)."""

    id: str
    kind: str
    holder: str | None
    category_from: str | None
    category_to: str
    at: datetime
    source: str

    def row(self) -> tuple[str, str, str | None, str | None, str, str, str]:
        """The transitions row (without its sequence number)."""
        at = iso(self.at)
        return (
            self.id,
            self.kind,
            self.holder,
            self.category_from,
            self.category_to,
            at,
            self.source,
        )


@dataclass(frozen=True)
class Change:
    """What a run writes for an object whose category is not the stored one: its row's new
    category and since, and the transition to append (None: a first sight of an active
    object, which is not history worth a row)."""

    id: str
    category: str
    since: str  # UTC ISO 8601
    since_source: str  # event | run | first_seen
    transition: Transition | None


def record_transition(db: sqlite3.Connection, transitions: Iterable[Transition]) -> int:
    """Append category changes to a store's `transitions` table; how many were appended.

    THE one way anything writes history (the runs of `fcaudit scan --state`, and any other
    writer such as a webhook listener): the caller owns the transaction (call it between
    BEGIN and COMMIT, on a store it holds: StateStore's lock and private copy), and records a
    change only when the category changed (`fcaudit history` prints every row; `fcaudit trend`
    rebuilds each day from them). Rows are only appended, in `seq` order; `at` is UTC ISO
    8601. The caller also sets the object's `category`, `since` and `since_source` columns
    in the `objects` table (see `StateStore.commit_run`)."""
    before = db.total_changes
    db.executemany(TRANSITION, (t.row() for t in transitions))
    return db.total_changes - before


def add_history(db: sqlite3.Connection) -> None:
    """The fcaudit-state/2 additions: objects' category columns and the transitions table
    (a new store, or an fcaudit-state/1 one migrated in the run's private copy)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(objects)")}
    for name, kind in _OBJECT_HISTORY_COLUMNS:
        if name not in columns:
            db.execute(f"ALTER TABLE objects ADD COLUMN {name} {kind}")
    db.executescript(_HISTORY)


# Appends "gone" for the objects a WHERE clause (appended) names, before they are deleted.
GONE = (
    "INSERT INTO transitions (id, kind, holder, category_from, category_to, at, source)"
    " SELECT id, kind, holder, category, 'gone', ?, ? FROM objects WHERE "
)


def apply_changes(
    db: sqlite3.Connection, changes: Iterable[Change], refreshes: Iterable[tuple[str, str]] = ()
) -> None:
    """A run's changes (in its transaction): each object's new category and since, and the
    transitions worth a row; then the refresh records that changed ((json, id) pairs). One
    pass over each, one statement or two per change."""
    db.executemany("UPDATE objects SET refreshes = ? WHERE id = ?", refreshes)
    for change in changes:
        db.execute(
            "UPDATE objects SET category = ?, since = ?, since_source = ? WHERE id = ?",
            (change.category, change.since, change.since_source, change.id),
        )
        if change.transition is not None:
            db.execute(TRANSITION, change.transition.row())


def migrate(db: sqlite3.Connection, to: str) -> str:
    """Upgrade an older store (in the run's private copy: the file on disk is replaced only by
    a complete run, and FILE.prev then keeps the older format); the format it had."""
    found = str(db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0])
    add_history(db)
    db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (to,))
    return found


def account_changes(db: sqlite3.Connection) -> Iterable[tuple[str, str | None, str, str]]:
    """Every account's changes (id, from, to, at), by account then in order: what a trend
    rebuilds each day from, one account at a time (fcaudit.model.trend)."""
    query = (
        "SELECT id, category_from, category_to, at FROM transitions WHERE kind = ?"
        " ORDER BY id, at, seq"
    )
    return db.execute(query, ("financial_connections.account",))
