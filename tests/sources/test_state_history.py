"""The store's history (fcaudit-state/2): an older store is migrated in the run's private copy,
a newer one is refused in one line, category changes are appended by record_transition, and
`fcaudit history` / `fcaudit trend` read it without a lock."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses

from fcaudit.errors import UsageError
from fcaudit.model.findings import iso
from fcaudit.sources.state import (
    FORMAT,
    Change,
    Identity,
    StateStore,
    Transition,
    record_transition,
)
from fcaudit.sources.state_history import HistoryReader
from fcaudit.sources.stored import StoredRow
from tests.conftest import API, report_of, run
from tests.factories import account
from tests.stripe_fake import ACCOUNTS, add_pages

WHEN = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ACCOUNT = "financial_connections.account"


def v1_store(path: Path) -> None:
    """A store as fcaudit-state/1 wrote it: meta and objects only."""
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE objects (id TEXT PRIMARY KEY, kind TEXT NOT NULL, holder TEXT,
                body TEXT NOT NULL, last_seen TEXT NOT NULL);
            CREATE INDEX objects_holder ON objects (holder);
            """
        )
        meta = {
            "format": "fcaudit-state/1",
            "mode": "test",
            "account": "acct_x",
            "cursor": "1000",
            "last_run": WHEN.isoformat(),
            "last_full_run": WHEN.isoformat(),
        }
        db.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        body = {"id": "fca_1", "object": ACCOUNT, "status": "active"}
        db.execute(
            "INSERT INTO objects VALUES (?, ?, ?, ?, ?)",
            ("fca_1", ACCOUNT, "cus_1", json.dumps(body), WHEN.isoformat()),
        )


def test_an_older_store_is_migrated_only_when_a_run_publishes(tmp_path: Path) -> None:
    path = tmp_path / "fc.sqlite"
    v1_store(path)
    before = path.read_bytes()
    store = StateStore(str(path))
    assert store.migrated_from == "fcaudit-state/1"
    assert store.category_of("fca_1") == (None, None, None, None)  # no category known yet
    store.close()  # a run that failed: the store is as it was
    assert path.read_bytes() == before
    store = StateStore(str(path))
    later = WHEN + timedelta(days=1)
    change = Change("fca_1", "active", "2026-11-21T12:00:00Z", "first_seen", None)
    store.commit_run(
        identity=Identity("test", "acct_x"),
        seen=[StoredRow.of({"id": "fca_1", "object": ACCOUNT, "status": "active"})],
        cursor=2000,
        when=later,
        full=False,
        changes=[change],
    )
    store.publish()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == (FORMAT,)
        row = db.execute("SELECT category, since, since_source FROM objects").fetchone()
        assert row == ("active", "2026-11-21T12:00:00Z", "first_seen")
        assert db.execute("SELECT count(*) FROM transitions").fetchone() == (0,)
        assert db.execute("SELECT value FROM meta WHERE key = 'history_started'").fetchone() == (
            later.isoformat(),
        )
    # The generation before keeps the older format, for an older fcaudit to go back to.
    with sqlite3.connect(f"{path}.prev") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == (
            "fcaudit-state/1",
        )


def test_a_store_of_a_newer_format_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "fc.sqlite"
    v1_store(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 'fcaudit-state/3' WHERE key = 'format'")
    before = path.read_bytes()
    with pytest.raises(UsageError) as caught:
        StateStore(str(path))
    message = str(caught.value)
    assert "unknown format 'fcaudit-state/3'" in message
    assert f"this fcaudit reads {FORMAT}" in message
    assert "\n" not in message
    assert path.read_bytes() == before


def test_record_transition_appends_each_change_in_order(tmp_path: Path) -> None:
    path = tmp_path / "fc.sqlite"
    store = StateStore(str(path))
    store.commit_run(identity=Identity("test", "acct_x"), seen=[], cursor=1, when=WHEN, full=True)
    store.publish()
    # Another writer (a webhook listener) holds the store the same way and appends rows.
    store = StateStore(str(path))
    db = store.connection()
    db.execute("BEGIN IMMEDIATE")

    def change(before: str, after: str, hours: int, source: str) -> Transition:
        moment = WHEN + timedelta(hours=hours)
        return Transition("fca_1", ACCOUNT, "cus_1", before, after, moment, source)

    appended = record_transition(
        db,
        [
            change("active", "relink_required", 1, "webhook:evt_1"),
            change("relink_required", "active", 2, "webhook:evt_2"),
        ],
    )
    db.execute("COMMIT")
    assert appended == 2
    store.publish()
    with HistoryReader(str(path)) as reader:
        rows = [(r.category_from, r.category_to, r.at, r.source) for r in reader.changes("cus_1")]
    assert rows == [
        ("active", "relink_required", "2026-11-20T13:00:00Z", "webhook:evt_1"),
        ("relink_required", "active", "2026-11-20T14:00:00Z", "webhook:evt_2"),
    ]


def test_history_of_an_older_store_says_a_run_upgrades_it(tmp_path: Path) -> None:
    path = tmp_path / "fc.sqlite"
    v1_store(path)
    with pytest.raises(UsageError) as caught:
        HistoryReader(str(path))
    assert "fcaudit-state/1 store, which keeps no history" in str(caught.value)
    assert "Tip: run 'fcaudit scan --state" in str(caught.value)


def refreshed(status: str, attempted: datetime) -> dict[str, object]:
    """An active account subscribed to transactions, its last refresh as given."""
    obj = account("fca_1", customer="cus_a", institution="First Test Bank")  # no rules
    obj["subscriptions"] = ["transactions"]
    obj["transaction_refresh"] = {
        "id": "fctxnref_1",
        "status": status,
        "last_attempted_at": int(attempted.timestamp()),
        "next_refresh_available_at": None,
    }
    return obj


def signals_at(
    stripe_api: responses.RequestsMock, state: Path, day: int, status: str, *args: str
) -> dict[str, str]:
    """A full --state run on day `day` (the clock: --as-of) of the account refreshed an hour
    before; its signals by code."""
    when = WHEN + timedelta(days=day)
    stripe_api.reset()
    stripe_api.get(API + "/v1/account", json={"id": "acct_1", "object": "account"})
    add_pages(stripe_api, ACCOUNTS, [refreshed(status, when - timedelta(hours=1))])
    result = run(
        "scan", "-f", "json", "--fail-on", "none", "--as-of", iso(when), "--full",
        "--state", str(state), *args,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (finding,) = report_of(result)["findings"]
    return {s["code"]: s["detail"] for s in finding["signals"]}


def test_failing_and_stale_refreshes_are_counted_across_runs(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    state = tmp_path / "fc.sqlite"
    assert signals_at(stripe_api, state, 0, "succeeded") == {}
    assert set(signals_at(stripe_api, state, 1, "failed")) == {"transaction_refresh_failed"}
    assert set(signals_at(stripe_api, state, 2, "failed")) == {"transaction_refresh_failed"}
    third = signals_at(stripe_api, state, 3, "failed")
    assert third["refresh_failing"] == (
        "the last 3 or more transaction_refresh attempts failed (--state)"
    )
    assert "refresh_stale" not in third  # the last success is 3 days old
    # Six days after the last success: stale, though the last attempt is an hour old.
    sixth = signals_at(stripe_api, state, 6, "failed")
    assert sixth["refresh_stale"] == (
        "no successful transaction_refresh since 2026-11-20 although the account is active "
        "(--state)"
    )
    assert "refresh_failing" in sixth
    # A success resets both.
    assert signals_at(stripe_api, state, 7, "succeeded") == {}
    with sqlite3.connect(state) as db:
        (record,) = db.execute("SELECT refreshes FROM objects").fetchone()
    last = int((WHEN + timedelta(days=7, hours=-1)).timestamp())
    assert json.loads(record) == {"transaction_refresh": {"ok": last, "fails": 0, "seen": last}}


def test_an_old_last_attempt_is_stale_without_a_store(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + "/v1/account", json={"id": "acct_1", "object": "account"})
    add_pages(stripe_api, ACCOUNTS, [refreshed("succeeded", WHEN - timedelta(days=6))])
    scan = ("scan", "-f", "json", "--fail-on", "refresh_stale", "--as-of", iso(WHEN))
    result = run(*scan)
    assert result.exit_code == 1  # --fail-on takes the new signal codes
    (finding,) = report_of(result)["findings"]
    assert finding["signals"] == [
        {
            "code": "refresh_stale",
            "detail": "no successful transaction_refresh since 2026-11-14 although the account "
            "is active",
            "date": "2026-11-14T12:00:00Z",
        }
    ]
    assert run(*scan, "--stale-after", "7d").exit_code == 0


def test_what_listen_heard_is_shown_unless_a_run_recorded_the_same_change() -> None:
    from fcaudit.sources.state_history import Row, _not_recorded

    def row(at: str, before: str, after: str, source: str) -> Row:
        return Row("fca_1", "financial_connections.account", None, before, after, at, source)

    # Between two runs the account broke, was repaired and broke again: listen heard all
    # three; the run saw only that it is broken now.
    heard = [
        row("2026-11-02T10:00:00Z", "active", "relink_required", "listen:evt_1"),
        row("2026-11-02T11:00:00Z", "relink_required", "active", "listen:evt_2"),
        row("2026-11-02T12:00:00Z", "active", "relink_required", "listen:evt_3"),
    ]
    recorded = [row("2026-11-02T12:00:05Z", "active", "relink_required", "run:incremental")]
    assert [r.source for r in _not_recorded(heard, recorded)] == ["listen:evt_1", "listen:evt_2"]
    assert _not_recorded(heard[:1], []) == heard[:1]
