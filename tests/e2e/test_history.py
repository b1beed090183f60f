"""End to end: health over time. A --state store built over simulated days (each run's --as-of
is its clock; the sandbox's control endpoint changes accounts between runs), then since,
days_in_category, time_to_repair, --min-age, `fcaudit history` and `fcaudit trend` checked
against what the control endpoint says it changed, to the second."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fcaudit.app import AppContext
from fcaudit.model.findings import iso
from fcaudit.sandbox import running_sandbox
from fcaudit.sandbox.data.changes import OPERATION_BY_NAME, candidates
from tests.conftest import SLEPT, run
from tests.conftest import report_of as report
from tests.e2e.test_incremental import UNLIMITED
from tests.e2e.test_scan import KEY, NOW_DT, Sandbox, control

BROKEN = {"relink_required", "inactive_unrepairable", "inactive_unknown", "account_number_unusable"}
DAY = 86_400
# The first (full) run: before every event of the sandbox's generated history (its 30 days),
# so a young store's dating from events finds none to use; test_a_young_store_... has that.
T0 = NOW_DT - timedelta(days=30)
T1 = T0 + timedelta(days=1)  # after two accounts broke
T2 = T0 + timedelta(days=4)
T3 = T0 + timedelta(days=5)  # after every inactive account was reactivated


def scan(sandbox: Sandbox, state: Path, when: datetime, *args: str) -> dict[str, Any]:
    result = run(
        "scan", "-f", "json", "--fail-on", "none", "--as-of", iso(when),
        "--state", str(state), "--reconcile-every", "60d",
        *args, "--api-base", sandbox.url, *UNLIMITED, key=KEY,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.stderr
    return report(result)


def at(when: datetime, *args: str) -> Any:
    """A command whose clock is `when` (history and trend read no --as-of of a scan)."""
    return run(*args, app=AppContext(sleep=SLEPT.append, clock=lambda: when))


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in doc["findings"]}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(customers=12, now=NOW_DT) as running:
        yield Sandbox(running)


def test_a_store_built_over_days_dates_every_change(sandbox: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "fc.sqlite"
    accounts = dict(sandbox.truth["accounts"])
    broken_at_start = {a for a, c in accounts.items() if c in BROKEN}
    assert broken_at_start  # the data set has broken accounts from the start

    # Day 0: the first run. Everything is first seen: since is the run, a lower bound.
    first = scan(sandbox, state, T0)
    assert first["history"]["available"] is True
    assert first["history"]["started"] == iso(T0)
    for f in first["findings"]:
        assert (f["since"], f["since_source"], f["days_in_category"]) == (iso(T0), "first_seen", 0)

    # Day 1: two accounts break; the run that sees it dates the change (the events are
    # created at the sandbox's now, after this run's clock).
    broke = [c["id"] for c in control(sandbox, {"deactivate": 2})["changed"]]
    second = scan(sandbox, state, T1, "--min-age", "2d", "--fail-on", "relink_required")
    found = by_id(second)
    for oid in broke:
        assert found[oid]["category"] == "relink_required"
        assert (found[oid]["since"], found[oid]["since_source"]) == (iso(T1), "run")
        assert found[oid]["days_in_category"] == 0
        assert found[oid]["pending"] is True  # broken for less than --min-age
    relink = [f for f in second["findings"] if f["category"] == "relink_required"]
    assert second["summary"]["pending"] == 2
    assert second["summary"]["result"]["matched"] == len(relink) - 2
    for oid in broken_at_start:  # unchanged: still dated by the first run
        assert (found[oid]["since"], found[oid]["days_in_category"]) == (iso(T0), 1)
        assert found[oid]["pending"] is False  # not newly broken

    # Day 4: three days in the category; --min-age 2d is over, so they count.
    third = by_id(scan(sandbox, state, T2, "--min-age", "2d", "--fail-on", "relink_required"))
    for oid in broke:
        assert (third[oid]["days_in_category"], third[oid]["pending"]) == (3, False)

    # Day 5: every inactive account is reactivated: the two that broke on day 1 were broken
    # for exactly 4 days; those broken since before the store began have no known start.
    inactive = candidates(sandbox.running.dataset, OPERATION_BY_NAME["reactivate"])
    repaired = {c["id"] for c in control(sandbox, {"reactivate": len(inactive)})["changed"]}
    assert set(broke) <= repaired
    fourth = scan(sandbox, state, T3)
    resolved = {r["id"]: r for r in fourth["resolved"]}
    assert set(resolved) == repaired
    for oid in repaired:
        entry = resolved[oid]
        assert entry["repaired_at"] == iso(T3)
        if oid in broke:
            assert entry["broken_since"] == iso(T1)
            assert entry["time_to_repair"] == 4 * DAY
        else:
            assert (entry["broken_since"], entry["time_to_repair"]) == (None, None)
        assert by_id(fourth)[oid]["since"] == iso(T3)

    # The history of one account: the break and the repair, each with the run that saw it.
    shown = at(T3, "history", broke[0], "--state", str(state), "-f", "json")
    assert shown.exit_code == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert [
        (c["category_from"], c["category_to"], c["at"], c["source"]) for c in doc["changes"]
    ] == [
        ("active", "relink_required", iso(T1), "run:incremental"),
        ("relink_required", "active", iso(T3), "run:incremental"),
    ]
    assert doc["current"][0]["category"] == "active"
    assert doc["current"][0]["since"] == iso(T3)
    table = at(T3, "history", broke[0], "--state", str(state))
    assert f"{iso(T1)}  {broke[0]}  active -> relink_required  (run:incremental)" in table.stdout

    # The trend of those days: broken at the end of each day, breaks, repairs, repair times.
    shown = at(T3, "trend", "--state", str(state), "--since", "6d", "-f", "json")
    assert shown.exit_code == 0, shown.stderr
    days = json.loads(shown.stdout)["days"]
    start = len(broken_at_start)
    still = start + 2 - len(repaired)  # what the sandbox cannot reactivate stays broken
    assert [(d["date"], d["broken"], d["new_breaks"], d["repairs"]) for d in days] == [
        ("2026-10-21", start, 0, 0),
        ("2026-10-22", start + 2, 2, 0),
        ("2026-10-23", start + 2, 0, 0),
        ("2026-10-24", start + 2, 0, 0),
        ("2026-10-25", start + 2, 0, 0),
        ("2026-10-26", still, 0, len(repaired)),
    ]
    last = days[-1]
    assert (last["repairs_timed"], last["median_time_to_repair"]) == (2, 4 * DAY)
    assert last["p90_time_to_repair"] == 4 * DAY
    assert all(d["median_time_to_repair"] is None for d in days[:-1])
    # Before the store's history began, a day has no count.
    earlier = json.loads(
        at(T3, "trend", "--state", str(state), "--since", "7d", "-f", "json").stdout
    )
    assert earlier["days"][0] == {
        "date": "2026-10-20", "broken": None, "new_breaks": 0, "repairs": 0,
        "repairs_timed": 0, "median_time_to_repair": None, "p90_time_to_repair": None,
    }  # fmt: skip

    # A break an event dates: the run's clock is past the event, so since is its created time.
    answer = control(sandbox, {"deactivate": 1})
    (event,) = answer["events"]
    later = NOW_DT + timedelta(hours=1)
    fifth = by_id(scan(sandbox, state, later))
    oid = answer["changed"][0]["id"]
    created = datetime.fromtimestamp(event["created"], tz=UTC)
    assert (fifth[oid]["since"], fifth[oid]["since_source"]) == (iso(created), "event")
    with sqlite3.connect(state) as db:
        rows = db.execute(
            "SELECT category_from, category_to, at, source FROM transitions WHERE id = ?"
            " ORDER BY seq DESC LIMIT 1",
            (oid,),
        ).fetchall()
    assert rows == [("active", "relink_required", iso(created), f"event:{event['id']}")]

    # The HTML report charts broken accounts per day: the store's days, and this run's count.
    page = run(
        "scan", "-f", "html", "--fail-on", "none", "--as-of", iso(later), "--state", str(state),
        "--reconcile-every", "60d", "--api-base", sandbox.url, *UNLIMITED, key=KEY,
    ).stdout  # fmt: skip
    assert '<section id="trend">' in page and "<script" not in page
    assert "<title>2026-10-22: " + f"{start + 2} broken</title>" in page
    shown = at(later, "trend", "--state", str(state), "--since", "30d", "-f", "json")
    past = json.loads(shown.stdout)["days"][:-1]
    assert len(past) == 29
    for d in past:  # the same days as fcaudit trend
        assert f"<title>{d['date']}: {d['broken']} broken</title>" in page
    now_broken = sum(
        1 for f in fifth.values() if f["category"] in BROKEN and f["object"].endswith("account")
    )
    assert f"<title>{later.date().isoformat()}: {now_broken} broken</title>" in page


def test_without_a_store_history_reads_the_events(sandbox: Sandbox) -> None:
    answer = control(sandbox, {"deactivate": 1})
    (event,) = answer["events"]
    oid = answer["changed"][0]["id"]
    later = NOW_DT + timedelta(hours=1)
    shown = run(
        "history", oid, "-f", "json", "--api-base", sandbox.url, *UNLIMITED, key=KEY,
        app=AppContext(sleep=SLEPT.append, clock=lambda: later),
    )  # fmt: skip
    assert shown.exit_code == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["from"] == "events"
    created = datetime.fromtimestamp(event["created"], tz=UTC)
    last = doc["changes"][-1]
    assert (last["id"], last["category_to"], last["at"], last["source"]) == (
        oid,
        "relink_required",
        iso(created),
        f"event:{event['id']}",
    )
    assert last["category_from"] != "relink_required"  # a change, not a repeat


def test_a_young_store_dates_its_first_sight_from_the_events(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Broken an hour before the store's first run: the events Stripe keeps say since when.
    answer = control(sandbox, {"deactivate": 1})
    (event,) = answer["events"]
    oid = answer["changed"][0]["id"]
    later = NOW_DT + timedelta(hours=1)
    state = tmp_path / "fc.sqlite"
    found = by_id(scan(sandbox, state, later))
    created = datetime.fromtimestamp(event["created"], tz=UTC)
    assert (found[oid]["since"], found[oid]["since_source"]) == (iso(created), "event")
    assert {f["since_source"] for f in found.values()} <= {"event", "first_seen"}
    for f in found.values():
        if f["since_source"] == "first_seen":
            assert f["since"] == iso(later)  # not dated: a lower bound
    shown = at(later, "history", oid, "--state", str(state), "-f", "json")
    changes = json.loads(shown.stdout)["changes"]
    assert [(c["category_from"], c["category_to"], c["at"], c["source"]) for c in changes] == [
        ("active", "relink_required", iso(created), f"event:{event['id']}")
    ]
