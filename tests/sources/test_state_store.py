"""The state store's commit (fcaudit/sources/state.py): what a run saw is what is stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fcaudit.sources import state
from fcaudit.sources.state import Change, Identity, StateStore
from fcaudit.sources.stored import StoredRow

WHEN = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def accounts(n: int) -> Iterator[dict[str, Any]]:
    """A run's objects as a generator: they can be read once only."""
    for i in range(n):
        yield {"id": f"fca_{i:06d}", "object": "financial_connections.account", "status": "active"}


def commit(path: Path, seen: Any, *, full: bool) -> int:
    store = StateStore(str(path))
    dropped = store.commit_run(
        identity=Identity("test", "acct_x"),
        seen=(StoredRow.of(o) for o in seen),
        cursor=1000,
        when=WHEN,
        full=full,
    )
    store.publish()
    return dropped


def test_a_full_run_given_its_objects_once_stores_every_one(tmp_path: Path) -> None:
    path = tmp_path / "fc.sqlite"
    assert commit(path, accounts(50), full=True) == 0
    assert commit(path, accounts(40), full=True) == 10  # ten no longer listed
    with StateStore(str(path)) as store:
        header = store.header()
        assert header is not None and header.objects == 40
        assert [o["id"] for o in store.objects()] == [f"fca_{i:06d}" for i in range(40)]


def test_category_of_answers_the_same_for_objects_just_read_without_a_query_each(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(state, "RECENT", 8)  # fewer kept than read: the rest are queried
    path = tmp_path / "fc.sqlite"
    ids = [f"fca_{i:06d}" for i in range(20)]
    store = StateStore(str(path))
    store.commit_run(
        identity=Identity("test", "acct_x"),
        seen=(StoredRow.of(o) for o in accounts(20)),
        cursor=1000,
        when=WHEN,
        full=True,
        changes=[Change(oid, "active", f"2026-11-{1 + i:02d}T00:00:00Z", "run", None)
                 for i, oid in enumerate(ids)],
        refreshes=[('{"balance": {}}', ids[3])],
    )  # fmt: skip
    store.publish()
    with StateStore(str(path)) as fresh:
        expected = {oid: fresh.category_of(oid) for oid in ids}  # one query each
    assert expected[ids[3]] == ("active", "2026-11-04T00:00:00Z", "run", '{"balance": {}}')
    with StateStore(str(path)) as store:
        queries: list[str] = []
        store.connection().set_trace_callback(queries.append)
        for obj in store.objects():  # as a run reads its inventory, asking as it goes
            assert store.category_of(obj["id"]) == expected[obj["id"]]
        assert not [q for q in queries if "WHERE id" in q]
        # Read ahead of the questions: the oldest 12 were let go, and are asked for again.
        read = list(store.objects())
        assert [store.category_of(o["id"]) for o in read] == [expected[i] for i in ids]
        assert len([q for q in queries if "WHERE id" in q]) == 12
