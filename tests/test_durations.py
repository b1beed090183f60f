"""One duration syntax for every duration option: --grace, --since and --reconcile-every.

Whole numbers with a unit (d, h, m, s), summed (`1d12h`), from 0 to ten years; anything else is
a one-line usage error (exit 2) naming the option.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from fcaudit.errors import UsageError
from fcaudit.options import MAX_DURATION, parse_duration
from tests.conftest import run


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("36h", timedelta(hours=36)),
        ("90m", timedelta(minutes=90)),
        ("3600s", timedelta(hours=1)),
        ("1d12h", timedelta(hours=36)),
        (" 2H ", timedelta(hours=2)),
        ("0s", timedelta(0)),
        ("3650d", MAX_DURATION),
    ],
)
def test_a_duration_is_numbers_with_units_summed(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "--grace") == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7w", "1.5h", "-1d", "7d ago", "3651d"])
def test_anything_else_is_refused_naming_the_option(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--reconcile-every "):
        parse_duration(text, "--reconcile-every")


# Each duration option, and an argument list that reaches its parsing with a bad value.
OPTIONS = {
    "--grace": ("events", "--sandbox", "--grace"),
    "--since": ("events", "--sandbox", "--since"),
    "--reconcile-every": ("scan", "--sandbox", "--state", "STATE", "--reconcile-every"),
}


@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("value", ["7w", "3651d"])
def test_every_duration_option_refuses_the_same_values(
    option: str, value: str, tmp_path: Path
) -> None:
    args = [a.replace("STATE", str(tmp_path / "s.sqlite")) for a in OPTIONS[option]]
    result = run(*args, value, "-q", key=None)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"Error: {option} ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_reconcile_every_takes_minutes_like_the_other_duration_options(tmp_path: Path) -> None:
    state = str(tmp_path / "s.sqlite")
    args = ("scan", "--sandbox", "--state", state, "-f", "json", "--fail-on", "none", "-q")
    assert run(*args, key=None).exit_code == 0
    again = run(*args, "--reconcile-every", "90m", key=None)
    assert again.exit_code == 0, again.stderr
