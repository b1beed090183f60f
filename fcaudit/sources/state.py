"""The state store of incremental runs (`--state FILE`): SQLite through the standard library.

After a complete run it holds every account and authorization seen (id, holder, the fields
classification needs, when last seen), the time of the last full run and the events cursor.
The next run reads the FC events since the cursor, fetches what they name, and reclassifies
the whole inventory as of now, without listing it again.

Safety: the store is written in one transaction, only after a complete run, so an incomplete
or interrupted run never advances the cursor; a store from another Stripe account or mode is
refused; a corrupt file is an error with a hint, never silently reset.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fcaudit.errors import UsageError
from fcaudit.text import safe

FORMAT = "fcaudit-state/1"
# The fields classification and the report read; the rest of an object is not kept.
KEPT_FIELDS = (
    "id",
    "object",
    "status",
    "status_details",
    "account_holder",
    "authorization",
    "institution",
    "institution_name",
    "last4",
    "display_name",
    "livemode",
    "account_numbers",
    "balance_refresh",
    "ownership_refresh",
    "transaction_refresh",
    "inferred_balances_refresh",
    "created",
)
TIP = "Tip: give another --state file, or move this one away to start afresh with a full run."

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    holder TEXT,
    body TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_holder ON objects (holder);
"""


def kept(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the store keeps of an object."""
    return {k: obj[k] for k in KEPT_FIELDS if k in obj}


def holder_of(obj: Mapping[str, Any]) -> str | None:
    """The id of an account's holder (customer or account), or None: what the store indexes."""
    holder = obj.get("account_holder")
    if not isinstance(holder, Mapping):
        return None
    for key in ("customer", "customer_account", "account"):
        value = holder.get(key)
        if isinstance(value, Mapping):
            value = value.get("id")
        if isinstance(value, str) and value:
            return value
    return None


@dataclass(frozen=True)
class Identity:
    """Whose data a store holds: the mode and the Stripe account the key reads."""

    mode: str  # live | test
    account: str  # the account id (acct_...), or "(own)" when it could not be learnt


@dataclass(frozen=True)
class Header:
    """The store's metadata: its Stripe account and mode, last full run and events cursor."""

    identity: Identity
    last_full_run: datetime | None
    last_run: datetime | None
    cursor: int | None  # unix seconds: events from here on are not processed yet
    objects: int


class StateStore:
    """One SQLite file. Reads are plain; `commit_run` writes everything in one transaction."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._new = not os.path.exists(path)
        if not self._new and not os.path.isfile(path):
            raise UsageError(f"--state {safe(path)} is not a file. {TIP}")
        # A new store is created only by a complete run (commit_run): a failed first run
        # leaves no half-made file behind.
        self._db = sqlite3.connect(":memory:" if self._new else path, isolation_level=None)
        try:
            self._check()
        except sqlite3.DatabaseError as err:
            self.close()
            raise UsageError(
                f"--state {safe(path)} is not a readable fcaudit state file ({err}). {TIP}"
            ) from None

    def _check(self) -> None:
        if self._new:
            return
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        if not {"meta", "objects"} <= tables:
            raise sqlite3.DatabaseError("not an fcaudit state file")
        if self._meta("format") != FORMAT:
            raise sqlite3.DatabaseError(f"unknown format {self._meta('format')!r}")

    def close(self) -> None:
        """Close the database (and release its lock)."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def header(self) -> Header | None:
        """None for a store that never completed a run."""
        if self._new:
            return None
        full = self._meta("last_full_run")
        last = self._meta("last_run")
        cursor = self._meta("cursor")
        count = self._db.execute("SELECT count(*) FROM objects").fetchone()[0]
        return Header(
            identity=Identity(self._meta("mode") or "?", self._meta("account") or "?"),
            last_full_run=datetime.fromisoformat(full) if full else None,
            last_run=datetime.fromisoformat(last) if last else None,
            cursor=int(cursor) if cursor else None,
            objects=int(count),
        )

    def check_identity(self, identity: Identity) -> None:
        """Refuse (exit 2) a store written for another Stripe account or mode."""
        header = self.header()
        if header is None:
            return
        if header.identity != identity:
            was, now = header.identity, identity
            raise UsageError(
                f"--state {safe(self.path)} belongs to {was.account} in {was.mode} mode, and "
                f"this run reads {now.account} in {now.mode} mode. {TIP}"
            )

    def objects(self) -> Iterator[dict[str, Any]]:
        """Every stored object, one at a time (flat memory)."""
        if self._new:
            return
        for (body,) in self._db.execute("SELECT body FROM objects ORDER BY id"):
            yield json.loads(body)

    # -- writing ----------------------------------------------------------------------------

    def commit_run(
        self,
        *,
        identity: Identity,
        seen: Iterable[Mapping[str, Any]],
        cursor: int,
        when: datetime,
        full: bool,
        gone: Iterable[str] = (),
    ) -> int:
        """Record a complete run in one transaction: upsert what it saw, drop what is `gone`,
        and a full run also drops what it no longer saw (returns how many were dropped).
        Nothing is written if anything fails."""
        stamp = when.astimezone(UTC).isoformat()
        if self._new:
            self._db.close()
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.executescript(_SCHEMA)
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            if full:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS seen_ids (id TEXT PRIMARY KEY)")
                db.execute("DELETE FROM seen_ids")
            for obj in seen:
                oid = str(obj["id"])
                db.execute(
                    "INSERT INTO objects (id, kind, holder, body, last_seen) VALUES (?,?,?,?,?)"
                    " ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, holder=excluded.holder,"
                    " body=excluded.body, last_seen=excluded.last_seen",
                    (oid, str(obj.get("object")), holder_of(obj), json.dumps(kept(obj)), stamp),
                )
                if full:
                    db.execute("INSERT OR IGNORE INTO seen_ids VALUES (?)", (oid,))
            dropped = 0
            for oid in gone:
                dropped += db.execute("DELETE FROM objects WHERE id = ?", (oid,)).rowcount
            if full:
                dropped += db.execute(
                    "DELETE FROM objects WHERE id NOT IN (SELECT id FROM seen_ids)"
                ).rowcount
            meta = {
                "format": FORMAT,
                "mode": identity.mode,
                "account": identity.account,
                "cursor": str(cursor),
                "last_run": stamp,
            }
            if full:
                meta["last_full_run"] = stamp
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                list(meta.items()),
            )
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        self._new = False
        return int(dropped)
