"""The listen journal beside a store: listen writes it while a scan holds the store, and a
complete scan merges it, so nothing either of them records is lost (sources/journal.py)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fcaudit.sources import journal
from fcaudit.sources.journal import Entry, Journal
from fcaudit.sources.state import Identity, StateStore

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ID = Identity("test", "acct_x")


def entry(n: int, category: str = "relink_required") -> Entry:
    body = {"id": f"fca_{n}", "object": "financial_connections.account", "status": "inactive"}
    return Entry(f"evt_{n}", "financial_connections.account.deactivated", f"fca_{n}",
                 "financial_connections.account", 1_700_000_000 + n, category, body)  # fmt: skip


def run(path: Path, *, publish: bool = True, during: object = None) -> tuple[int, int | None]:
    """One scan's use of the store: commit, merge the journal, publish (or fail), prune."""
    store = StateStore(str(path))
    try:
        store.commit_run(identity=ID, seen=[], cursor=1, when=NOW, full=True)
        merged = journal.merge_into(store.connection(), store.file)
        if callable(during):
            during()
        if not publish:
            return merged
        store.publish()
        if merged[1] is not None:
            journal.prune(store.file, merged[1], NOW + timedelta(days=31))
        return merged
    finally:
        store.close()


def stored_events(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        if "listen_events" not in tables:
            return []
        return [r[0] for r in db.execute("SELECT event_id FROM listen_events ORDER BY seq")]


def journal_events(path: Path) -> list[str]:
    with sqlite3.connect(f"{path}.journal") as db:
        return [r[0] for r in db.execute("SELECT event_id FROM events ORDER BY seq")]


def test_a_scan_merges_the_journal_into_the_store_it_publishes(tmp_path: Path) -> None:
    path = tmp_path / "fc.db"
    run(path)  # a store exists
    j = Journal(str(path))
    j.record([entry(1), entry(2)], NOW)
    j.close()
    assert run(path) == (2, 2)
    assert stored_events(path) == ["evt_1", "evt_2"]
    assert journal_events(path) == []  # merged, and (31 days on) past Stripe's retention
    assert run(path) == (0, 2)  # nothing is merged twice
    assert stored_events(path) == ["evt_1", "evt_2"]


def test_listen_records_while_a_scan_holds_the_store_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "fc.db"
    run(path)
    # A write waits at most this long for another's transaction, then fails.
    j = Journal(str(path), timeout_ms=500)
    j.record([entry(1)], NOW)
    recorded: list[bool] = []

    def listen_meanwhile() -> None:
        # The scan holds the store's lock and has merged: listen goes on recording.
        def record() -> None:
            recorded.append(not j.record([entry(2)], NOW)[0].replay)

        thread = threading.Thread(target=record)
        thread.start()
        thread.join()

    assert run(path, during=listen_meanwhile) == (1, 1)
    assert recorded == [True]
    assert stored_events(path) == ["evt_1"]
    assert journal_events(path) == ["evt_2"]  # recorded after the merge: kept for the next
    assert run(path) == (1, 2)
    assert stored_events(path) == ["evt_1", "evt_2"]
    j.close()


def test_a_scan_that_fails_merges_nothing_and_the_journal_keeps_every_event(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fc.db"
    run(path)
    j = Journal(str(path))
    j.record([entry(1)], NOW)
    j.close()
    run(path, publish=False)  # a run that failed: the store is as it was
    assert stored_events(path) == []
    assert journal_events(path) == ["evt_1"]
    assert run(path) == (1, 1)
    assert stored_events(path) == ["evt_1"]


def test_recent_events_stay_in_the_journal_after_a_merge_so_a_replay_is_recognised(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fc.db"
    run(path)
    j = Journal(str(path))
    j.record([entry(1)], NOW)
    store = StateStore(str(path))
    store.commit_run(identity=ID, seen=[], cursor=1, when=NOW, full=True)
    _, upto = journal.merge_into(store.connection(), store.file)
    store.publish()
    assert upto == 1
    assert journal.prune(str(path), upto, NOW + timedelta(days=1)) == 0
    assert j.record([entry(1)], NOW)[0].replay  # Stripe's retry a day later: still a replay
    j.close()


def test_the_journal_keeps_a_transition_history_a_history_command_can_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fc.db"
    j = Journal(str(path))
    j.record([entry(1, "expiring")], NOW)
    later = entry(1, "relink_required")
    later = Entry("evt_9", later.type, "fca_1", later.object, later.created + 100,
                  "relink_required", later.body)  # fmt: skip
    j.record([later], NOW + timedelta(seconds=5))
    j.close()
    with sqlite3.connect(f"{path}.journal") as db:
        rows = db.execute(f"SELECT {journal.COLUMNS} FROM events ORDER BY seq").fetchall()
    assert [(r[1], r[3], r[7], r[8]) for r in rows] == [
        ("evt_1", "fca_1", None, "expiring"),
        ("evt_9", "fca_1", "expiring", "relink_required"),
    ]
