"""NDJSON: one finding per line, written (and, in a scan, flushed) as soon as it arrives."""

from __future__ import annotations

from typing import TextIO

from fcaudit.model import Finding, ReportMeta, ScanResult
from fcaudit.render.base import RenderOptions
from fcaudit.text import dumps


class NdjsonRenderer:
    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        # A scan flushes every line so `| jq` sees findings live; offline classify of a big
        # file leaves buffering to the stream.
        self._flush = options.flush_each

    def finding(self, finding: Finding) -> None:
        self._stream.write(dumps(finding.to_record()) + "\n")
        if self._flush:
            self._stream.flush()

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        self._stream.flush()
