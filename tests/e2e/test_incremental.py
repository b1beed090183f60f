"""End to end: `fcaudit scan --state` against a sandbox whose data changes between runs.

A full run records the inventory; after POST /__sandbox/control the next run reads only the
events since, fetches what they name, and its categories equal the sandbox's truth. The unsafe
cases: an incomplete run, a stale cursor, --full, --reconcile-every, a foreign or corrupt store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from click.testing import Result

from fcaudit.sandbox import running_sandbox
from tests.conftest import API, run
from tests.conftest import report_of as report
from tests.e2e.test_scan import KEY, NOW, NOW_DT, Sandbox, control
from tests.factories import account
from tests.stripe_fake import ACCOUNTS, add_pages

SCAN = ("scan", "-f", "json", "--fail-on", "none", "--as-of", NOW)
UNLIMITED = ("--max-rps", "0", "--max-endpoint-rps", "0")


def fcaudit(sandbox: Sandbox, *args: str) -> Result:
    """The CLI in-process (CliRunner) against the sandbox: the same code, no start-up cost."""
    return run(*args, "--api-base", sandbox.url, *UNLIMITED, key=KEY)


def meta(state: Path) -> dict[str, str]:
    with sqlite3.connect(state) as db:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())


def set_meta(state: Path, **values: str) -> None:
    with sqlite3.connect(state) as db:
        db.executemany(
            "UPDATE meta SET value = ? WHERE key = ?", [(v, k) for k, v in values.items()]
        )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(customers=12, now=NOW_DT) as running:
        yield Sandbox(running)


def scan(sandbox: Sandbox, state: Path, *args: str) -> Result:
    return fcaudit(sandbox, *SCAN, "--state", str(state), *args)


def test_an_incremental_run_reads_only_what_changed(sandbox: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "fc.sqlite"
    first = scan(sandbox, state)
    assert first.exit_code == 0, first.stderr
    full = report(first)
    assert full["scope"]["discovery"]["mode"] == "accounts"
    assert "full run (no state yet)" in first.stderr
    answer = control(sandbox, {"deactivate": 2, "reactivate": 1, "disconnect": 1, "link_new": 2})
    second = scan(sandbox, state)
    assert second.exit_code == 0, second.stderr
    doc = report(second)
    discovery = doc["scope"]["discovery"]
    assert discovery["mode"] == "incremental" and discovery["events"] >= 6
    # Every account, each with the sandbox's category, after a handful of requests.
    cats = {f["id"]: f["category"] for f in doc["findings"]}
    assert cats == sandbox.truth["accounts"]
    # GET /v1/account, the events page, one GET per object an event names, one listing per
    # holder that linked a new account (the 2% target on a large fleet is `make bench`'s).
    assert doc["stats"]["requests"] <= 2 + discovery["events"] + 2
    # The previous run is the baseline: each change as the control endpoint says.
    changes = {f["id"]: f["change"] for f in doc["findings"]}
    for c in answer["changed"]:
        assert changes[c["id"]] == c["change"], c
    assert {r["id"] for r in doc["resolved"]} == set(answer["resolved"])


def test_an_incomplete_run_never_advances_the_store(sandbox: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "fc.sqlite"
    assert scan(sandbox, state).exit_code == 0
    before = meta(state)
    # The same data (seed, size, clock), served by a sandbox whose event listing fails.
    with running_sandbox(customers=12, now=NOW_DT, cues=["503:5@/v1/events"]) as running:
        failed = scan(Sandbox(running), state, "--max-retries", "0")
    assert failed.exit_code == 5, failed.stderr
    assert "not updated (the run was incomplete)" in failed.stderr
    assert meta(state) == before


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"cursor": "1000"}, "older than the 30 days"),
        ({"last_full_run": "2026-11-01T00:00:00+00:00"}, "older than --reconcile-every"),
        ({}, "--full"),
    ],
)
def test_full_runs_when_they_must(
    sandbox: Sandbox, tmp_path: Path, change: dict[str, str], why: str
) -> None:
    state = tmp_path / "fc.sqlite"
    assert scan(sandbox, state).exit_code == 0
    set_meta(state, **change)
    again = scan(sandbox, state, *([] if change else ["--full"]))
    assert again.exit_code == 0, again.stderr
    assert "full run (" in again.stderr and why in again.stderr
    assert report(again)["scope"]["discovery"]["mode"] == "accounts"


def test_a_full_run_reconciles_the_store(sandbox: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "fc.sqlite"
    assert scan(sandbox, state).exit_code == 0
    ghost = {
        "id": "fca_ghost",
        "object": "financial_connections.account",
        "status": "inactive",
        "status_details": {"inactive": {"action": "relink_required", "cause": "access_expired"}},
    }
    with sqlite3.connect(state) as db:
        db.execute(
            "INSERT INTO objects (id, kind, holder, body, last_seen) VALUES (?, ?, ?, ?, ?)",
            ("fca_ghost", ghost["object"], None, json.dumps(ghost), "2026-11-20T00:00:00+00:00"),
        )
    again = scan(sandbox, state, "--full")
    doc = report(again)
    assert {
        "id": "fca_ghost",
        "object": "financial_connections.account",
        "old_category": "relink_required",
        "new_category": "gone",
        # Put in by hand, never classified by a run: since when it was broken is not known.
        "broken_since": None,
        "repaired_at": NOW,
        "time_to_repair": None,
    } in doc["resolved"]
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT count(*) FROM objects WHERE id = 'fca_ghost'").fetchone() == (0,)
        # Its leaving is history.
        assert db.execute(
            "SELECT category_from, category_to, source FROM transitions WHERE id = 'fca_ghost'"
        ).fetchall() == [(None, "gone", "run:full")]


def test_a_foreign_store_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "fc.sqlite"
    assert scan(sandbox, state).exit_code == 0
    set_meta(state, mode="live")
    out = tmp_path / "report.json"
    refused = fcaudit(sandbox, *SCAN, "--state", str(state), "-o", str(out))
    assert refused.exit_code == 2
    assert "belongs to" in refused.stderr and "live mode" in refused.stderr
    assert not out.exists()


def test_a_corrupt_store_is_refused_never_reset(sandbox: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "fc.sqlite"
    state.write_bytes(b"not a database at all" * 100)
    refused = scan(sandbox, state)
    assert refused.exit_code == 2
    assert "not a readable fcaudit state file" in refused.stderr and "Tip:" in refused.stderr
    assert state.read_bytes() == b"not a database at all" * 100


def test_the_cron_recipe_alerts_once(sandbox: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "fc.sqlite"
    recipe = ("--state", str(state), "--fail-on-change", "new,worse")
    first = fcaudit(sandbox, *SCAN[:3], "--as-of", NOW, *recipe)  # the default --fail-on
    assert first.exit_code == 1  # the first day: everything that needs attention is new
    assert {f["change"] for f in report(first)["findings"] if f["category"] != "active"} == {"new"}
    quiet = fcaudit(sandbox, *SCAN[:3], "--as-of", NOW, *recipe)
    assert quiet.exit_code == 0, quiet.stderr  # the same findings again: no alert
    control(sandbox, {"deactivate": 1})
    again = fcaudit(sandbox, *SCAN[:3], "--as-of", NOW, *recipe)
    assert again.exit_code == 1  # one new problem
    assert [f["change"] for f in report(again)["findings"]].count("new") == 1


def test_the_runs_line_counts_in_words(stripe_api: responses.RequestsMock, tmp_path: Path) -> None:
    stripe_api.get(API + "/v1/account", json={"id": "acct_1", "object": "account"})
    add_pages(stripe_api, ACCOUNTS, [account("fca_1", customer="cus_a")])
    state = tmp_path / "fc.sqlite"
    first = run(*SCAN, "--state", str(state))
    assert first.exit_code == 0, first.stderr
    assert f"--state {state}: full run (no state yet); 1 object.\n" in first.stderr
