"""Suppressions (`--ignore FILE`): findings an operator already handles, set aside with a
reason. They stay in JSON and NDJSON (`suppressed`), count in `summary.suppressed`, and are
left out of the exit decision and (unless --show-suppressed) the table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fcaudit import tomlfile
from fcaudit.model.findings import Category, Finding, Suppression
from fcaudit.stripe.ids import is_stripe_id

TIP = "see README 'Suppressions'."
_KEYS = {"id", "reason", "until", "categories"}


@dataclass(frozen=True)
class Entry:
    """One --ignore entry: the suppression it makes, and the line of the file it came from."""

    suppression: Suppression
    line: int

    @property
    def id(self) -> str:
        """The id the entry sets aside: an account, authorization or customer."""
        return self.suppression.id

    def applies_to(self, finding: Finding) -> bool:
        """True when the entry covers the finding (its id, authorization or holder; category)."""
        if self.id not in (finding.id, finding.authorization, finding.account_holder):
            return False
        wanted = self.suppression.categories
        return wanted is None or str(finding.category) in wanted

    def expired(self, today: date) -> bool:
        """True once the entry's `until` date has passed."""
        until = self.suppression.until
        return until is not None and until < today

    def to_record(self) -> dict[str, Any]:
        """The entry as the report lists it (expired or unused suppressions)."""
        return {**self.suppression.to_record(), "id": self.id, "line": self.line}


def load(path: str) -> tuple[Entry, ...]:
    """Read and parse an --ignore file; a mistake is a one-line UsageError."""
    return parse(tomlfile.read(path, "--ignore"), path)


def parse(text: str, name: str) -> tuple[Entry, ...]:
    """Parse an ignore file; a mistake is a UsageError naming the file, line and field."""
    found = tomlfile.Entries(text, name, "ignore", noun="entry", plural="entries", tip=TIP)
    entries = []
    for index, raw in enumerate(found.items):
        fail = found.fail(index)
        unknown = set(raw) - _KEYS
        if unknown:
            raise fail(sorted(unknown)[0], "unknown field")
        oid = raw.get("id")
        if not isinstance(oid, str) or not is_stripe_id(oid) or "_" not in oid:
            raise fail("id", "must be an account, authorization or customer id (fca_..., cus_...)")
        reason = raw.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise fail("reason", "is required: say why the finding is set aside")
        until = raw.get("until")
        if until is not None and (not isinstance(until, date) or isinstance(until, datetime)):
            raise fail("until", "must be a date (YYYY-MM-DD)")
        categories = raw.get("categories")
        if categories is not None:
            valid = {str(c) for c in Category}
            if not isinstance(categories, list) or not categories:
                raise fail("categories", "must be a non-empty list of categories")
            bad = [c for c in categories if c not in valid]
            if bad:
                raise fail("categories", f"unknown category {bad[0]!r}")
        entries.append(
            Entry(
                Suppression(
                    oid,
                    reason.strip(),
                    until,
                    frozenset(categories) if categories is not None else None,
                ),
                found.line(index),
            )
        )
    return tuple(entries)
