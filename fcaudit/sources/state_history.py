"""Reading a --state store's history without a run: `fcaudit history` and `fcaudit trend`.

Read-only and without the lock: runs never write the store in place (they replace it by
rename), so the file opened here is always one complete generation. A store of the older
format (fcaudit-state/1) has no history yet; the next `scan --state` run migrates it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fcaudit.errors import UsageError
from fcaudit.model.ages import record_of_since
from fcaudit.model.findings import iso
from fcaudit.sources.journal import journal_path
from fcaudit.sources.state import BUSY, FORMAT, OLDER_FORMATS, StateError, sqlite_name
from fcaudit.sources.transitions import account_changes
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.ids import kind_of
from fcaudit.text import safe


@dataclass(frozen=True)
class Row:
    """One category change, as `fcaudit history` prints it."""

    id: str
    kind: str
    holder: str | None
    category_from: str | None
    category_to: str
    at: str
    source: str

    def to_record(self) -> dict[str, Any]:
        """The change as `fcaudit history -f json` writes it."""
        return {
            "id": self.id,
            "object": self.kind,
            "holder": self.holder,
            "category_from": self.category_from,
            "category_to": self.category_to,
            "at": self.at,
            "source": self.source,
        }


class HistoryReader:
    """A store opened read-only for its history."""

    def __init__(self, path: str) -> None:
        self.path = path
        shown = safe(path)
        if not os.path.isfile(path):
            raise UsageError(
                f"--state {shown}: no such file. Tip: check the path; 'fcaudit scan --state "
                f"{shown}' creates the store and starts its history."
            )
        try:
            self._db = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=1)
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as err:
            if sqlite_name(err) in BUSY:
                raise StateError(
                    f"--state {shown} is locked by another program ({err}). Tip: close it, "
                    "then re-run."
                ) from None
            raise UsageError(
                f"--state {shown} is not a readable fcaudit state file ({err}). Tip: "
                f"'fcaudit state check {shown}' says what is wrong with it."
            ) from None
        found = meta.get("format")
        if found in OLDER_FORMATS:
            self._db.close()
            raise UsageError(
                f"--state {shown} is an {found} store, which keeps no history. Tip: run "
                f"'fcaudit scan --state {shown}' once: it upgrades the store to {FORMAT} and "
                "history starts with that run."
            )
        if found != FORMAT:
            self._db.close()
            raise UsageError(
                f"--state {shown} has the unknown format {safe(found or '(none)')!r}; this "
                f"fcaudit reads {FORMAT}. Tip: use the fcaudit that wrote it."
            )
        started = record_of_since(meta.get("history_started"))
        self.started = started
        self.notes: list[str] = []  # what could not be read, said with the history
        self.mode = meta.get("mode")
        self.account = meta.get("account")

    def close(self) -> None:
        """Close the store."""
        self._db.close()

    def __enter__(self) -> HistoryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ids_for(self, scope: str) -> tuple[list[str] | None, str | None]:
        """What a scope names: (object ids, None) for an account or an authorization (with
        the accounts under it), or (None, holder) for a customer or connected account."""
        kind = kind_of(scope)
        if kind is id_kinds.AUTHORIZATION:
            under = self._db.execute(
                "SELECT id FROM objects WHERE json_extract(body, '$.authorization') = ?1"
                " OR json_extract(body, '$.authorization.id') = ?1 ORDER BY id",
                (scope,),
            )
            return [scope, *(r[0] for r in under)], None
        if kind is id_kinds.ACCOUNT:
            return [scope], None
        return None, scope

    def changes(self, scope: str) -> list[Row]:
        """Every recorded change of what the scope names, oldest first: the runs' and, for
        changes no run recorded from the same event, those `fcaudit listen` received."""
        ids, holder = self.ids_for(scope)
        columns = "id, kind, holder, category_from, category_to, at, source"
        if ids is None:
            rows = self._db.execute(
                f"SELECT {columns} FROM transitions WHERE holder = ? ORDER BY at, seq", (holder,)
            ).fetchall()
            ids = [
                r[0] for r in self._db.execute("SELECT id FROM objects WHERE holder = ?", (holder,))
            ]
        else:
            marks = ",".join("?" * len(ids))
            rows = self._db.execute(
                f"SELECT {columns} FROM transitions WHERE id IN ({marks}) ORDER BY at, seq", ids
            ).fetchall()
        found = [Row(*r) for r in rows]
        heard = _not_recorded(self._listened(ids, holder), found)
        return sorted([*found, *heard], key=lambda r: r.at) if heard else found

    def _listened(self, ids: list[str], holder: str | None) -> list[Row]:
        """The category changes `fcaudit listen` received about `ids`: merged into the store
        by a run (`listen_events`), or still in its journal beside the store (FILE.journal,
        read-only; sources/journal.py). An unreadable journal is noted, not an error."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        where = (
            f"object_id IN ({marks}) AND category_after IS NOT NULL"
            " AND category_before IS NOT category_after"
        )
        columns = "event_id, object_id, object, created, category_before, category_after"
        rows: list[tuple[Any, ...]] = []
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        if "listen_events" in tables:
            rows += self._db.execute(f"SELECT {columns} FROM listen_events WHERE {where}", ids)
        path = journal_path(self.path)
        if os.path.isfile(path):
            merged = self._db.execute("SELECT value FROM meta WHERE key = 'journal_seq'").fetchone()
            done = int(merged[0]) if merged and str(merged[0]).isdigit() else 0
            try:
                with contextlib.closing(
                    sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=1)
                ) as db:
                    rows += db.execute(
                        f"SELECT {columns} FROM events WHERE seq > ? AND {where}", (done, *ids)
                    ).fetchall()
            except sqlite3.Error as err:
                self.notes.append(f"the listen journal {safe(path)} could not be read ({err})")
        return [
            Row(str(oid), str(kind), holder, before, str(after), _iso(created), f"listen:{eid}")
            for eid, oid, kind, created, before, after in rows
        ]

    def current(self, scope: str) -> list[dict[str, Any]]:
        """What the scope's objects are in now (as the last run recorded), by id."""
        ids, holder = self.ids_for(scope)
        columns = "id, kind, category, since, since_source"
        if ids is None:
            rows = self._db.execute(
                f"SELECT {columns} FROM objects WHERE holder = ? ORDER BY id", (holder,)
            ).fetchall()
        else:
            marks = ",".join("?" * len(ids))
            rows = self._db.execute(
                f"SELECT {columns} FROM objects WHERE id IN ({marks}) ORDER BY id", ids
            ).fetchall()
        return [
            {"id": r[0], "object": r[1], "category": r[2], "since": r[3], "since_source": r[4]}
            for r in rows
        ]

    def account_changes(self) -> Iterable[tuple[str, str | None, str, str]]:
        """Every account's changes, one account at a time (`fcaudit trend`)."""
        return account_changes(self._db)


def _iso(created: Any) -> str:
    """An event's `created` (Unix seconds) as the transitions' `at` is written."""
    try:
        return iso(datetime.fromtimestamp(int(created), UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return "(unknown time)"


def _not_recorded(heard: list[Row], recorded: list[Row]) -> list[Row]:
    """What listen heard that no run recorded: a run's change of the same object, from and to
    the same categories, is the same change (each run's row stands for one of listen's, the
    nearest in time: a run dates a change by the event that showed it, or by its own time)."""
    left = sorted(heard, key=lambda r: r.at)
    for r in recorded:
        same = [
            h
            for h in left
            if (h.id, h.category_from, h.category_to) == (r.id, r.category_from, r.category_to)
        ]
        if same:
            left.remove(min(same, key=lambda h: abs(_seconds(h.at) - _seconds(r.at))))
    return left


def _seconds(at: str) -> float:
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
