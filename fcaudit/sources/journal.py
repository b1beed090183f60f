"""The listen journal (`FILE.journal` beside a `--state FILE` store): what `fcaudit listen`
received, kept durably until a scan merges it into the store.

Why a file of its own: a scan works on a private copy of the store and renames it over FILE
(sources/state.py), so anything written into FILE while a scan runs would be lost by that
rename. The journal is never renamed: `listen` appends to it in short transactions (SQLite
WAL, `synchronous=FULL`: a committed event survives a crash or power loss), and a scan only
reads it. A complete scan copies the journal's events it has not merged yet into the store's
table `listen_events` and records the last one merged (`meta.journal_seq`) in the same new
store it publishes; only after the publish does it prune merged events from the journal (and
only those older than Stripe's 30-day retention, so a replayed id is still recognised). A
scan that fails merges nothing; one killed after its publish but before its prune merges
nothing twice (it starts after `journal_seq`). Neither blocks the other for longer than one
short transaction.

For `fcaudit history`: each change listen saw is a row of `events` (not yet merged) or of the
store's `listen_events` (merged), with the same columns: seq, event_id, type, object_id,
object, created (the event's, unix seconds), received (ISO 8601), category_before,
category_after. `category_before` is NULL for an object listen knew nothing of;
`category_before == category_after` means the event changed nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

FORMAT = "fcaudit-journal/1"
BUSY_MS = 5000  # a write waits this long for a scan's read or prune, then fails (answer 503)
KEEP = timedelta(days=30)  # Stripe keeps (and may resend) an event for 30 days
COLUMNS = (
    "seq, event_id, type, object_id, object, created, received, category_before, category_after"
)

# An event's columns after `seq`: the journal's `events` and the store's `listen_events` (the
# same rows, merged by a scan) are the same table.
_EVENT_COLUMNS = """
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    object_id TEXT,
    object TEXT,
    created INTEGER,
    received TEXT NOT NULL,
    category_before TEXT,
    category_after TEXT"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,{_EVENT_COLUMNS}
);
CREATE TABLE IF NOT EXISTS latest (
    object_id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    created INTEGER NOT NULL,
    received TEXT NOT NULL,
    body TEXT NOT NULL
);
"""
_STORE_TABLE = f"""
CREATE TABLE IF NOT EXISTS listen_events (
    seq INTEGER PRIMARY KEY,{_EVENT_COLUMNS}
);
CREATE INDEX IF NOT EXISTS listen_events_object ON listen_events (object_id);
"""


_NINE = ",".join("?" * 9)


def journal_path(store: str) -> str:
    """The journal beside a store (the store's real path: a symlinked store keeps its journal
    where the store lives)."""
    return os.path.realpath(store) + ".journal"


@dataclass(frozen=True)
class Entry:
    """One verified event to record: what it says of one object, already classified."""

    event_id: str
    type: str
    object_id: str | None
    object: str | None
    created: int
    category: str | None  # the object's category as the event shows it (None: not an FC object)
    body: Mapping[str, Any] | None  # what the store keeps of the object


@dataclass(frozen=True)
class Recorded:
    """What recording an entry did: `replay` (the id was recorded before: nothing changed),
    else the category before and after (equal: no change; `before` None: first seen)."""

    replay: bool
    before: str | None = None
    after: str | None = None

    @property
    def changed(self) -> bool:
        """A new event that moved its object to another category."""
        return not self.replay and self.after is not None and self.before != self.after


def connect(path: str, *, timeout_ms: int = BUSY_MS) -> sqlite3.Connection:
    """The journal, created if missing, in WAL mode with every commit synced to disk."""
    # Opened by one thread and used by listen's writer thread (only ever one at a time).
    db = sqlite3.connect(
        path, isolation_level=None, timeout=timeout_ms / 1000, check_same_thread=False
    )
    try:
        db.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        # https://www.sqlite.org/pragma.html#pragma_synchronous: FULL in WAL mode syncs the
        # WAL at each commit, so a commit survives power loss (NORMAL may lose the last ones).
        db.execute("PRAGMA synchronous = FULL")
        db.executescript(_SCHEMA)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (FORMAT,))
        found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if found is None or found[0] != FORMAT:
            raise sqlite3.DatabaseError(f"not an fcaudit journal ({found and found[0]!r})")
    except BaseException:
        db.close()
        raise
    return db


class Journal:
    """The journal as listen writes it: one writer connection, batches in one transaction."""

    def __init__(self, store: str, *, timeout_ms: int = BUSY_MS) -> None:
        self.store = os.path.realpath(store)
        self.path = journal_path(store)
        self._db = connect(self.path, timeout_ms=timeout_ms)

    def close(self) -> None:
        """Close the connection (every batch recorded is already on disk)."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def record(self, entries: list[Entry], now: datetime) -> list[Recorded]:
        """Record a batch in one transaction (one sync to disk for all of them): all of it
        is on disk when this returns, or none of it and sqlite3.Error is raised."""
        db = self._db
        received = now.astimezone(UTC).isoformat()
        db.execute("BEGIN IMMEDIATE")
        try:
            results = [self._one(db, entry, received, now) for entry in entries]
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return results

    def _one(self, db: sqlite3.Connection, e: Entry, received: str, now: datetime) -> Recorded:
        if db.execute("SELECT 1 FROM events WHERE event_id = ?", (e.event_id,)).fetchone():
            return Recorded(replay=True)
        before: str | None = None
        after: str | None = e.category
        if e.object_id is not None and e.category is not None and e.body is not None:
            row = db.execute(
                "SELECT category, created FROM latest WHERE object_id = ?", (e.object_id,)
            ).fetchone()
            before = row[0] if row is not None else self._stored_category(e.object_id, now)
            if row is not None and e.created < row[1]:
                after = before  # an older event arriving late says nothing new
            else:
                db.execute(
                    "INSERT INTO latest VALUES (?,?,?,?,?) ON CONFLICT(object_id) DO UPDATE SET"
                    " category=excluded.category, created=excluded.created,"
                    " received=excluded.received, body=excluded.body",
                    (e.object_id, e.category, e.created, received, json.dumps(e.body)),
                )
        db.execute(
            f"INSERT INTO events ({COLUMNS.split(', ', 1)[1]}) VALUES (?,?,?,?,?,?,?,?)",
            (e.event_id, e.type, e.object_id, e.object, e.created, received, before, after),
        )
        return Recorded(replay=False, before=before, after=after)

    def _stored_category(self, object_id: str, now: datetime) -> str | None:
        """The object's category as the store's last scan saw it, or None (no store, or not
        in it). The store is read, never written: a scan may be replacing it meanwhile."""
        from fcaudit.classify import NotClassifiable, classify

        if not os.path.isfile(self.store):
            return None
        try:
            db = sqlite3.connect(f"file:{quote(self.store)}?mode=ro", uri=True, timeout=1)
            try:
                row = db.execute("SELECT body FROM objects WHERE id = ?", (object_id,)).fetchone()
            finally:
                db.close()
            obj = json.loads(row[0]) if row else None
            return str(classify(obj, now=now).category) if isinstance(obj, dict) else None
        except (sqlite3.Error, ValueError, RecursionError, NotClassifiable):
            return None


def merge_into(store_db: sqlite3.Connection, store_file: str) -> tuple[int, int | None]:
    """Copy the journal's events not merged yet into the store's `listen_events` (a scan's
    working copy, before it is published): (how many, the last seq merged, or None)."""
    path = store_file + ".journal"
    if not os.path.isfile(path):
        return 0, None
    store_db.executescript(_STORE_TABLE)
    row = store_db.execute("SELECT value FROM meta WHERE key = 'journal_seq'").fetchone()
    done = int(row[0]) if row and str(row[0]).isdigit() else 0
    journal = connect(path)
    try:
        journal.execute("BEGIN")  # one snapshot: listen's later commits wait for the next scan
        rows: Iterator[Any] = journal.execute(
            f"SELECT {COLUMNS} FROM events WHERE seq > ? ORDER BY seq", (done,)
        )
        last, count = done, 0
        store_db.execute("BEGIN IMMEDIATE")
        try:
            for values in rows:
                store_db.execute(
                    f"INSERT OR IGNORE INTO listen_events VALUES ({'?,' * 8}?)", values
                )
                last, count = int(values[0]), count + 1
            store_db.execute(
                "INSERT INTO meta VALUES ('journal_seq', ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(last),),
            )
            store_db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                store_db.execute("ROLLBACK")
            raise
        journal.execute("COMMIT")
    finally:
        journal.close()
    return count, last


def prune(store_file: str, upto: int, now: datetime) -> int:
    """After the store holding events up to `upto` is published: drop those older than
    Stripe's retention from the journal (a short write transaction)."""
    path = store_file + ".journal"
    if not os.path.isfile(path):
        return 0
    cutoff = (now - KEEP).astimezone(UTC).isoformat()
    journal = connect(path)
    try:
        cur = journal.execute("DELETE FROM events WHERE seq <= ? AND received < ?", (upto, cutoff))
        return int(cur.rowcount)
    finally:
        journal.close()
