"""The table of `fcaudit events`: a timeline, oldest event first, with delivery states."""

from __future__ import annotations

import responses

from tests.cli.test_events import HISTORY, serve
from tests.conftest import run
from tests.factories import AS_OF


def test_the_timeline_table(stripe_api: responses.RequestsMock) -> None:
    serve(stripe_api, HISTORY)
    result = run("events", "-f", "table", *AS_OF, COLUMNS="200")
    lines = result.stdout.splitlines()
    assert lines[0] == "3 events about 3 objects (events since 2026-11-19T12:00:00Z)"
    rows = [line.split() for line in lines if line.startswith("  2026-")]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # oldest first
    assert rows[0] == [
        "2026-11-24T12:00:00Z", "account.deactivated", "fca_1", "cus_1", "relink_required",
        "undelivered", "(2)",
    ]  # fmt: skip
    assert rows[-1][-2:] == ["pending", "(1)"] and rows[1][-1] == "delivered"
    assert "1 undelivered" in result.stdout and "1 event about other objects" in result.stdout
    narrow = run("events", "-f", "table", *AS_OF, COLUMNS="90").stdout
    assert "cus_1" not in narrow and "fca_1" in narrow and "undelivered (2)" in narrow
