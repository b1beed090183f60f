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
    """The id of an account's holder (a customer, an Accounts v2 customer account, or a
    connected account), or None: what the store indexes."""
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


class StateError(FcauditError):
    """The store could not be read or written for a reason outside the user's input: the disk
    is full, an I/O error, or another run holds it (exit 4)."""

    exit_code = ExitCode.API


# SQLite's own error names (Python 3.11+: `sqlite3.Error.sqlite_errorname`), by what they mean
# for the operator. https://www.sqlite.org/rescode.html
_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_NO_ROOM = ("SQLITE_FULL",)


def _sqlite_name(err: sqlite3.Error) -> str:
    return str(getattr(err, "sqlite_errorname", "") or "")


def _lock_holder(handle: IO[str]) -> str:
    """Who holds the lock, as the holder wrote it into the lock file (pid and start time)."""
    with contextlib.suppress(OSError, ValueError):
        handle.seek(0)
        text = handle.read(200).strip()
        if text:
            return f" ({safe(text, limit=120)})"
    return ""


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
        self.path = path
        self.prev_path = f"{path}.prev"
        self._work = f"{path}.tmp-{os.getpid()}"
        self._db: sqlite3.Connection | None = None
        self._lock: IO[str] | None = None
        self._wait = max(0.0, wait)
        folder = os.path.dirname(os.path.abspath(path))
        shown = safe(path)
        if not os.path.isdir(folder):
            raise UsageError(
                f"--state {shown}: the directory {safe(folder)} does not exist. Tip: create "
                "it, or give a --state path in an existing directory."
            )
        if os.path.exists(path) and not os.path.isfile(path):
            raise UsageError(f"--state {shown} is not a file. {TIP}")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(
                f"--state {shown}: the directory {safe(folder)} is not writable by this user "
                "(a run replaces the store there, and keeps the one before beside it). Tip: "
                "make it writable, or give a --state path in a writable directory."
            )
        try:
            self._take_lock(wait, sleep)
            self._new = not os.path.exists(path)
            if not self._new:
                self._check_writable()
            self._db = self._open_work_copy()
            self._check()
        except BaseException:
            self.close()
            raise

    # -- opening ----------------------------------------------------------------------------

    def _take_lock(self, wait: float, sleep: Any) -> None:
        """Hold FILE.lock exclusively, waiting up to `wait` seconds for another run."""
        lock_path = f"{self.path}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
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
        for leftover in glob.glob(glob.escape(self.path) + ".*tmp-*"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)

    def _check_writable(self) -> None:
        """A store this run could not replace is refused now, not after the whole scan."""
        try:
            with open(self.path, "r+b"):
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
            db = sqlite3.connect(self._work, isolation_level=None)
        except sqlite3.Error as err:
            raise self._io_error(err, "cannot create its working copy") from None
        try:
            if self._new:
                db.executescript(_SCHEMA)
                return db
            source = sqlite3.connect(
                f"file:{quote(self.path)}?mode=ro",
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
        db = self._conn()
        try:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"its integrity check failed: {verdict}")
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            if not {"meta", "objects"} <= tables:
                raise sqlite3.DatabaseError("not an fcaudit state file")
            if self._meta("format") != FORMAT:
                raise sqlite3.DatabaseError(f"unknown format {self._meta('format')!r}")
        except sqlite3.Error as err:
            raise self._sqlite_error(err) from None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StateError(f"--state {safe(self.path)} is closed.")
        return self._db

    # -- errors -----------------------------------------------------------------------------

    def _io_error(self, err: OSError | sqlite3.Error, what: str) -> FcauditError:
        """A file-system failure in one line: no room and I/O errors exit 4, the rest 2."""
        if isinstance(err, sqlite3.Error):
            if _sqlite_name(err) in _NO_ROOM:
                return self._no_room()
            return UsageError(f"--state {safe(self.path)}: {what} ({err}). {TIP}")
        if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return self._no_room()
        if err.errno == errno.EIO:
            return StateError(f"--state {safe(self.path)}: {what}: an I/O error ({err.strerror}).")
        folder = safe(os.path.dirname(os.path.abspath(self.path)))
        return UsageError(
            f"--state {safe(self.path)}: {what} ({err.strerror}). Tip: the directory {folder} "
            "must be writable by this user; or give another --state path."
        )

    def _no_room(self) -> StateError:
        return StateError(
            f"--state {safe(self.path)}: the disk is full; the store and the report were left "
            "as they were. Tip: free space (a run needs room for a copy of the store and its "
            "previous generation), then re-run."
        )

    def _sqlite_error(self, err: sqlite3.Error) -> FcauditError:
        name = _sqlite_name(err)
        shown = safe(self.path)
        if name in _BUSY:
            return StateError(
                f"--state {shown} is locked by another program ({err}). It is not damaged. "
                "Tip: close the program that has it open (an sqlite3 shell?), then re-run."
            )
        if name in _NO_ROOM:
            return self._no_room()
        if name.startswith("SQLITE_IOERR"):
            return StateError(
                f"--state {shown}: an I/O error ({err}); the store and the report were left as "
                "they were. Tip: check that the disk has room and is healthy, then re-run."
            )
        if name in _DAMAGED or isinstance(err, sqlite3.DatabaseError):
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

    def close(self) -> None:
        """Give up the run's copy (unless published) and release the lock."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        with contextlib.suppress(OSError):
            os.unlink(self._work)
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
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def header(self) -> Header | None:
        """None for a store that never completed a run."""
        if self._new:
            return None
        full = self._meta("last_full_run")
        last = self._meta("last_run")
        cursor = self._meta("cursor")
        count = self._conn().execute("SELECT count(*) FROM objects").fetchone()[0]
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
        for (body,) in self._conn().execute("SELECT body FROM objects ORDER BY id"):
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
        db = self._conn()
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
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise self._sqlite_error(err) from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return int(dropped)

    def publish(self) -> None:
        """Make the run's copy the store: FILE.prev becomes the store as it was, then the copy
        replaces FILE (both by rename, after the copy is on disk). Then release the lock."""
        db = self._conn()
        try:
            db.close()
            self._db = None
            _fsync(self._work)
            if not self._new:
                linked = f"{self.path}.prev.tmp-{os.getpid()}"
                try:
                    os.link(self.path, linked)
                except OSError:  # a file system without hard links: a copy instead
                    shutil.copyfile(self.path, linked)
                    _fsync(linked)
                os.replace(linked, self.prev_path)
            os.replace(self._work, self.path)
            _fsync(os.path.dirname(os.path.abspath(self.path)))
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


@dataclass(frozen=True)
class Checked:
    """What `fcaudit state check` found in one store file."""

    path: str
    problem: str | None  # None: a sound store
    header: Header | None = None
    kinds: Mapping[str, int] | None = None  # objects by `object`


def check_file(path: str) -> Checked:
    """Verify a store without changing it: SQLite's integrity check, the format, the identity
    and the counts. It needs no lock: runs never write the file in place (they replace it)."""
    if not os.path.isfile(path):
        return Checked(path, "no such file" if not os.path.exists(path) else "not a file")
    try:
        db = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error as err:
        return Checked(path, f"cannot be opened ({err})")
    try:
        verdicts = [r[0] for r in db.execute("PRAGMA integrity_check(20)")]
        if verdicts != ["ok"]:
            return Checked(path, "SQLite's integrity check failed: " + "; ".join(verdicts))
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        if not {"meta", "objects"} <= tables:
            return Checked(path, "not an fcaudit state file (no meta and objects tables)")
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT:
            return Checked(path, f"unknown format {meta.get('format')!r} (expected {FORMAT})")
        missing = [k for k in ("mode", "account", "cursor", "last_run") if not meta.get(k)]
        if missing:
            return Checked(path, f"its metadata lacks {', '.join(missing)}")
        kinds = dict(db.execute("SELECT kind, count(*) FROM objects GROUP BY kind").fetchall())
        full, last = meta.get("last_full_run"), meta["last_run"]
        header = Header(
            identity=Identity(meta["mode"], meta["account"]),
            last_full_run=datetime.fromisoformat(full) if full else None,
            last_run=datetime.fromisoformat(last),
            cursor=int(meta["cursor"]),
            objects=sum(kinds.values()),
        )
        return Checked(path, None, header, kinds)
    except (sqlite3.Error, ValueError) as err:
        return Checked(path, f"cannot be read ({err})")
    finally:
        db.close()
