"""The state store's commit (fcaudit/sources/state.py): what a run saw is what is stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fcaudit.sources.state import Identity, StateStore
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
