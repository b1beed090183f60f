"""The renderer protocol and the report's metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from fcaudit import __version__
from fcaudit.findings import SCHEMA_VERSION, Category, Finding
from fcaudit.scan import ScanResult


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class ReportMeta:
    """Everything a report says about the run besides its findings."""

    command: str
    generated_at: datetime
    as_of: datetime
    horizon_days: int
    fail_on: Sequence[Category]
    scope: dict[str, Any]
    stripe_version: str | None = None
    mode: str | None = None  # live | test | None (offline)
    detail: bool = False  # table: one detail view per object (account / authorization)
    show_active: bool = False  # table: list active findings too
    color: bool | None = None  # None: on for terminals unless NO_COLOR
    flush_each: bool = True  # ndjson: flush after every line
    stats: dict[str, Any] = field(default_factory=dict)

    def envelope(self, result: ScanResult) -> dict[str, Any]:
        """The report document minus findings[]; shared by JSON and tests."""
        by_category = {str(c): result.counts.get(c, 0) for c in Category}
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "fcaudit", "version": __version__},
            "command": self.command,
            "generated_at": iso(self.generated_at),
            "as_of": iso(self.as_of),
            "expiring_within_days": self.horizon_days,
            "stripe_version": self.stripe_version,
            "mode": self.mode,
            "scope": self.scope,
            "fail_on": [str(c) for c in self.fail_on],
            "complete": result.complete,
            "summary": {
                "accounts": result.accounts,
                "authorizations": result.authorizations,
                "by_category": by_category,
                "by_institution": dict(sorted(result.by_institution.items())),
            },
            "errors": [e.to_record() for e in result.errors],
            "stats": self.stats,
        }


class Renderer(Protocol):
    """Receives findings as they are classified, then the run's outcome."""

    def finding(self, finding: Finding) -> None: ...

    def finish(self, result: ScanResult) -> None: ...
