"""Per-day trends from recorded changes (fcaudit/model/trend.py): each day's broken count at its
end, new breaks, repairs and repair times, exactly."""

from __future__ import annotations

from datetime import UTC, datetime

from fcaudit.model.trend import percentile, trend

AS_OF = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
STARTED = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def rows(*changes: tuple[str, str | None, str, str]) -> list[tuple[str, str | None, str, str]]:
    return sorted(changes, key=lambda c: (c[0], c[3]))


def test_each_day_counts_what_was_broken_at_its_end() -> None:
    changes = rows(
        # Broken when the store first saw it: broken every day, never a new break.
        ("fca_a", None, "relink_required", "2026-11-01T06:00:00Z"),
        # Breaks on the 2nd, moves to another broken category, is repaired on the 4th.
        ("fca_b", "active", "relink_required", "2026-11-02T10:00:00Z"),
        ("fca_b", "relink_required", "inactive_unrepairable", "2026-11-03T08:00:00Z"),
        ("fca_b", "inactive_unrepairable", "active", "2026-11-04T10:30:00Z"),
        # Breaks and is repaired the same day: never broken at a day's end.
        ("fca_c", "active", "inactive_unknown", "2026-11-03T01:00:00Z"),
        ("fca_c", "inactive_unknown", "expiring", "2026-11-03T04:00:00Z"),
        # Repaired exactly at midnight: not broken at the end of the day before.
        ("fca_d", "expiring", "relink_required", "2026-11-02T00:00:00Z"),
        ("fca_d", "relink_required", "active", "2026-11-04T00:00:00Z"),
        # Gone while broken: no longer broken, but not a repair.
        ("fca_e", "active", "relink_required", "2026-11-01T12:00:00Z"),
        ("fca_e", "relink_required", "gone", "2026-11-03T12:00:00Z"),
        # After the as-of time: not seen yet.
        ("fca_f", "active", "relink_required", "2026-11-05T10:00:00Z"),
    )
    days = trend(changes, as_of=AS_OF, days=6, started=STARTED)
    got = [(d.day.isoformat(), d.broken, d.new_breaks, d.repairs, d.repair_seconds) for d in days]
    assert got == [
        ("2026-10-31", None, 0, 0, []),  # before the history began
        ("2026-11-01", 2, 1, 0, []),  # a, e
        ("2026-11-02", 4, 2, 0, []),  # a, b, d, e
        ("2026-11-03", 3, 1, 1, [3 * 3600]),  # a, b, d (c repaired in 3 hours, e gone)
        ("2026-11-04", 1, 0, 2, [2 * 86400 + 30 * 60, 2 * 86400]),  # a (b, then d)
        ("2026-11-05", 1, 0, 0, []),  # a, at 09:00
    ]
    assert (days[4].median(), days[4].p90()) == (2 * 86400, 2 * 86400 + 30 * 60)


def test_a_store_without_history_has_no_counts() -> None:
    days = trend([], as_of=AS_OF, days=2, started=None)
    assert [d.broken for d in days] == [None, None]


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5], 90) == 5
    values = list(range(1, 11))  # 1..10
    assert (percentile(values, 50), percentile(values, 90)) == (5, 9)
    assert percentile([30, 10, 20], 50) == 20
