"""The renderer protocol and the options every renderer reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fcaudit.model import Finding, ReportMeta, ScanResult


@dataclass(frozen=True)
class RenderOptions:
    """How to render, as opposed to what (ReportMeta) or which findings (the stages)."""

    detail: bool = False  # table: one detail view per object (account / authorization)
    show_active: bool = False  # table: list active findings too
    color: bool | None = None  # None: on for terminals unless NO_COLOR
    flush_each: bool = True  # ndjson: flush after every line (scans), not for offline files


class Renderer(Protocol):
    """Receives findings as they arrive, then the run's outcome and metadata."""

    def finding(self, finding: Finding) -> None: ...

    def finish(self, result: ScanResult, meta: ReportMeta) -> None: ...
