"""--fail-on and --fail-on-change: parsing, and which findings make a run fail."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from fcaudit.classify import classify
from fcaudit.errors import ExitCode, UsageError
from fcaudit.model.findings import (
    Category,
    Change,
    EventFlag,
    Finding,
    Signal,
    SignalCode,
    Suppression,
)
from fcaudit.policy import (
    DEFAULT_FAIL_ON,
    Policy,
    exit_code,
    parse_fail_on,
    parse_fail_on_change,
)
from tests.factories import NOW, account, expiring, ts
from tests.model.test_event_fields import finding
from tests.test_rules import classify_json


def test_default_fail_on() -> None:
    assert parse_fail_on(DEFAULT_FAIL_ON) == {
        Category.RELINK_REQUIRED,
        Category.INACTIVE_UNREPAIRABLE,
        Category.INACTIVE_UNKNOWN,
        Category.ACCOUNT_NUMBER_UNUSABLE,
        Category.EXPIRING,
    }


def test_any_and_none() -> None:
    assert Category.ACTIVE not in parse_fail_on("any")
    assert Category.DISCONNECTED in parse_fail_on("any")
    assert parse_fail_on("none") == frozenset()


def test_spaces_and_case() -> None:
    assert parse_fail_on(" Relink_Required , expiring") == {
        Category.RELINK_REQUIRED,
        Category.EXPIRING,
    }


@pytest.mark.parametrize("text", ["relink", "", "expiring,bogus", "any,expiring"])
def test_bad_fail_on(text: str) -> None:
    with pytest.raises(UsageError):
        parse_fail_on(text)


def test_exit_code_precedence() -> None:
    assert exit_code(0) is ExitCode.OK
    assert exit_code(3) is ExitCode.FINDINGS
    assert exit_code(0, incomplete=True) is ExitCode.INCOMPLETE
    assert exit_code(3, incomplete=True) is ExitCode.INCOMPLETE
    assert exit_code(3, incomplete=True, interrupted=True) is ExitCode.INTERRUPTED


def _finding(**kw: Any) -> Finding:
    return dataclasses.replace(classify(account(status_details=expiring(5)), now=NOW), **kw)


def test_policy_matches_categories_and_signals() -> None:
    policy = Policy(parse_fail_on(DEFAULT_FAIL_ON))
    assert policy.matches(_finding())
    assert not policy.matches(_finding(category=Category.DISCONNECTED))
    stale = Signal(SignalCode.BALANCE_REFRESH_FAILED, "stale")
    by_signal = Policy(parse_fail_on("balance_refresh_failed"))
    assert by_signal.matches(_finding(category=Category.ACTIVE, signals=(stale,)))
    assert not by_signal.matches(_finding(category=Category.ACTIVE))


def test_suppressed_findings_never_match() -> None:
    policy = Policy(parse_fail_on("any"))
    assert not policy.matches(_finding(suppressed=Suppression("fca_1", "known")))


@pytest.mark.parametrize(
    ("change", "matches"),
    [
        (Change.NEW, True),
        (Change.WORSE, True),
        (Change.SAME, False),
        (Change.BETTER, False),
        (None, False),
    ],
)
def test_fail_on_change_needs_both(change: Change | None, matches: bool) -> None:
    policy = Policy(parse_fail_on(DEFAULT_FAIL_ON), parse_fail_on_change("new,worse"))
    assert policy.matches(_finding(change=change)) is matches


@pytest.mark.parametrize("text", ["", "newer", "new,gone"])
def test_bad_fail_on_change(text: str) -> None:
    with pytest.raises(UsageError):
        parse_fail_on_change(text)


def test_fail_on_undelivered() -> None:
    chosen = parse_fail_on("relink_required, undelivered")
    assert chosen == {Category.RELINK_REQUIRED, EventFlag.UNDELIVERED}
    policy = Policy(chosen)
    assert policy.matches(finding(undelivered=True))
    assert not policy.matches(finding(undelivered=False))
    assert not Policy(parse_fail_on("relink_required")).matches(finding(undelivered=True))
    assert EventFlag.UNDELIVERED not in parse_fail_on("any")  # any: the categories
    with pytest.raises(UsageError, match="undelivered"):
        parse_fail_on("undeliverd")


@pytest.mark.parametrize(
    ("fail_on", "code"), [("balance_refresh_failed", 1), ("ownership_refresh_failed", 0)]
)
def test_fail_on_takes_signal_codes(fail_on: str, code: int) -> None:
    obj = account()
    obj["balance_refresh"] = {"status": "failed", "last_attempted_at": ts(-1)}
    result = classify_json("--fail-on", fail_on, objects=[obj])
    assert result.exit_code == code
    doc = json.loads(result.stdout)
    assert doc["fail_on"] == [fail_on]
    assert doc["summary"]["by_signal"]["balance_refresh_failed"] == 1
