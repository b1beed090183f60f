"""`fcaudit state check`: verify a --state store without a run, and without changing it.

It needs no lock: runs never write the store in place (they replace it by rename), so the file
read here is always one complete generation.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from fcaudit.sources.state import (
    BUSY,
    DAMAGED,
    FORMAT,
    OLDER_FORMATS,
    Header,
    header_of,
    sqlite_name,
)
from fcaudit.text import safe


@dataclass(frozen=True)
class Checked:
    """What `fcaudit state check` found in one store file."""

    path: str
    problem: str | None  # None: a sound store
    header: Header | None = None
    kinds: Mapping[str, int] | None = None  # objects by `object`
    # True when the contents are wrong (go back to FILE.prev); False when the file is sound
    # or could not be read at all (locked by another program, no permission).
    damaged: bool = False
    locked: bool = False


def check_file(path: str) -> Checked:
    """Verify a store without changing it: SQLite's integrity check, the format, the identity,
    every stored object, and the counts. It needs no lock: runs never write the file in place
    (they replace it)."""
    if not os.path.isfile(path):
        return Checked(path, "no such file" if not os.path.exists(path) else "is not a file")
    try:
        db = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error as err:
        return Checked(path, f"cannot be opened ({err})")
    try:
        verdicts = [r[0] for r in db.execute("PRAGMA integrity_check(20)")]
        if verdicts != ["ok"]:
            return _damaged(path, "SQLite's integrity check failed: " + "; ".join(verdicts))
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        if not {"meta", "objects"} <= tables:
            return _damaged(path, "not an fcaudit state file (no meta and objects tables)")
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        # An older format is sound: the next run upgrades it (in its private copy).
        if meta.get("format") not in (FORMAT, *OLDER_FORMATS):
            return _damaged(path, f"unknown format {meta.get('format')!r} (expected {FORMAT})")
        missing = [k for k in ("mode", "account", "cursor", "last_run") if not meta.get(k)]
        if missing:
            return _damaged(path, f"its metadata lacks {', '.join(missing)}")
        kinds: dict[str, int] = {}
        for oid, kind, body in db.execute("SELECT id, kind, body FROM objects"):
            try:
                obj = json.loads(body)
            except (ValueError, RecursionError):
                obj = None
            if not isinstance(obj, dict) or obj.get("id") != oid:
                return _damaged(path, f"the stored object {safe(oid, limit=60)} is not JSON")
            kinds[kind] = kinds.get(kind, 0) + 1
        return Checked(path, None, header_of(meta, sum(kinds.values())), kinds)
    except ValueError as err:
        return _damaged(path, str(err))
    except sqlite3.Error as err:
        name = sqlite_name(err)
        if name in BUSY:
            return Checked(path, f"is locked by another program ({err})", locked=True)
        if name in DAMAGED:
            return _damaged(path, f"cannot be read ({err})")
        return Checked(path, f"cannot be read ({err})")
    finally:
        db.close()


def _damaged(path: str, problem: str) -> Checked:
    return Checked(path, problem, damaged=True)


@dataclass(frozen=True)
class Inventory:
    """What a store holds, counted for `fcaudit doctor`'s estimate of a run's reads."""

    accounts: int
    authorizations: int
    holders: int  # distinct holders of the accounts (customers with a linked account)
    account: str  # whose data: the Stripe account id, as the store names it
    mode: str


ACCOUNT_KIND = "financial_connections.account"
AUTHORIZATION_KIND = "financial_connections.authorization"


def inventory(path: str) -> Inventory:
    """Count a store's accounts, authorizations and holders, read-only and without its lock:
    runs replace the file by rename, so what is read is one complete generation. SQLite does
    the counting (flat memory at a million accounts). A ValueError says why it can't be read."""
    if not os.path.isfile(path):
        raise ValueError("no such file" if not os.path.exists(path) else "is not a file")
    try:
        db = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error as err:
        raise ValueError(f"cannot be opened ({err})") from None
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT:
            raise ValueError(f"is not an fcaudit state file (format {meta.get('format')!r})")
        kinds = dict(db.execute("SELECT kind, COUNT(*) FROM objects GROUP BY kind").fetchall())
        (holders,) = db.execute(
            "SELECT COUNT(DISTINCT holder) FROM objects WHERE kind = ?", (ACCOUNT_KIND,)
        ).fetchone()
    except sqlite3.Error as err:
        raise ValueError(f"cannot be read ({err})") from None
    finally:
        db.close()
    return Inventory(
        accounts=int(kinds.get(ACCOUNT_KIND, 0)),
        authorizations=int(kinds.get(AUTHORIZATION_KIND, 0)),
        holders=int(holders or 0),
        account=str(meta.get("account") or "?"),
        mode=str(meta.get("mode") or "?"),
    )
