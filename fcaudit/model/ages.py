"""Ages of findings in words and numbers: since when, for how long, how long a repair took.

No I/O; shared by the history stage (fcaudit/history.py) and the renderers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fcaudit.model.findings import BROKEN, Finding, parse_iso

DAY = 86_400
NO_STATE = "no --state store: since when a finding is in its category needs one (scan --state FILE)"


def days_between(since: datetime, now: datetime) -> int:
    """Whole days from `since` to `now` (0 for a later `since`)."""
    return max(0, int((now - since).total_seconds()) // DAY)


def in_words(finding: Finding) -> str | None:
    """`broken for 12 days`, `expiring for at least 3 days`: the table's age, or None."""
    if finding.since is None or finding.days_in_category is None:
        return None
    what = "broken" if finding.category in BROKEN else str(finding.category)
    days = finding.days_in_category
    span = "less than a day" if days == 0 else f"{days} day{'s' if days != 1 else ''}"
    bound = "at least " if finding.since_source == "first_seen" else ""
    return f"{what} for {bound}{span}"


def duration_words(seconds: int) -> str:
    """`3 days`, `5 hours`, `40 minutes`: a time to repair in words (rounded down)."""
    for unit, size in (("day", DAY), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def time_to_repair(broken_since: datetime | None, repaired_at: datetime) -> int | None:
    """Seconds from the break to the repair (None when the break's time is not known)."""
    if broken_since is None:
        return None
    return max(0, int((repaired_at - broken_since).total_seconds()))


def record_of_since(value: Any) -> datetime | None:
    """A stored or reported time read back (None for anything else)."""
    try:
        return parse_iso(value) if isinstance(value, str) and value else None
    except ValueError:
        return None
