from __future__ import annotations

from collections import Counter

import pytest

from fcaudit.errors import ExitCode, UsageError
from fcaudit.model import Category
from fcaudit.policy import DEFAULT_FAIL_ON, exit_code, parse_fail_on


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
    counts = Counter({Category.EXPIRING: 1})
    fail = parse_fail_on(DEFAULT_FAIL_ON)
    assert exit_code(counts, fail) is ExitCode.FINDINGS
    assert exit_code(counts, frozenset()) is ExitCode.OK
    assert exit_code(Counter({Category.DISCONNECTED: 3}), fail) is ExitCode.OK
    assert exit_code(counts, fail, incomplete=True) is ExitCode.INCOMPLETE
    assert exit_code(counts, fail, incomplete=True, interrupted=True) is ExitCode.INTERRUPTED
