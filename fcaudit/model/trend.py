"""Per-day trends from a store's recorded changes (`fcaudit trend`, the HTML report's chart).

No I/O: the changes come in as rows (account id, category from, category to, at), one account
at a time and in order (`HistoryReader.account_changes`), so one pass with a few integers per
day rebuilds every day of the window, whatever the fleet's size.

For each day (UTC) of the window: `broken`, the accounts broken at the end of the day (for
today: at the as-of time); `new_breaks`, accounts that went from a working category (or from
one the store knew) into a broken one that day; `repairs`, broken accounts that became
`active` or `expiring` that day; and the median and 90th percentile (nearest rank) of those
repairs' time to repair, in seconds, counted from the change that broke them (a break the
store saw only as a first sight has no known start, so its repair is counted but not timed).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fcaudit.model.findings import BROKEN, Category, iso, parse_iso

REPAIRED = frozenset({str(Category.ACTIVE), str(Category.EXPIRING)})
_BROKEN = frozenset(str(c) for c in BROKEN)


@dataclass
class TrendDay:
    """One day of a trend."""

    day: date
    broken: int | None  # None: before the store's history began
    new_breaks: int = 0
    repairs: int = 0
    repair_seconds: list[int] = field(default_factory=list)

    def median(self) -> int | None:
        """The median time to repair of the day's timed repairs (nearest rank)."""
        return percentile(self.repair_seconds, 50)

    def p90(self) -> int | None:
        """The 90th percentile time to repair of the day's timed repairs (nearest rank)."""
        return percentile(self.repair_seconds, 90)

    def to_record(self) -> dict[str, Any]:
        """The day as `fcaudit trend -f json` writes it."""
        return {
            "date": self.day.isoformat(),
            "broken": self.broken,
            "new_breaks": self.new_breaks,
            "repairs": self.repairs,
            "repairs_timed": len(self.repair_seconds),
            "median_time_to_repair": self.median(),
            "p90_time_to_repair": self.p90(),
        }


def percentile(values: list[int], pct: int) -> int | None:
    """The nearest-rank percentile of `values` (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def trend(
    changes: Iterable[tuple[str, str | None, str, str]],
    *,
    as_of: datetime,
    days: int,
    started: datetime | None,
) -> list[TrendDay]:
    """The last `days` days up to `as_of`'s day, from every account's changes in order."""
    last = as_of.astimezone(UTC).date()
    first = last - timedelta(days=max(1, days) - 1)
    out = [TrendDay(first + timedelta(days=i), 0) for i in range((last - first).days + 1)]
    count = len(out)
    diff = [0] * (count + 1)

    def index(moment: datetime) -> int:
        return (moment.date() - first).days

    def cover(start: datetime, end: datetime | None) -> None:
        """An account broken from `start` until `end` (None: still): the days whose end
        (23:59:59, or as_of for today) falls in it."""
        i0 = max(0, index(start))
        i1 = count - 1 if end is None else min(count - 1, index(end) - 1)
        if i0 <= i1:
            diff[i0] += 1
            diff[i1 + 1] -= 1

    for _, rows in itertools.groupby(changes, key=lambda row: row[0]):
        current: str | None = None
        start: datetime | None = None
        timed = False
        for _, before, after, at_text in rows:
            at = parse_iso(at_text)
            if at > as_of:
                break
            was = (current if current is not None else before) in _BROKEN
            now = after in _BROKEN
            i = index(at)
            if not was and now:
                start, timed = at, before is not None
                if before is not None and 0 <= i < count:
                    out[i].new_breaks += 1
            elif was and not now:
                if start is not None:
                    cover(start, at)
                if after in REPAIRED and 0 <= i < count:
                    out[i].repairs += 1
                    if timed and start is not None:
                        out[i].repair_seconds.append(int((at - start).total_seconds()))
                start = None
            current = after
        if start is not None and (current in _BROKEN):
            cover(start, None)
    running = 0
    begun = started.astimezone(UTC).date() if started is not None else None
    for i, entry in enumerate(out):
        running += diff[i]
        entry.broken = None if begun is None or entry.day < begun else running
    return out


def trend_record(
    days: list[TrendDay], *, as_of: datetime, started: datetime | None, store: str
) -> dict[str, Any]:
    """`fcaudit trend -f json`: the window and its days."""
    return {
        "as_of": iso(as_of),
        "store": store,
        "history_started": iso(started) if started is not None else None,
        "broken_categories": sorted(_BROKEN),
        "days": [d.to_record() for d in days],
    }


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of a day."""
    return datetime.combine(day, time(0), tzinfo=UTC)
