"""The renderer protocol and the options every renderer reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TextIO

from fcaudit.model.findings import Finding
from fcaudit.model.report import GroupBy, ReportMeta, ScanResult
from fcaudit.stripe.ids import AUTHORIZATION_OBJECT


@dataclass(frozen=True)
class RenderOptions:
    """How to render, as opposed to what (ReportMeta) or which findings (the stages)."""

    detail: bool = False  # table: one detail view per object (account / authorization)
    show_active: bool = False  # table: list active findings too
    color: bool | None = None  # None: on for terminals unless NO_COLOR
    flush_each: bool = True  # ndjson: flush after every line (scans), not for offline files
    group_by: GroupBy = GroupBy.CUSTOMER  # the table and grouped formats
    pager: bool = False  # table: page through $FCAUDIT_PAGER/$PAGER when taller than the terminal
    show_suppressed: bool = False  # table: list findings set aside by --ignore too
    contact: bool = False  # --contact: CSV adds contact columns (rows held to the end)
    timeline: bool = False  # table: fcaudit events' timeline (render/timeline.py), not a worklist
    # prometheus: the audited Stripe account (its `stripe_account` label; None: not known),
    # and the operator's own labels (--metrics-label NAME=VALUE), on every series.
    metrics_account: str | None = None
    metrics_labels: tuple[tuple[str, str], ...] = ()


class Renderer(Protocol):
    """Receives findings as they arrive, then the run's outcome and metadata."""

    def finding(self, finding: Finding) -> None:
        """Take one finding as the run produces it (a streaming format writes it now)."""

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        """Write the rest of the report, once the run's totals and metadata are known."""


def relative_days(days: int) -> str:
    """A deadline counted from the report's as-of day: `in 5d`, `today`, `2d ago`."""
    if days == 0:
        return "today"
    return f"in {days}d" if days > 0 else f"{-days}d ago"


WEEKS_AHEAD = 12


def upcoming_by_week(
    findings: Iterable[Finding], as_of: datetime, weeks: int = WEEKS_AHEAD
) -> list[int]:
    """Upcoming deactivations per week for the next `weeks` weeks (week 0 starts at as_of's
    UTC day): every account with a deadline in that window (an expected deactivation or an
    account-number expiry), whatever its category. Authorizations are left out: their
    accounts carry the same date, and were counted twice. Shared by the table's bar chart
    and the HTML report's SVG chart."""
    counts = [0] * weeks
    today = as_of.astimezone(UTC).date()
    for f in findings:
        when = f.deadline
        if when is None or f.object == AUTHORIZATION_OBJECT:
            continue
        days = (when.astimezone(UTC).date() - today).days
        if 0 <= days < weeks * 7:
            counts[days // 7] += 1
    return counts


CHUNK = 16 * 1024


def write_all(stream: TextIO, text: str) -> None:
    """Write a whole document in chunks. One large write to a pipe whose reader has gone
    (`| head -1`) can end in a partial write that CPython's buffered writer never reports,
    so the run would look successful; chunk by chunk, the broken pipe is seen (exit 141)."""
    for start in range(0, len(text), CHUNK):
        stream.write(text[start : start + CHUNK])


class Collector:
    """A renderer that needs every finding before it writes (sorted or grouped output)."""

    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        self._options = options
        self._findings: list[Finding] = []

    def finding(self, finding: Finding) -> None:
        """Keep the finding for finish(), which needs them all."""
        self._findings.append(finding)
