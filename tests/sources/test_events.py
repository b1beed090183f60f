"""The events source's flags: --since, --grace and --types, parsed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fcaudit.errors import UsageError
from fcaudit.options import parse_duration
from fcaudit.sources.events import parse_since, select_types
from fcaudit.stripe.facts import FC_EVENT_TYPES
from tests.cli.test_events import AUTH_UPCOMING
from tests.factories import NOW


def test_since_grace_and_types_parsing() -> None:
    assert parse_duration("1d12h", "--grace") == timedelta(hours=36)
    assert parse_duration("0s", "--grace") == timedelta(0)
    assert parse_since("30d", NOW) == NOW - timedelta(days=30)
    assert parse_since("2026-11-20", NOW) == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_since("2026-11-20T09:00:00+01:00", NOW) == datetime(2026, 11, 20, 8, tzinfo=UTC)
    accounts = select_types(["financial_connections.account.*"])
    assert len(accounts) == 13 and all(".account." in t for t in accounts)
    assert select_types(
        [f"{AUTH_UPCOMING},{AUTH_UPCOMING}", "financial_connections.account.new_x"]
    ) == (
        AUTH_UPCOMING,
        "financial_connections.account.new_x",
    )
    assert select_types([]) == FC_EVENT_TYPES
    with pytest.raises(UsageError, match="at most 20"):
        select_types([f"financial_connections.account.t{i}" for i in range(21)])
