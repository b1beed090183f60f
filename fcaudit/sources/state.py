"""The state store of incremental runs (`--state FILE`): SQLite through the standard library.

After a complete run it holds every account and authorization seen (id, holder, the fields
classification needs, when last seen), the time of the last full run and the events cursor.
The next run reads the FC events since the cursor, fetches what they name, and reclassifies
the whole inventory as of now, without listing it again.

Safety (README "What the store promises"): one run at a time holds the store; a run works on
a private copy and replaces the store by rename only after a complete run, keeping the store
before it as FILE.prev, so an incomplete, failed or killed run never changes the store or
advances the cursor; a store from another Stripe account or mode is refused; a damaged file
is an error naming it, never silently reset.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import quote

from fcaudit.errors import ExitCode, FcauditError, UsageError
from fcaudit.sources import transitions as history
from fcaudit.sources.stored import StoredRow
from fcaudit.text import safe

Change = history.Change  # fcaudit/sources/transitions.py: record_transition is THE writer
Transition = history.Transition
record_transition = history.record_transition

FORMAT = "fcaudit-state/2"
OLDER_FORMATS = ("fcaudit-state/1",)
RECENT = 4096  # objects whose history columns objects() keeps for category_of
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


class StateError(FcauditError):
    """The store could not be read or written for a reason outside the user's input: the disk
    is full, an I/O error, or another run holds it (exit 4)."""

    exit_code = ExitCode.API


# SQLite's own error names (Python 3.11+: `sqlite3.Error.sqlite_errorname`), by what they mean
# for the operator. https://www.sqlite.org/rescode.html
BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
NO_ROOM = ("SQLITE_FULL",)


def sqlite_name(err: sqlite3.Error) -> str:
    return str(getattr(err, "sqlite_errorname", "") or "")


def _lock_holder(handle: IO[str]) -> str:
    """Who holds the lock, as the holder wrote it into the lock file (pid and start time)."""
    with contextlib.suppress(OSError, ValueError):
        handle.seek(0)
        text = handle.read(200).strip()
        if text:
            return f" ({safe(text, limit=120)})"
    return ""


def header_of(meta: Mapping[str, str], objects: int) -> Header:
    """A store's metadata as a Header; ValueError names a value that is not what it should."""

    def when(key: str) -> datetime | None:
        value = meta.get(key)
        try:
            return datetime.fromisoformat(value) if value else None
        except ValueError:
            raise ValueError(f"its {key} {safe(value, limit=40)!r} is not a time") from None

    cursor = meta.get("cursor")
    if cursor and not cursor.isdigit():
        raise ValueError(f"its events cursor {safe(cursor, limit=40)!r} is not a number")
    return Header(
        identity=Identity(meta.get("mode") or "?", meta.get("account") or "?"),
        last_full_run=when("last_full_run"),
        last_run=when("last_run"),
        cursor=int(cursor) if cursor else None,
        objects=objects,
    )


class StateStore:
    """One store, held by this run from start to end.

    A run takes an OS lock (`flock` on `FILE.lock`: it dies with the process, so there is
    never a stale lock to clean), then works on a private copy of the store (`FILE.tmp-PID`,
    made with SQLite's backup API, which reads a consistent snapshot even while another
    program has the file open). `commit_run` writes the run into the copy, and `publish`
    makes it the store by renaming it over FILE, after keeping the previous store as
    FILE.prev (a hard link, renamed into place): a crash at any moment leaves FILE as the
    old store or the new one, complete, and a failed run leaves FILE, FILE.prev and the
    report as they were. A first run that fails leaves no store behind.
    """

    def __init__(self, path: str, *, wait: float = 0.0, sleep: Any = time.sleep) -> None:
        self.path = path  # as the user named it, for messages
        # The file itself: a symlinked store is replaced where it lives, as -o reports are.
        self.file = os.path.realpath(path)
        self.prev_path = f"{self.file}.prev"
        self._work = f"{self.file}.tmp-{os.getpid()}"
        self._linked = f"{self.file}.prev.tmp-{os.getpid()}"
        self._mode: int | None = None  # the store's permissions, kept by the new one
        self._db: sqlite3.Connection | None = None
        self._lock: IO[str] | None = None
        # The history columns of the objects objects() gave last, by id: category_of is asked
        # about each one right after (the --state stage), without a query each.
        self._recent: dict[str, tuple[str | None, ...]] = {}
        self._wait = max(0.0, wait)
        self.migrated_from: str | None = None  # the older format this store was read in
        folder = os.path.dirname(self.file)
        shown = safe(path)
        if not os.path.isdir(folder):
            raise UsageError(
                f"--state {shown}: the directory {safe(folder)} does not exist. Tip: create "
                "it, or give a --state path in an existing directory."
            )
        if os.path.isdir(self.file):
            raise UsageError(f"--state {shown} is a directory. Tip: name a file in it.")
        if os.path.exists(self.file) and not os.path.isfile(self.file):
            raise UsageError(f"--state {shown} is not a regular file. {TIP}")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(
                f"--state {shown}: the directory {safe(folder)} is not writable by this user "
                "(a run replaces the store there, and keeps the one before beside it). Tip: "
                "make it writable, or give a --state path in a writable directory."
            )
        try:
            self._take_lock(wait, sleep)
            self._new = not os.path.exists(self.file)
            if not self._new:
                self._check_writable()
                self._mode = os.stat(self.file).st_mode & 0o777
            self._db = self._open_work_copy()
            self._check()
        except BaseException:
            self.close()
            raise

    # -- opening ----------------------------------------------------------------------------

    def _take_lock(self, wait: float, sleep: Any) -> None:
        """Hold FILE.lock exclusively, waiting up to `wait` seconds for another run."""
        lock_path = f"{self.file}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            if err.errno == errno.EACCES and os.path.exists(lock_path):
                owner = os.stat(lock_path).st_uid
                raise UsageError(
                    f"--state {safe(self.path)}: its lock file {safe(lock_path)} belongs to "
                    f"another user (uid {owner}) ({err.strerror}). Tip: run fcaudit as the user "
                    "that owns the store; the lock file holds no data and may be removed when "
                    "no run is going on."
                ) from None
            raise self._io_error(err, "cannot create its lock file " + safe(lock_path)) from None
        self._lock = os.fdopen(fd, "r+", encoding="utf-8")
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _lock_holder(self._lock)
                    waited = f" after waiting {wait:g} s" if wait > 0 else ""
                    raise StateError(
                        f"--state {safe(self.path)} is in use by another fcaudit run{holder}"
                        f"{waited}. Tip: let that run finish, or give --state-wait (e.g. 10m) "
                        "to wait for it."
                    ) from None
                sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with contextlib.suppress(OSError):
            self._lock.seek(0)
            self._lock.truncate()
            self._lock.write(f"pid {os.getpid()}, started {started}\n")
            self._lock.flush()
        # What a killed run left behind: it can't be in use, since this run holds the lock.
        for leftover in glob.glob(glob.escape(self.file) + ".*tmp-*"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)

    def _check_writable(self) -> None:
        """A store this run could not replace is refused now, not after the whole scan."""
        try:
            with open(self.file, "r+b"):
                pass
        except OSError as err:
            raise UsageError(
                f"--state {safe(self.path)} cannot be opened for writing ({err.strerror}). Tip: "
                "make it readable and writable by this user (chmod u+rw), or give another "
                "--state file."
            ) from None

    def _open_work_copy(self) -> sqlite3.Connection:
        """The run's private copy of the store (a new, empty one before the first run)."""
        try:
            # Shared with the history stage (the pipeline calls it under its lock, any thread).
            db = sqlite3.connect(self._work, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as err:
            raise self._io_error(err, "cannot create its working copy") from None
        try:
            if self._new:
                db.executescript(_SCHEMA)
                history.add_history(db)
                return db
            source = sqlite3.connect(
                f"file:{quote(self.file)}?mode=ro",
                uri=True,
                timeout=self._wait,
                isolation_level=None,
            )
            try:
                # A read transaction first: it fails at once (SQLITE_BUSY) while another
                # program holds a write lock, where backup() alone would retry for ever; and
                # it keeps the snapshot the backup copies consistent.
                source.execute("BEGIN")
                source.execute("SELECT count(*) FROM sqlite_master").fetchone()
                source.backup(db)
            finally:
                source.close()
        except sqlite3.Error as err:
            db.close()
            with contextlib.suppress(OSError):
                os.unlink(self._work)
            raise self._sqlite_error(err) from None
        return db

    def _check(self) -> None:
        if self._new:
            return
        db = self.connection()
        try:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"its integrity check failed: {verdict}")
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            if not {"meta", "objects"} <= tables:
                raise sqlite3.DatabaseError("not an fcaudit state file")
            found = self._meta("format")
            if found in OLDER_FORMATS:
                self.migrated_from = history.migrate(db, FORMAT)  # in the private copy only
            elif found != FORMAT:
                raise sqlite3.DatabaseError(
                    f"unknown format {found!r}; this fcaudit reads {FORMAT} and "
                    f"{', '.join(OLDER_FORMATS)} (a newer fcaudit wrote it?)"
                )
        except sqlite3.Error as err:
            raise self._sqlite_error(err) from None

    def connection(self) -> sqlite3.Connection:
        """The run's working copy; sources/journal.py writes listen's events into it too."""
        if self._db is None:
            raise StateError(f"--state {safe(self.path)} is closed.")
        return self._db

    # -- errors -----------------------------------------------------------------------------

    def _io_error(self, err: OSError | sqlite3.Error, what: str) -> FcauditError:
        """A file-system failure in one line: no room and I/O errors exit 4, the rest 2."""
        if isinstance(err, sqlite3.Error):
            if sqlite_name(err) in NO_ROOM:
                return self._no_room()
            return UsageError(f"--state {safe(self.path)}: {what} ({err}). {TIP}")
        if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return self._no_room()
        if err.errno == errno.EIO:
            return StateError(f"--state {safe(self.path)}: {what}: an I/O error ({err.strerror}).")
        folder = safe(os.path.dirname(self.file))
        return UsageError(
            f"--state {safe(self.path)}: {what} ({err.strerror}). Tip: the store, its .prev and "
            f"the directory {folder} must be writable by this user (and not immutable); or give "
            "another --state path."
        )

    def _no_room(self) -> StateError:
        return StateError(
            f"--state {safe(self.path)}: the disk is full; the store and the report were left "
            "as they were. Tip: free space (a run needs room for a copy of the store and its "
            "previous generation), then re-run."
        )

    def _sqlite_error(self, err: sqlite3.Error) -> FcauditError:
        name = sqlite_name(err)
        shown = safe(self.path)
        if name in BUSY:
            return StateError(
                f"--state {shown} is locked by another program ({err}). It is not damaged. "
                "Tip: close the program that has it open (an sqlite3 shell?), then re-run."
            )
        if name in NO_ROOM:
            return self._no_room()
        if name.startswith("SQLITE_IOERR"):
            return StateError(
                f"--state {shown}: an I/O error ({err}); the store and the report were left as "
                "they were. Tip: check that the disk has room and is healthy, then re-run."
            )
        if name in DAMAGED or isinstance(err, sqlite3.DatabaseError):
            prev = safe(self.prev_path)
            tip = (
                f"Tip: {prev} holds the store before the last run: 'fcaudit state check "
                f"{prev}', then copy it over {shown} to go back to it."
                if os.path.isfile(self.prev_path)
                else TIP
            )
            return UsageError(
                f"--state {shown} is not a readable fcaudit state file ({err}). {tip}"
            )
        return StateError(f"--state {shown}: {err}.")

    def _damaged(self, what: str) -> FcauditError:
        """A store whose contents are wrong though SQLite reads it: named, never reset."""
        return self._sqlite_error(sqlite3.DatabaseError(what))

    def close(self) -> None:
        """Give up the run's copy (unless published) and release the lock."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        for leftover in (self._work, self._linked):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        if self._lock is not None:
            with contextlib.suppress(OSError, ValueError):
                self._lock.close()  # closing the descriptor releases the flock
            self._lock = None

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self.connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def header(self) -> Header | None:
        """None for a store that never completed a run."""
        if self._new:
            return None
        meta = dict(self.connection().execute("SELECT key, value FROM meta").fetchall())
        count = self.connection().execute("SELECT count(*) FROM objects").fetchone()[0]
        try:
            return header_of(meta, int(count))
        except ValueError as err:
            raise self._damaged(str(err)) from None

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
        """Every stored object, one at a time (flat memory). The latest ones' history columns
        are kept for category_of: a run asks about each object just after it read it, and a
        million point queries into a store far larger than SQLite's cache cost more per object
        than a hundred thousand do."""
        recent = self._recent
        for oid, obj, columns in self._rows():
            if len(recent) >= RECENT:
                del recent[next(iter(recent))]  # the oldest
            recent[oid] = columns
            yield obj

    def category_of(self, oid: str) -> tuple[str | None, ...] | None:
        """An object's stored (category, since, since_source, refreshes), or None."""
        known = self._recent.pop(oid, None)
        if known is not None:
            return known
        query = "SELECT category, since, since_source, refreshes FROM objects WHERE id = ?"
        row = None if self._new else self.connection().execute(query, (oid,)).fetchone()
        return None if row is None else tuple(row)

    def objects_with_since(self) -> Iterator[tuple[dict[str, Any], Any, Any, Any]]:
        """Every stored object, with its category, since and since_source (flat memory)."""
        for _, obj, (category, since, source, _) in self._rows():
            yield obj, category, since, source

    def _rows(self) -> Iterator[tuple[str, dict[str, Any], tuple[str | None, ...]]]:
        """Every stored object by id: (id, object, (category, since, since_source, refreshes))."""
        if self._new:
            return
        rows = self.connection().execute(
            "SELECT id, body, category, since, since_source, refreshes FROM objects ORDER BY id"
        )
        for oid, body, *columns in rows:
            try:
                obj = json.loads(body)
            except (ValueError, RecursionError):
                obj = None
            if not isinstance(obj, dict):
                raise self._damaged(f"the stored object {safe(oid, limit=60)} is not JSON")
            yield oid, obj, tuple(columns)

    def account_changes(self) -> Iterable[tuple[str, str | None, str, str]]:
        return history.account_changes(self.connection())  # for a trend, one account at a time

    def history_started(self) -> str | None:
        """When the store began recording categories (fcaudit-state/2's first run), or None."""
        return None if self._new else self._meta("history_started")

    # -- writing ----------------------------------------------------------------------------

    def commit_run(
        self,
        *,
        identity: Identity,
        seen: Iterable[StoredRow],
        cursor: int,
        when: datetime,
        full: bool,
        gone: Iterable[str] = (),
        changes: Iterable[Change] = (),
        refreshes: Iterable[tuple[str, str]] = (),
    ) -> int:
        """Record a complete run in one transaction: upsert what it saw, drop what is `gone`,
        and a full run also drops what it no longer saw (returns how many were dropped).
        `changes` (the history stage's) set categories and append transitions, as does every
        drop ("gone"). One pass over each iterable. Nothing is written if anything fails."""
        stamp = when.astimezone(UTC).isoformat()
        db = self.connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            if full:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS seen_ids (id TEXT PRIMARY KEY)")
                db.execute("DELETE FROM seen_ids")
            # Row by row from `seen` (a run's spill on disk): flat memory at any size. One
            # pass, so any iterable will do: read twice, a generator would give no ids the
            # second time and a full run would drop every object.
            for row in seen:
                db.execute(
                    "INSERT INTO objects (id, kind, holder, body, last_seen) VALUES (?,?,?,?,?)"
                    " ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, holder=excluded.holder,"
                    " body=excluded.body, last_seen=excluded.last_seen",
                    (*row, stamp),
                )
                if full:
                    db.execute("INSERT OR IGNORE INTO seen_ids VALUES (?)", (row.id,))
            history.apply_changes(db, changes, refreshes)
            dropped = 0
            source = "run:full" if full else "run:incremental"
            for oid in gone:
                db.execute(history.GONE + "id = ?", (stamp, source, oid))  # history first
                dropped += db.execute("DELETE FROM objects WHERE id = ?", (oid,)).rowcount
            if full:
                not_seen = "id NOT IN (SELECT id FROM seen_ids)"
                db.execute(history.GONE + not_seen, (stamp, source))
                dropped += db.execute("DELETE FROM objects WHERE " + not_seen).rowcount
            meta = {
                "format": FORMAT,
                "mode": identity.mode,
                "account": identity.account,
                "cursor": str(cursor),
                "last_run": stamp,
            }
            if full:
                meta["last_full_run"] = stamp
            if self.history_started() is None:
                meta["history_started"] = stamp
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                list(meta.items()),
            )
            db.execute("COMMIT")
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise self._sqlite_error(err) from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return int(dropped)

    def ready(self) -> None:
        """Everything of the replacement that can fail, before any report replaces another:
        the copy on disk with the store's permissions, and a link to the store as it is, to
        become FILE.prev. What is left (`publish`) is two renames."""
        db = self.connection()
        try:
            db.close()
            self._db = None
            if self._mode is not None:
                os.chmod(self._work, self._mode)
            _fsync(self._work)
            if os.path.exists(self.prev_path):
                with open(self.prev_path, "r+b"):  # an immutable one would refuse the rename
                    pass
            if not self._new:
                try:
                    os.link(self.file, self._linked)
                except OSError:  # a file system without hard links: a copy instead
                    shutil.copyfile(self.file, self._linked)
                    _fsync(self._linked)
        except OSError as err:
            raise self._io_error(err, "cannot prepare the new store") from None

    def publish(self) -> None:
        """Make the run's copy the store: FILE.prev becomes the store as it was, then the copy
        replaces FILE, both by rename (after `ready`). Then release the lock."""
        try:
            if self._db is not None:
                self.ready()
            if not self._new:
                os.replace(self._linked, self.prev_path)
            os.replace(self._work, self.file)
            _fsync(os.path.dirname(self.file))
        except OSError as err:
            raise self._io_error(err, "cannot replace the store") from None
        finally:
            self.close()


def _fsync(path: str) -> None:
    """Flush a file's (or a directory's) data to the disk before a rename depends on it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
