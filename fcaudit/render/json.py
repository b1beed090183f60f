"""One JSON document: the versioned envelope with findings[] sorted by severity then date."""

from __future__ import annotations

from typing import TextIO

from fcaudit.model import Finding, ReportMeta, ScanResult
from fcaudit.render.base import RenderOptions, write_all
from fcaudit.text import dumps


class JsonRenderer:
    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        self._findings: list[Finding] = []

    def finding(self, finding: Finding) -> None:
        self._findings.append(finding)

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        doc = meta.envelope(result)
        self._findings.sort(key=Finding.sort_key)
        doc["findings"] = [f.to_record() for f in self._findings]
        write_all(self._stream, dumps(doc, indent=2) + "\n")
