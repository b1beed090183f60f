"""End to end: the installed `fcaudit` against a sandbox whose data changes between runs.

A scan, then POST /__sandbox/control (changes whose events are old enough to be
undelivered, and changes just made), then, side by side, `fcaudit events --undelivered` and
`fcaudit events --latest --verify`, each checked against the sandbox's truth and the control
endpoint's answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from fcaudit.policy import DEFAULT_FAIL_ON
from fcaudit.sandbox import running_sandbox
from tests.e2e.test_scan import NOW, NOW_DT, Proc, Sandbox, control, fcaudit, report


@pytest.fixture(scope="module")
def changed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Sandbox, dict[str, Any], dict[str, Proc]]]:
    """The runs before and after two changes: one two hours ago whose events no webhook
    endpoint acknowledged, and one just now (pending, but within the grace period)."""
    with running_sandbox(customers=8, now=NOW_DT) as running:
        sandbox = Sandbox(running)
        runs = {"before": fcaudit(sandbox, "scan", "-f", "json", "--fail-on", "none")}
        old = {"deactivate": 2, "reactivate": 1, "ago": 7200, "pending_webhooks": 1}
        answers = {
            "old": control(sandbox, old),
            "new": control(sandbox, {"disconnect": 1, "link_new": 1, "pending_webhooks": 1}),
        }
        baseline = tmp_path_factory.mktemp("baseline") / "before.json"
        baseline.write_text(runs["before"].stdout)
        since = ("--since", "30d")
        undelivered = ("--undelivered", "--fail-on", "undelivered")
        commands = {
            "undelivered": ("events", *undelivered, *since, "-f", "json"),
            "verify": ("events", "--latest", "--verify", *since, "-f", "json"),
            "after": (
                "scan",
                "-f",
                "json",
                "--baseline",
                str(baseline),
                "--fail-on-change",
                "new,worse",
            ),
        }
        with ThreadPoolExecutor(len(commands)) as pool:
            futures = {k: pool.submit(fcaudit, sandbox, *args) for k, args in commands.items()}
            runs.update({k: f.result() for k, f in futures.items()})
        yield sandbox, answers, runs


def test_undelivered_finds_exactly_the_sandboxs_undelivered_events(
    changed: tuple[Sandbox, dict[str, Any], dict[str, Proc]],
) -> None:
    sandbox, answers, runs = changed
    proc = runs["undelivered"]
    assert proc.returncode == 1, proc.stderr  # --fail-on undelivered
    doc = report(proc)
    truth = sandbox.truth["events"]
    assert sorted(f["event_id"] for f in doc["findings"]) == truth["undelivered"]
    assert doc["summary"]["undelivered"] == len(truth["undelivered"]) > 0
    assert all(f["undelivered"] and f["pending_webhooks"] > 0 for f in doc["findings"])
    # The changes of two hours ago are among them, with the category the change gave;
    # the ones just made are pending, still within the grace period, so not.
    shown = {f["event_id"]: f["category"] for f in doc["findings"]}
    for change in answers["old"]["changed"]:
        assert shown[change["event"]] == change["after"]
    young = {c["event"] for c in answers["new"]["changed"]}
    assert young <= set(truth["pending_webhooks"]) and not young & set(shown)


def test_latest_and_verify_match_the_truth(
    changed: tuple[Sandbox, dict[str, Any], dict[str, Proc]],
) -> None:
    sandbox, _, runs = changed
    proc = runs["verify"]
    assert proc.returncode in (0, 1), proc.stderr
    doc = report(proc)
    assert doc["complete"] is True
    truth = sandbox.truth
    latest = {f["id"]: f["category"] for f in doc["findings"] if f["event_type"] is not None}
    assert latest == truth["events"]["latest"]  # every FC object with an event, once
    now = {f["id"]: f["category"] for f in doc["findings"] if f["event_type"] is None}
    assert set(now) == set(latest)
    categories = {**truth["accounts"], **truth["authorizations"]}
    assert now == {oid: categories[oid] for oid in now}
    # Only the FC account and authorization types are asked for: customers' and sessions'
    # events never arrive, so none is skipped.
    assert doc["summary"]["events_skipped"] == 0


def test_the_changes_are_seen_as_the_control_answer_says(
    changed: tuple[Sandbox, dict[str, Any], dict[str, Proc]],
) -> None:
    sandbox, answers, runs = changed
    before = {f["id"]: f["category"] for f in report(runs["before"])["findings"]}
    now = {
        f["id"]: f["category"]
        for f in report(runs["verify"])["findings"]
        if f["event_type"] is None
    }
    changes = [c for a in answers.values() for c in a["changed"]]
    assert {c["operation"] for c in changes} == {
        "deactivate",
        "reactivate",
        "disconnect",
        "link_new",
    }
    for c in changes:
        assert before.get(c["id"]) == c["before"]  # None: linked after the first scan
        assert now[c["id"]] == c["after"] == sandbox.truth["accounts"][c["id"]]
    assert {c["id"] for c in changes if c["resolved"]} == set(answers["old"]["resolved"])
    assert NOW in runs["before"].stdout


def test_a_scan_against_its_baseline_sees_every_change_and_resolution(
    changed: tuple[Sandbox, dict[str, Any], dict[str, Proc]],
) -> None:
    """The alert-once cron recipe: scan, the data changes, scan again with --baseline."""
    _, answers, runs = changed
    doc = report(runs["after"])
    by_id = {f["id"]: f for f in doc["findings"]}
    changes = [c for a in answers.values() for c in a["changed"]]
    for c in changes:
        assert by_id[c["id"]]["change"] == c["change"], c
    expected_resolved = {c["id"] for c in changes if c["resolved"]}
    assert {r["id"] for r in doc["resolved"] if r["new_category"] == "active"} == expected_resolved
    assert not [r for r in doc["resolved"] if r["new_category"] == "gone"]  # nothing went away
    untouched = set(by_id) - {c["id"] for c in changes}
    assert {by_id[i]["change"] for i in untouched} <= {"same"}
    # Exit 1 only if one of the changes is new or worse and matches --fail-on.
    fail_on = set(DEFAULT_FAIL_ON.split(","))
    alert = any(
        c["change"] in ("new", "worse") and by_id[c["id"]]["category"] in fail_on for c in changes
    )
    assert runs["after"].returncode == (1 if alert else 0)
    assert doc["baseline"]["comparable"] is True
