"""What a run must sort, group or look up across the whole fleet, kept on disk: memory stays
flat whatever the fleet's size (a million accounts on a small machine).

- `SortedSpill`: items added with a sort key, read back in key order (ties in the order they
  were added, as Python's stable sort does). An external merge sort: items are buffered up to
  a memory budget, each full buffer is sorted and written as a *run* to one temporary file,
  and reading merges the runs. A run that never fills the buffer never touches the disk.
- `DiskMap`: a map from strings to small values in a private temporary SQLite database (the
  standard library's), for what must be looked up by id: the accounts already seen, the
  previous run's categories.
- `Distinct` and `PairCount`: how many distinct customers (or accounts per authorization) a
  run met; sets while they are small, then temporary SQLite tables written in batches.

All live in the temporary directory (`TMPDIR`) and vanish when closed or when the process
ends (the file is unlinked at once, the database is SQLite's private temporary one). A full
disk there is a `SpillError` (exit 4) naming the directory and the fix; the run's reports and
its --state store are then left as they were, as for any run that fails.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import pickle
import sqlite3
import struct
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import IO, Any, Generic, Protocol, TypeVar

from fcaudit.errors import FcauditError
from fcaudit.text import safe

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Replayable(Protocol[T_co]):
    """Sized, and read again from the start by each iteration (a list, or a spill)."""

    def __iter__(self) -> Iterator[T_co]: ...

    def __len__(self) -> int: ...


# How much a spill buffers before it writes a run: enough that a run of a few thousand
# findings never touches the disk, little enough that all the spills of a run hold a few MiB.
BUDGET_BYTES = 2 * 2**20
# Runs merged at once; more are first merged into longer runs (another pass over the data).
# A spill of a million-account run writes several hundred runs: they are merged in one pass.
FAN_IN = 1024
READ_CHUNK = 4 * 1024  # read ahead per run while merging: FAN_IN of them are 4 MiB
_LENGTH = struct.Struct("<I")
_PROTOCOL = pickle.HIGHEST_PROTOCOL


class SpillError(FcauditError):
    """The run's temporary data could not be written (exit 4, as for a report)."""


def _no_room(err: BaseException) -> SpillError:
    """A spill that can't be written: the temporary directory is full or unusable."""
    cause = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return SpillError(
        f"cannot write the run's temporary data in {safe(tempfile.gettempdir())} ({cause}). "
        "Tip: free space there, or set TMPDIR to a directory with room (a run needs up to 3 KB "
        "per account); an existing report or --state store is left untouched."
    )


class SortedSpill(Generic[T]):
    """Values added with a sort key; iterated in key order, ties in the order added.
    Thread-safe to add to; iterate once adding is over (iterating again reads again).

    `item_bytes` is what one buffered item costs in memory (its key and value, as objects;
    `add` takes another for an item unlike the rest): the buffer is written as a run when it
    passes the budget. Values are pickled only
    then; a spill that stays in memory gives back the very objects added."""

    def __init__(self, item_bytes: int, budget_bytes: int | None = None) -> None:
        self._budget = BUDGET_BYTES if budget_bytes is None else budget_bytes
        self._item_bytes = item_bytes
        self._lock = threading.Lock()
        self._buffer: list[tuple[Any, int, T]] = []
        self._buffered = 0  # what the buffer's items cost in memory, as estimated
        self._seq = 0
        self._file: IO[bytes] | None = None
        self._runs: list[tuple[int, int]] = []  # (start, end) offsets in the file
        self._sorted = False

    def __len__(self) -> int:
        return self._seq

    def __bool__(self) -> bool:
        return self._seq > 0

    def add(self, key: Any, value: T, size: int | None = None) -> None:
        """Add a value under its sort key (keys of one spill must compare with each other);
        `size`: what this item costs in memory, when it differs from `item_bytes`."""
        with self._lock:
            self._buffer.append((key, self._seq, value))
            self._seq += 1
            self._sorted = False
            self._buffered += self._item_bytes if size is None else size
            if self._buffered >= self._budget:
                self._write_run(self._take_sorted())

    def _take_sorted(self) -> Iterator[bytes]:
        buffer, self._buffer, self._buffered = self._buffer, [], 0
        buffer.sort(key=_order)
        return (pickle.dumps(item, _PROTOCOL) for item in buffer)

    def _write_run(self, frames: Iterator[bytes]) -> None:
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
                weakref.finalize(self, _close_quietly, self._file)
            out = self._file
            out.seek(0, os.SEEK_END)
            start = out.tell()
            for frame in frames:
                out.write(_LENGTH.pack(len(frame)))
                out.write(frame)
            out.flush()
            self._runs.append((start, out.tell()))
        except OSError as err:
            raise _no_room(err) from None

    def __iter__(self) -> Iterator[T]:
        """The values in key order (ties in the order added)."""
        with self._lock:
            if not self._runs:
                if not self._sorted:
                    self._buffer.sort(key=_order)
                    self._sorted = True
                return iter([value for _, _, value in self._buffer])
            if self._buffer:
                self._write_run(self._take_sorted())
            while len(self._runs) > FAN_IN:  # merge the oldest into one longer run
                first, self._runs = self._runs[:FAN_IN], self._runs[FAN_IN:]
                self._write_run(frame for _, _, frame in self._merge(first))
            runs = list(self._runs)
        return (value for _, value, _ in self._merge(runs))

    def _merge(self, runs: list[tuple[int, int]]) -> Iterator[tuple[tuple[Any, int], T, bytes]]:
        assert self._file is not None
        fd = self._file.fileno()
        streams = [self._keyed(_frames(fd, start, end)) for start, end in runs]
        return heapq.merge(*streams, key=lambda item: item[0])

    @staticmethod
    def _keyed(frames: Iterator[bytes]) -> Iterator[tuple[tuple[Any, int], T, bytes]]:
        for frame in frames:  # each frame unpickled once: its key to merge, its value to give
            key, seq, value = pickle.loads(frame)
            yield (key, seq), value, frame

    def close(self) -> None:
        """Drop what was spilled."""
        self._buffer = []
        if self._file is not None:
            _close_quietly(self._file)
            self._file = None
        self._runs = []


class Spool:
    """Bytes appended to a temporary file and read back by place: what a SortedSpill would
    otherwise copy through every merge (a finding's JSON) is written once, and only its place
    is sorted."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._end = 0

    def put(self, data: bytes) -> tuple[int, int]:
        """Append `data`; its (offset, length)."""
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
                weakref.finalize(self, _close_quietly, self._file)
            self._file.write(data)
        except OSError as err:
            raise _no_room(err) from None
        place = (self._end, len(data))
        self._end += len(data)
        return place

    def get(self, offset: int, length: int) -> bytes:
        """The bytes put at `offset`."""
        assert self._file is not None
        try:
            self._file.flush()
            return os.pread(self._file.fileno(), length, offset)
        except OSError as err:
            raise _no_room(err) from None

    def close(self) -> None:
        """Drop the spooled bytes."""
        if self._file is not None:
            _close_quietly(self._file)
            self._file = None


def _order(item: tuple[Any, int, Any]) -> tuple[Any, int]:
    """An item's place: its key, then the order it was added."""
    return item[0], item[1]


def _frames(fd: int, start: int, end: int) -> Iterator[bytes]:
    """The frames of one run, read with pread (several runs are read at once)."""
    pos, data, at = start, b"", 0
    while True:
        if len(data) - at < _LENGTH.size or len(data) - at < _LENGTH.size + _peek(data, at):
            if pos >= end:
                return
            chunk = os.pread(fd, min(READ_CHUNK, end - pos), pos)
            if not chunk:
                return
            pos += len(chunk)
            data, at = data[at:] + chunk, 0
            continue
        (length,) = _LENGTH.unpack_from(data, at)
        at += _LENGTH.size
        yield data[at : at + length]
        at += length


def _peek(data: bytes, at: int) -> int:
    """The length of the frame starting at `at` (0 when its header is not all there)."""
    if len(data) - at < _LENGTH.size:
        return 0
    return int(_LENGTH.unpack_from(data, at)[0])


def _close_quietly(handle: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        handle.close()


class DiskMap(Generic[T]):
    """A map from strings to small values: a dict while it holds up to `LIMIT` keys, then a
    private temporary SQLite database (lookups by key, iteration in key order, memory bounded
    by SQLite's page cache). Thread-safe. Values must not be changed once stored (in memory
    they are the objects given; on disk, copies)."""

    LIMIT = 10_000  # keys kept in a dict: a small run never pays for SQLite

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mem: dict[str, T] | None = {}
        self._db: sqlite3.Connection | None = None
        self._count = 0

    def __len__(self) -> int:
        return len(self._mem) if self._mem is not None else self._count

    def _to_disk(self) -> None:
        """Move the dict into SQLite (under the lock)."""
        assert self._mem is not None
        db = _temporary_db("CREATE TABLE m (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
        self._db, mem, self._mem = db, self._mem, None
        self._run_many(
            "INSERT INTO m (k, v) VALUES (?, ?)",
            ((_key(k), pickle.dumps(v, _PROTOCOL)) for k, v in mem.items()),
        )
        self._count = len(mem)

    def _run(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        assert self._db is not None, "the map is closed"
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as err:
            raise _no_room(err) from None

    def _run_many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        assert self._db is not None, "the map is closed"
        try:
            self._db.executemany(sql, rows)
        except sqlite3.Error as err:
            raise _no_room(err) from None

    def insert(self, key: str, value: T) -> bool:
        """Store `value` under `key` unless the key is there; whether it was stored now."""
        with self._lock:
            mem = self._mem
            if mem is not None:
                if key in mem:
                    return False
                mem[key] = value
                if len(mem) > self.LIMIT:
                    self._to_disk()
                return True
            added = self._run(
                "INSERT OR IGNORE INTO m (k, v) VALUES (?, ?)",
                (_key(key), pickle.dumps(value, _PROTOCOL)),
            ).rowcount
            self._count += added
        return bool(added)

    def setdefault(self, key: str, value: T) -> T | None:
        """Store `value` under `key` unless the key is there: then return what is stored
        (None when the value was stored now)."""
        if self.insert(key, value):
            return None
        return self.get(key)

    def get(self, key: str) -> T | None:
        """The value stored under `key`, or None."""
        with self._lock:
            if self._mem is not None:
                return self._mem.get(key)
            row = self._run("SELECT v FROM m WHERE k = ?", (_key(key),)).fetchone()
        return pickle.loads(row[0]) if row is not None else None

    def __setitem__(self, key: str, value: T) -> None:
        with self._lock:
            if self._mem is not None:
                self._mem[key] = value
                if len(self._mem) > self.LIMIT:
                    self._to_disk()
                return
            k = _key(key)
            known = self._run("SELECT 1 FROM m WHERE k = ?", (k,)).fetchone() is not None
            self._run(
                "INSERT OR REPLACE INTO m (k, v) VALUES (?, ?)", (k, pickle.dumps(value, _PROTOCOL))
            )
            self._count += not known

    def update(self, pairs: Iterable[tuple[str, T]]) -> None:
        """Store many values at once (a later one replaces an earlier under the same key)."""
        with self._lock:
            rest = iter(pairs)
            if self._mem is not None:
                for key, value in rest:
                    self._mem[key] = value
                    if len(self._mem) > self.LIMIT:
                        self._to_disk()
                        break
                else:
                    return
            self._run_many(
                "INSERT OR REPLACE INTO m (k, v) VALUES (?, ?)",
                ((_key(k), pickle.dumps(v, _PROTOCOL)) for k, v in rest),
            )
            self._count = int(self._run("SELECT count(*) FROM m", ()).fetchone()[0])

    def items(self) -> Iterator[tuple[str, T]]:
        """Every key and value, in key order (Python's order of the strings)."""
        with self._lock:
            if self._mem is not None:
                return iter(sorted(self._mem.items(), key=lambda kv: kv[0]))
            rows = self._run("SELECT k, v FROM m ORDER BY k", ())
        return ((k.decode("utf-8", "surrogatepass"), pickle.loads(v)) for k, v in rows)

    def close(self) -> None:
        """Drop the map (its database file goes with the connection)."""
        self._mem = {}
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


CACHE_KIB = 512  # SQLite's page cache of each database: a run holds several
BATCH = 4096  # additions buffered before one executemany: SQL per batch, not per item
_IN_CHUNK = 500  # values in one `IN (...)` (SQLite allows 999 before 3.32)


def _temporary_db(table: str) -> sqlite3.Connection:
    """A private temporary SQLite database holding `table`, in one transaction for its life."""
    try:
        # "": SQLite's private temporary database, on disk once its cache is full, deleted
        # when the connection closes.
        db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute(table)
        db.execute("BEGIN")  # no commits: nothing outlives the connection
    except sqlite3.Error as err:
        raise _no_room(err) from None
    return db


def _key(key: str) -> bytes:
    """A key as SQLite compares it: UTF-8 bytes compare in code-point order, as Python's
    strings do; a lone surrogate (from a hostile JSON escape) is kept, not an error."""
    return key.encode("utf-8", "surrogatepass")


class _Batched:
    """Rows bound for one temporary table, written a batch at a time: counting a million
    holders costs a few hundred SQL statements, not a million. Not thread-safe: the owner
    holds a lock."""

    def __init__(self, table: str, insert: str) -> None:
        self._table, self._insert = table, insert
        self._db: sqlite3.Connection | None = None
        self.pending: set[tuple[bytes, ...]] = set()

    def add(self, row: tuple[bytes, ...]) -> None:
        self.pending.add(row)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> sqlite3.Connection:
        """Write what is pending; the database, to read."""
        if self._db is None:
            self._db = _temporary_db(self._table)
        if self.pending:
            try:
                self._db.executemany(self._insert, self.pending)
            except sqlite3.Error as err:
                raise _no_room(err) from None
            self.pending.clear()
        return self._db

    def scalar(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        try:
            return int(self.flush().execute(sql, args).fetchone()[0])
        except sqlite3.Error as err:
            raise _no_room(err) from None

    def close(self) -> None:
        self.pending.clear()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


class Distinct:
    """How many distinct strings were added: a set while there are up to `DiskMap.LIMIT`,
    then a temporary SQLite table written in batches, so counting a million customers stays
    in flat memory. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mem: set[str] | None = set()
        self._disk = _Batched(
            "CREATE TABLE d (k BLOB PRIMARY KEY) WITHOUT ROWID",
            "INSERT OR IGNORE INTO d (k) VALUES (?)",
        )

    def add(self, value: str) -> None:
        """Count `value` (once, however often it is added)."""
        with self._lock:
            mem = self._mem
            if mem is None:
                self._disk.add((_key(value),))
            elif value not in mem:
                mem.add(value)
                if len(mem) > DiskMap.LIMIT:
                    for v in mem:
                        self._disk.add((_key(v),))
                    self._mem = None

    def __len__(self) -> int:
        with self._lock:
            if self._mem is not None:
                return len(self._mem)
            return self._disk.scalar("SELECT count(*) FROM d")

    def close(self) -> None:
        with self._lock:
            self._mem = set()
            self._disk.close()


class PairCount:
    """How many distinct members each group has, from (group, member) pairs that may repeat
    (an account reported by two events): dicts of sets while there are up to `DiskMap.LIMIT`
    pairs, then a temporary SQLite table written in batches. Counts are read once every pair
    is in. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mem: dict[str, set[str]] | None = {}
        self._pairs = 0
        self._disk = _Batched(
            "CREATE TABLE p (g BLOB, m BLOB, PRIMARY KEY (g, m)) WITHOUT ROWID",
            "INSERT OR IGNORE INTO p (g, m) VALUES (?, ?)",
        )

    def add(self, group: str, member: str) -> None:
        """One pair (counted once, however often it is added)."""
        with self._lock:
            mem = self._mem
            if mem is None:
                self._disk.add((_key(group), _key(member)))
                return
            members = mem.get(group)
            if members is None:
                members = mem[group] = set()
            if member in members:
                return
            members.add(member)
            self._pairs += 1
            if self._pairs > DiskMap.LIMIT:
                for g, ms in mem.items():
                    for m in ms:
                        self._disk.add((_key(g), _key(m)))
                self._mem = None

    def count(self, group: str) -> int:
        """The distinct members of `group` (0 for a group never seen)."""
        return self.counts((group,)).get(group, 0)

    def counts(self, groups: Iterable[str]) -> dict[str, int]:
        """The distinct members of each of `groups` that was seen: one query per few hundred
        groups (a query per group cost more than the rest of a relink finding's trip)."""
        wanted = list(dict.fromkeys(groups))
        with self._lock:
            if self._mem is not None:
                mem = self._mem
                return {g: len(mem[g]) for g in wanted if g in mem}
            found: dict[str, int] = {}
            for at in range(0, len(wanted), _IN_CHUNK):
                chunk = [_key(g) for g in wanted[at : at + _IN_CHUNK]]
                marks = ",".join("?" * len(chunk))
                try:
                    rows = self._disk.flush().execute(
                        f"SELECT g, count(*) FROM p WHERE g IN ({marks}) GROUP BY g", chunk
                    )
                    found.update((g.decode("utf-8", "surrogatepass"), n) for g, n in rows)
                except sqlite3.Error as err:
                    raise _no_room(err) from None
            return found

    def close(self) -> None:
        with self._lock:
            self._mem = {}
            self._disk.close()
